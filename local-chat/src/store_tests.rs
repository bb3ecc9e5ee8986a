//! The store's unit tests (a sibling file: the store itself stays under
//! 600 lines).

use super::*;

#[test]
fn admission_and_revocation() {
    let store = Store::in_memory().unwrap();
    assert_eq!(store.grant("alice", "a", &["a", "b"]).unwrap(), Vec::<String>::new());
    store.grant("alice", "b", &["a", "b"]).unwrap();
    assert_eq!(store.rooms_of("alice").unwrap(), ["a", "b"]);
    // a later token no longer lists b
    assert_eq!(store.grant("alice", "a", &["a"]).unwrap(), ["b"]);
    assert!(store.is_member("alice", "a").unwrap());
    assert!(!store.is_member("alice", "b").unwrap());
}

#[test]
fn history_pages_oldest_first() {
    let store = Store::in_memory().unwrap();
    for i in 0..45 {
        store
            .insert("general", "alice", &format!("m{i}"), i, None, None)
            .unwrap();
    }
    store.insert("other", "alice", "elsewhere", 99, None, None).unwrap();
    let (page, more) = store.history("general", None, 20).unwrap();
    assert!(more);
    assert_eq!(page.first().unwrap().body, "m25");
    assert_eq!(page.last().unwrap().body, "m44");
    let (page2, more2) = store.history("general", Some(page[0].id), 20).unwrap();
    assert!(more2);
    assert_eq!(page2.last().unwrap().body, "m24");
    let (page3, more3) = store.history("general", Some(page2[0].id), 20).unwrap();
    assert!(!more3);
    assert_eq!(page3.len(), 5);
}

#[test]
fn a_resent_message_is_stored_once() {
    let store = Store::in_memory().unwrap();
    let (first, new) = store.insert("r", "alice", "hi", 1, Some("c1"), None).unwrap();
    assert!(new);
    let (again, new) = store.insert("r", "alice", "hi", 2, Some("c1"), None).unwrap();
    assert!(!new);
    assert_eq!(again.id, first.id);
    // the same client id from someone else, or in another room, is another message
    assert!(store.insert("r", "bob", "hi", 3, Some("c1"), None).unwrap().1);
    assert!(store.insert("s", "alice", "hi", 4, Some("c1"), None).unwrap().1);
    assert_eq!(store.history("r", None, 10).unwrap().0.len(), 2);
}

#[test]
fn only_authors_edit_and_delete() {
    let store = Store::in_memory().unwrap();
    let (m, _) = store.insert("r", "alice", "hello", 1, None, None).unwrap();
    assert_eq!(store.edit("r", m.id, "bob", "x", 2), Err(StoreError::NotYours));
    assert_eq!(store.edit("other", m.id, "alice", "x", 2), Err(StoreError::NotFound));
    let edited = store.edit("r", m.id, "alice", "hello!", 3).unwrap();
    assert_eq!((edited.body.as_str(), edited.edited_at), ("hello!", Some(3)));
    assert_eq!(store.delete("r", m.id, "bob"), Err(StoreError::NotYours));
    store.delete("r", m.id, "alice").unwrap();
    let (page, _) = store.history("r", None, 10).unwrap();
    assert!(page[0].deleted && page[0].body.is_empty());
    assert_eq!(store.edit("r", m.id, "alice", "again", 4), Err(StoreError::NotFound));
}

#[test]
fn nicks_and_read_horizons() {
    let store = Store::in_memory().unwrap();
    store.grant("alice", "r", &["r"]).unwrap();
    store.set_nick("alice", Some("Al")).unwrap();
    assert_eq!(
        store.members_of("r", 10).unwrap(),
        [("alice".to_owned(), Some("Al".to_owned()))]
    );
    assert_eq!(store.members_of("r", 0).unwrap(), []);
    assert_eq!(store.member_count("r").unwrap(), 1);
    assert_eq!(
        store
            .members_among("r", &["nobody".to_owned(), "alice".to_owned()])
            .unwrap(),
        [("alice".to_owned(), Some("Al".to_owned()))]
    );
    store.set_nick("alice", None).unwrap();
    assert_eq!(store.nick_of("alice").unwrap(), None);
    assert_eq!(store.mark_read("alice", "r", 5).unwrap(), 5);
    assert_eq!(store.mark_read("alice", "r", 3).unwrap(), 5, "never moves back");
    assert_eq!(store.read_up_to("alice", "r").unwrap(), Some(5));
}

#[test]
fn unread_stops_counting_at_the_cap() {
    let store = Store::in_memory().unwrap();
    for i in 0..UNREAD_CAP + 5 {
        store.insert("r", "bob", &format!("{i}"), 1, None, None).unwrap();
    }
    assert_eq!(store.unread("alice", "r").unwrap(), UNREAD_CAP);
}

#[test]
fn unread_since_tells_the_oldest_unread() {
    let store = Store::in_memory().unwrap();
    assert_eq!(store.unread_since("alice", "r").unwrap(), (0, None));
    let first = store.insert("r", "bob", "one", 1_000, None, None).unwrap().0.id;
    store.insert("r", "alice", "mine", 1_500, None, None).unwrap();
    store.insert("r", "bob", "two", 2_000, None, None).unwrap();
    assert_eq!(store.unread_since("alice", "r").unwrap(), (2, Some(1_000)));
    store.mark_read("alice", "r", first).unwrap();
    assert_eq!(store.unread_since("alice", "r").unwrap(), (1, Some(2_000)));
}

#[test]
fn unread_counts_others_messages_after_the_horizon() {
    let store = Store::in_memory().unwrap();
    let mut ids = Vec::new();
    for (author, body) in [("bob", "1"), ("alice", "mine"), ("bob", "2"), ("bob", "3")] {
        ids.push(store.insert("r", author, body, 1, None, None).unwrap().0.id);
    }
    store.insert("elsewhere", "bob", "other room", 1, None, None).unwrap();
    assert_eq!(store.unread("alice", "r").unwrap(), 3, "nothing read yet: all of bob's");
    store.mark_read("alice", "r", ids[2]).unwrap();
    assert_eq!(store.unread("alice", "r").unwrap(), 1);
    store.delete("r", ids[3], "bob").unwrap();
    assert_eq!(store.unread("alice", "r").unwrap(), 0, "deleted messages do not count");
}

#[test]
fn messages_survive_reopening() {
    let dir = std::env::temp_dir().join(format!("local-chat-store-{}", std::process::id()));
    let path = dir.join("chat.db");
    {
        let store = Store::open(&path).unwrap();
        store.insert("r", "alice", "kept", 1, None, None).unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.history("r", None, 10).unwrap().0[0].body, "kept");
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}
