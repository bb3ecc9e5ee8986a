//! The tests of [`super`]: the chat state's transitions, frame by frame.

use super::*;

#[test]
fn by_name_keeps_one_value_per_name() {
    let mut map = ByName::default();
    map.insert("bo".to_owned(), 1);
    map.insert("ana".to_owned(), 2);
    map.insert("bo".to_owned(), 3);
    assert_eq!(map.get("bo"), Some(&3));
    assert_eq!(map.iter().count(), 2);
    assert_eq!(map.remove("bo"), Some(3));
    assert_eq!(map.remove("bo"), None);
    assert_eq!(map.get("ana"), Some(&2));
    assert_eq!(map.get("cy"), None);
}

fn message(id: i64, room: &str, author: &str, body: &str) -> Message {
    Message {
        id,
        room: room.into(),
        author: author.into(),
        body: body.into(),
        created_at: id,
        edited_at: None,
        deleted: false,
        attachment: None,
    }
}

/// The provider's answer to a join, with no members listed.
fn joined(room: &str, read_up_to: Option<i64>, last_id: Option<i64>, unread: u32) -> ServerFrame {
    ServerFrame::Joined {
        room: room.into(),
        members: Vec::new(),
        member_count: 1,
        read_up_to,
        last_id,
        unread,
    }
}

fn state() -> ChatState {
    ChatState::new("alice", vec!["shipment-1".into(), "general".into()], "shipment-1")
}

/// What goes out after a join: (client id, body, may have reached the provider).
fn unsent(s: &ChatState, room: &str) -> Vec<(String, String, bool)> {
    s.unsent(room)
        .into_iter()
        .map(|p| (p.client_id, p.body, p.maybe_sent))
        .collect()
}

#[test]
fn messages_are_ordered_and_never_duplicated() {
    let mut s = state();
    s.apply(
        ServerFrame::Message {
            message: message(5, "shipment-1", "bob", "b"),
        },
        0.0,
        true,
    );
    s.apply(
        ServerFrame::Message {
            message: message(3, "shipment-1", "bob", "a"),
        },
        0.0,
        true,
    );
    s.apply(
        ServerFrame::History {
            room: "shipment-1".into(),
            messages: vec![message(3, "shipment-1", "bob", "a")],
            has_more: false,
        },
        0.0,
        true,
    );
    let ids: Vec<i64> = s.room("shipment-1").unwrap().messages.keys().copied().collect();
    assert_eq!(ids, [3, 5]);
}

#[test]
fn unread_counts_only_what_the_user_cannot_see() {
    let mut s = state();
    s.open_tab("general").unwrap();
    s.select(0);
    s.apply(
        ServerFrame::Message {
            message: message(1, "general", "bob", "x"),
        },
        0.0,
        true,
    );
    s.apply(
        ServerFrame::Message {
            message: message(2, "shipment-1", "bob", "y"),
        },
        0.0,
        true,
    );
    s.apply(
        ServerFrame::Message {
            message: message(3, "shipment-1", "bob", "z"),
        },
        0.0,
        false,
    );
    s.apply(
        ServerFrame::Message {
            message: message(4, "shipment-1", "alice", "mine"),
        },
        0.0,
        false,
    );
    assert_eq!(s.room("general").unwrap().unread, 1);
    assert_eq!(s.room("shipment-1").unwrap().unread, 1);
    assert_eq!(s.unread_total(), 2);
    s.select(1);
    assert_eq!(s.room("general").unwrap().unread, 0);
}

#[test]
fn tabs_only_for_allowed_contexts() {
    let mut s = state();
    assert_eq!(
        s.open_tab("shipment-2"),
        Err("You don't have access to \"shipment-2\".".into())
    );
    s.open_tab("general").unwrap();
    assert_eq!(s.active, 1);
    s.close_tab("shipment-1"); // the page's context stays
    assert_eq!(s.rooms.len(), 2);
    s.close_tab("general");
    assert_eq!((s.rooms.len(), s.active), (1, 0));
}

