//! What the local chat keeps about one person, found and erased for
//! `dachat forget` (issue #30): their messages (deleted or anonymised, as
//! the operator chooses), memberships, nickname, read horizons and files.

use rusqlite::params;

use crate::store::{Store, StoreError, forget};

/// What the local chat keeps about one person (`dachat forget`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeptInChat {
    /// Messages they wrote (deleted ones included: those still name them).
    pub messages: usize,
    /// Rooms they are a member of.
    pub memberships: usize,
    /// Their nickname.
    pub nicknames: usize,
    /// Where they read up to, per room.
    pub read_horizons: usize,
    /// Files they uploaded.
    pub files: usize,
    /// Moderation about them or by them: rooms they moderate, mutes,
    /// reports they made, and entries of the moderator actions' record
    /// that name them (kept, under [`ERASED_AUTHOR`]: the record of what
    /// moderators did stays whole).
    pub moderation: usize,
}

/// What an erasure does with a person's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TheirMessages {
    /// Text and files erased; a placeholder ("message deleted") stays in
    /// the history, by [`ERASED_AUTHOR`].
    Delete,
    /// Kept, by [`ERASED_AUTHOR`] (the conversation still reads whole);
    /// their files stay with them.
    Anonymise,
}

/// Who an erased person's messages are by from then on.
pub const ERASED_AUTHOR: &str = "former-member";