#[test]
fn acks_turn_pending_into_messages_and_errors_mark_them() {
    let mut s = state();
    let photo = Attachment {
        id: "f1".into(),
        name: "pallet.jpg".into(),
        content_type: "image/jpeg".into(),
        size: 1234,
    };
    s.add_pending("shipment-1", "c1", "hello", true, Some(Box::new(photo.clone())));
    s.add_pending("shipment-1", "c2", "too long", true, None);
    s.add_pending("shipment-1", "c3", "while offline", false, None);
    // every pending message goes again on a new connection
    assert_eq!(s.unsent("shipment-1").len(), 3);
    s.mark_sent("c3");
    s.apply(
        ServerFrame::Ack {
            client_id: "c1".into(),
            id: 9,
        },
        1.0,
        true,
    );
    s.apply(
        ServerFrame::Error {
            code: "bad_message".into(),
            message: "too long".into(),
            client_id: Some("c2".into()),
            room: None,
        },
        1.0,
        true,
    );
    let room = s.room("shipment-1").unwrap();
    assert_eq!(room.messages[&9].body, "hello");
    assert_eq!(
        room.messages[&9].attachment.as_deref(),
        Some(&photo),
        "its file stays with it"
    );
    assert_eq!(room.pending.len(), 2);
    assert_eq!(room.pending[0].failed.as_deref(), Some("too long"));
    // the refused one is not sent again; the unacknowledged one is, as one
    // that may have reached the provider (it was written to a connection)
    assert_eq!(
        unsent(&s, "shipment-1"),
        [("c3".to_owned(), "while offline".to_owned(), true)]
    );
    assert!(s.unsent("general").is_empty());
    assert_eq!(s.closed_rooms(), ["general"]);
}

#[test]
fn the_devices_copy_comes_back_marked_and_its_outbox_waits_to_be_checked() {
    let mut s = state();
    s.restore_saved(crate::cache::Saved {
        rooms: vec![
            ("shipment-1".into(), vec![message(4, "shipment-1", "bob", "saved")]),
            ("general".into(), vec![message(2, "general", "bob", "also saved")]),
            (
                "not-allowed".into(),
                vec![message(1, "not-allowed", "eve", "never shown")],
            ),
        ],
        outbox: ["one", "two"]
            .map(|body| crate::cache::Queued {
                room: "general".into(),
                client_id: format!("c-{body}"),
                body: body.into(),
                attachment: None,
            })
            .to_vec(),
    });
    assert_eq!(s.tab_names(), ["shipment-1", "general"]);
    assert_eq!(s.active, 0, "the page's own room stays on screen");
    let general = s.room("general").unwrap();
    assert!(general.cached && general.has_more);
    assert_eq!(general.unread, 0, "what was saved is not news");
    // in order, and to be looked for at the provider before posting
    assert_eq!(
        unsent(&s, "general"),
        [
            ("c-one".into(), "one".into(), true),
            ("c-two".into(), "two".into(), true)
        ]
    );
    assert_eq!(s.pending_total(), 2);
    assert_eq!(s.outbox().len(), 2);
    // the provider's first page replaces the mark; older saved messages stay reachable
    s.apply(
        ServerFrame::History {
            room: "general".into(),
            messages: vec![message(3, "general", "bob", "new")],
            has_more: true,
        },
        1.0,
        true,
    );
    let general = s.room("general").unwrap();
    assert!(!general.cached && general.has_more);
    assert_eq!(general.messages.len(), 2);
    s.cancel("c-one");
    assert_eq!(s.outbox().iter().map(|q| q.body.as_str()).collect::<Vec<_>>(), ["two"]);
}

#[test]
fn joining_takes_the_providers_unread_count() {
    let mut s = state();
    s.open_tab("general").unwrap();
    s.select(0);
    let joined = |room: &str, unread| joined(room, Some(3), Some(9), unread);
    s.apply(joined("general", 4), 1.0, true);
    s.apply(joined("shipment-1", 2), 1.0, true);
    assert_eq!(s.room("general").unwrap().unread, 4, "a background tab");
    assert_eq!(
        s.room("shipment-1").unwrap().unread,
        0,
        "the tab on screen is being read"
    );
    assert_eq!(s.unread_total(), 4);
    // minimised: the active room counts too
    s.apply(joined("shipment-1", 2), 2.0, false);
    assert_eq!(s.unread_total(), 6);
}

#[test]
fn messages_go_out_only_to_rooms_joined_on_this_connection() {
    let mut s = state();
    assert!(!s.can_send("shipment-1"), "not joined yet");
    s.set_connection(Connection::Online);
    assert!(!s.can_send("shipment-1"), "online, but the join has not answered");
    s.apply(joined("shipment-1", None, None, 0), 1.0, true);
    assert!(s.can_send("shipment-1"));
    assert!(!s.can_send("general"), "no tab");
    // the connection drops: every room must be joined again
    assert!(!s.set_connection(Connection::Reconnecting(1)));
    assert!(!s.can_send("shipment-1"));
    assert!(!s.set_connection(Connection::Online), "ready is told once");
    s.apply(joined("shipment-1", None, None, 0), 2.0, true);
    assert!(s.can_send("shipment-1"));
}

#[test]
fn a_message_the_joins_count_covered_is_not_counted_again() {
    let mut s = state();
    s.open_tab("general").unwrap();
    s.select(0);
    s.apply(joined("general", None, Some(7), 1), 1.0, true);
    // sent while the join was in progress: counted by the join, delivered after it
    s.apply(
        ServerFrame::Message {
            message: message(7, "general", "bob", "x"),
        },
        2.0,
        true,
    );
    assert_eq!(s.room("general").unwrap().unread, 1);
    s.apply(
        ServerFrame::Message {
            message: message(8, "general", "bob", "y"),
        },
        3.0,
        true,
    );
    assert_eq!(s.room("general").unwrap().unread, 2);
}

#[test]
fn a_closed_room_loses_its_tab_with_a_notice() {
    let mut s = state();
    s.open_tab("general").unwrap();
    let closed = |room: &str, message: &str| ServerFrame::Error {
        code: "room_closed".into(),
        message: message.into(),
        client_id: None,
        room: Some(room.into()),
    };
    s.apply(closed("general", "You no longer have access to general."), 1.0, true);
    assert_eq!(s.tab_names(), ["shipment-1"]);
    assert_eq!(s.notice.as_deref(), Some("You no longer have access to general."));
    // the page's own room keeps its tab (the notice says why it is silent)
    s.apply(closed("shipment-1", "This room was removed: shipment-1."), 2.0, true);
    assert_eq!(s.tab_names(), ["shipment-1"]);
    assert_eq!(s.notice.as_deref(), Some("This room was removed: shipment-1."));
}

#[test]
fn typing_expires_and_clears_on_message() {
    let mut s = state();
    s.apply(
        ServerFrame::Typing {
            room: "shipment-1".into(),
            identity: "bob".into(),
        },
        1000.0,
        true,
    );
    assert_eq!(s.room("shipment-1").unwrap().typing_now(2000.0), ["bob"]);
    assert!(
        s.room("shipment-1")
            .unwrap()
            .typing_now(1000.0 + TYPING_MS + 1.0)
            .is_empty()
    );
    s.apply(
        ServerFrame::Message {
            message: message(1, "shipment-1", "bob", "x"),
        },
        1500.0,
        true,
    );
    assert!(s.room("shipment-1").unwrap().typing_now(1600.0).is_empty());
}

#[test]
fn remembered_tabs_come_back_if_still_allowed() {
    let mut s = state();
    let added = s.restore_tabs(&["general".into(), "shipment-9".into(), "shipment-1".into()]);
    assert_eq!(added, ["general"]);
    assert_eq!(s.tab_names(), ["shipment-1", "general"]);
    assert_eq!(s.active, 0, "restoring does not switch tabs");
}

#[test]
fn presence_notices_sit_between_the_messages_they_followed() {
    let mut s = state();
    s.apply(
        ServerFrame::Presence {
            room: "shipment-1".into(),
            identity: "bob".into(),
            online: true,
        },
        0.0,
        true,
    );
    s.apply(
        ServerFrame::Message {
            message: message(1, "shipment-1", "bob", "hi"),
        },
        0.0,
        true,
    );
    s.apply(
        ServerFrame::Nick {
            identity: "bob".into(),
            nick: Some("Bobby".into()),
        },
        0.0,
        true,
    );
    s.apply(
        ServerFrame::Presence {
            room: "shipment-1".into(),
            identity: "bob".into(),
            online: false,
        },
        0.0,
        true,
    );
    // each notice is placed after the newest message when it happened
    // (the log shows them in place: `view::rows::timeline`)
    let room = s.room("shipment-1").unwrap();
    assert_eq!(
        room.notices,
        [(None, "bob joined".to_owned()), (Some(1), "Bobby left".to_owned())]
    );
}

#[test]
fn nicknames_replace_identities() {
    let mut s = state();
    s.apply(
        ServerFrame::Nick {
            identity: "bob".into(),
            nick: Some("Bobby".into()),
        },
        0.0,
        true,
    );
    assert_eq!(s.display_name("bob"), "Bobby");
    s.apply(
        ServerFrame::Nick {
            identity: "bob".into(),
            nick: None,
        },
        0.0,
        true,
    );
    assert_eq!(s.display_name("bob"), "bob");
}