impl Store {
    /// Everything kept about `identity`, counted, and with `erase` removed
    /// in one transaction (a second run finds nothing). Also the SHA-256s
    /// of files whose bytes nothing refers to any more (the caller removes
    /// them from disk).
    pub fn forget(
        &self,
        identity: &str,
        erase: Option<TheirMessages>,
    ) -> Result<(KeptInChat, Vec<String>), StoreError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let count =
            |sql: &str| -> Result<usize, StoreError> { Ok(tx.query_row(sql, params![identity], |r| r.get(0))?) };
        let kept = KeptInChat {
            messages: count("SELECT COUNT(*) FROM messages WHERE author = ?1")?,
            memberships: count("SELECT COUNT(*) FROM members WHERE identity = ?1")?,
            nicknames: count("SELECT COUNT(*) FROM nicks WHERE identity = ?1")?,
            read_horizons: count("SELECT COUNT(*) FROM reads WHERE identity = ?1")?,
            files: count("SELECT COUNT(*) FROM files WHERE owner = ?1")?,
            moderation: count(
                "SELECT (SELECT COUNT(*) FROM moderators WHERE identity = ?1)
                      + (SELECT COUNT(*) FROM mutes WHERE identity = ?1)
                      + (SELECT COUNT(*) FROM reports WHERE reporter = ?1)
                      + (SELECT COUNT(*) FROM moderation_log WHERE moderator = ?1 OR target = ?1)",
            )?,
        };
        let Some(messages) = erase else {
            return Ok((kept, Vec::new()));
        };
        let mut unused = Vec::new();
        match messages {
            TheirMessages::Delete => {
                let files: Vec<String> = tx
                    .prepare("SELECT fid FROM files WHERE owner = ?1")?
                    .query_map(params![identity], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                tx.execute(
                    "UPDATE messages SET body = '', deleted = 1, file_id = NULL, client_id = NULL, author = ?2
                     WHERE author = ?1",
                    params![identity, ERASED_AUTHOR],
                )?;
                for file in files {
                    unused.extend(forget(&tx, &file)?);
                }
            }
            TheirMessages::Anonymise => {
                tx.execute(
                    "UPDATE messages SET client_id = NULL, author = ?2 WHERE author = ?1",
                    params![identity, ERASED_AUTHOR],
                )?;
                tx.execute(
                    "UPDATE files SET owner = ?2 WHERE owner = ?1",
                    params![identity, ERASED_AUTHOR],
                )?;
            }
        }
        for table in ["members", "nicks", "reads", "moderators", "mutes"] {
            tx.execute(&format!("DELETE FROM {table} WHERE identity = ?1"), params![identity])?;
        }
        tx.execute("DELETE FROM reports WHERE reporter = ?1", params![identity])?;
        for column in ["moderator", "target"] {
            tx.execute(
                &format!("UPDATE moderation_log SET {column} = ?2 WHERE {column} = ?1"),
                params![identity, ERASED_AUTHOR],
            )?;
        }
        tx.commit()?;
        Ok((kept, unused))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Alice and bob in `r`, each with a message carrying a file (alice's
    /// two files have the same bytes as bob's one: one blob on disk).
    fn two_people() -> Store {
        let store = Store::in_memory().unwrap();
        for (who, file) in [("alice", "F1"), ("alice", "F2"), ("bob", "F3")] {
            store.grant(who, "r", &["r"]).unwrap();
            store
                .db()
                .execute(
                    "INSERT INTO files (fid, froom, owner, fname, ftype, fsize, sha256, uploaded_at)
                     VALUES (?1, 'r', ?2, 'photo.jpg', 'image/jpeg', 3, ?3, 1)",
                    params![file, who, if file == "F2" { "only-alice" } else { "shared" }],
                )
                .unwrap();
            store
                .insert("r", who, &format!("{who} says {file}"), 1, None, Some(file))
                .unwrap();
        }
        store.set_nick("alice", Some("Ali")).unwrap();
        store.mark_read("alice", "r", 2).unwrap();
        store
    }

    fn messages(store: &Store) -> Vec<(String, String, bool)> {
        let (page, _) = store.history("r", None, 10).unwrap();
        page.into_iter().map(|m| (m.author, m.body, m.deleted)).collect()
    }

    #[test]
    fn deleting_erases_text_and_files_that_nothing_else_uses() {
        let store = two_people();
        let found = KeptInChat {
            messages: 2,
            memberships: 1,
            nicknames: 1,
            read_horizons: 1,
            files: 2,
            moderation: 0,
        };
        assert_eq!(store.forget("alice", None).unwrap(), (found, Vec::new()));
        let before = messages(&store);
        assert_eq!(
            store.forget("alice", None).unwrap().0,
            found,
            "a dry run changes nothing"
        );
        assert_eq!(messages(&store), before);
        let (kept, unused) = store.forget("alice", Some(TheirMessages::Delete)).unwrap();
        assert_eq!(kept, found);
        // bob's file has the same bytes as alice's first: those stay
        assert_eq!(unused, ["only-alice"]);
        assert_eq!(
            messages(&store),
            [
                (ERASED_AUTHOR.to_owned(), String::new(), true),
                (ERASED_AUTHOR.to_owned(), String::new(), true),
                ("bob".to_owned(), "bob says F3".to_owned(), false),
            ]
        );
        assert_eq!(store.nick_of("alice").unwrap(), None);
        assert!(!store.is_member("alice", "r").unwrap());
        assert!(store.is_member("bob", "r").unwrap());
        assert_eq!(
            store.forget("alice", Some(TheirMessages::Delete)).unwrap(),
            (KeptInChat::default(), Vec::new()),
            "a second run finds nothing"
        );
    }

    #[test]
    fn moderation_about_them_goes_and_the_record_keeps_no_name() {
        let store = two_people();
        store.set_moderated("alice", &["r"]).unwrap();
        store.set_mute("alice", "r", "bob", Some(10), 1).unwrap();
        store.set_mute("bob", "r", "alice", Some(10), 1).unwrap();
        store.report("alice", "r", 1, "spam", 2).unwrap();
        let (kept, _) = store.forget("alice", None).unwrap();
        // a moderator row, a mute, a report, two log entries
        assert_eq!(kept.moderation, 5);
        store.forget("alice", Some(TheirMessages::Delete)).unwrap();
        assert!(!store.is_moderator("alice", "r").unwrap());
        assert_eq!(store.muted_until("alice", "r", 0).unwrap(), None);
        assert!(store.reports("r", 10).unwrap().is_empty());
        let record = store.moderation_log(None).unwrap();
        assert_eq!(record.len(), 2, "the record of actions stays");
        assert!(
            record
                .iter()
                .all(|a| a.moderator != "alice" && a.target.as_deref() != Some("alice"))
        );
        assert_eq!(store.muted_until("bob", "r", 0).unwrap(), Some(10), "bob's mute stays");
        assert_eq!(store.forget("alice", None).unwrap().0.moderation, 0);
    }

    #[test]
    fn anonymising_keeps_the_messages_and_their_files_under_another_name() {
        let store = two_people();
        let (kept, unused) = store.forget("alice", Some(TheirMessages::Anonymise)).unwrap();
        assert_eq!((kept.messages, kept.files), (2, 2));
        assert!(unused.is_empty());
        let now = store.history("r", None, 10).unwrap().0;
        assert_eq!(
            now.iter()
                .map(|m| (m.author.as_str(), m.body.as_str(), m.attachment.is_some()))
                .collect::<Vec<_>>(),
            [
                (ERASED_AUTHOR, "alice says F1", true),
                (ERASED_AUTHOR, "alice says F2", true),
                ("bob", "bob says F3", true),
            ]
        );
        assert_eq!(
            store.forget("alice", Some(TheirMessages::Anonymise)).unwrap().0,
            KeptInChat::default()
        );
    }
}
