//! Messages past their room's retention deleted from the local chat
//! (issue #30): rows gone (not placeholders), with their files' rows, and
//! the SHA-256s of bytes nothing refers to any more for the caller to
//! remove from disk.

use rusqlite::params;

use backend::config::Retention;

use crate::store::{Store, StoreError, forget};

impl Store {
    /// Deletes every message older than its room's retention at `now_ms`:
    /// how many, and the files' bytes no longer used.
    pub fn expire(&self, retention: &Retention, now_ms: u64) -> Result<(usize, Vec<String>), StoreError> {
        if !retention.is_on() {
            return Ok((0, Vec::new()));
        }
        let mut db = self.db();
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let rooms: Vec<String> = tx
            .prepare("SELECT DISTINCT room FROM messages")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let (mut deleted, mut unused) = (0, Vec::new());
        for room in rooms {
            let Some(cutoff) = retention.cutoff_ms(&room, now_ms) else {
                continue;
            };
            let cutoff = i64::try_from(cutoff).unwrap_or(i64::MAX);
            let files: Vec<String> = tx
                .prepare("SELECT file_id FROM messages WHERE room = ?1 AND created_at < ?2 AND file_id IS NOT NULL")?
                .query_map(params![room, cutoff], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            deleted += tx.execute(
                "DELETE FROM messages WHERE room = ?1 AND created_at < ?2",
                params![room, cutoff],
            )?;
            for file in files {
                unused.extend(forget(&tx, &file)?);
            }
        }
        tx.commit()?;
        Ok((deleted, unused))
    }
}

impl crate::LocalChat {
    /// [`Store::expire`] now, and the files' bytes no longer used removed
    /// from disk: how many messages went.
    pub fn expire(&self, retention: &Retention) -> Result<usize, StoreError> {
        let (deleted, unused) = self.inner.store.expire(retention, self.inner.clock.now_ms())?;
        unused.iter().for_each(|sha| self.unlink(sha));
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backend::config::RawSettings;

    fn retention(text: &str) -> Retention {
        let mut raw = RawSettings::env_named();
        raw.set(backend::config::RETENTION, text);
        raw.set(backend::config::JWKS_URL, "https://host.example/jwks.json");
        backend::config::Settings::parse(&raw, backend::config::TwilioRequirement::Optional)
            .unwrap()
            .retention
    }

    #[test]
    fn old_messages_go_by_their_rooms_rule_and_their_files_with_them() {
        let day = 86_400_000;
        let now = 100 * day;
        let store = Store::in_memory().unwrap();
        store
            .db()
            .execute(
                "INSERT INTO files (fid, froom, owner, fname, ftype, fsize, sha256, uploaded_at)
                 VALUES ('F1', 'general', 'alice', 'a.jpg', 'image/jpeg', 3, 'old-bytes', 1)",
                [],
            )
            .unwrap();
        let at = |days_ago: u64| i64::try_from(now - days_ago * day).unwrap();
        store
            .insert("general", "alice", "old, with a file", at(40), None, Some("F1"))
            .unwrap();
        store.insert("general", "bob", "old", at(31), None, None).unwrap();
        store.insert("general", "bob", "recent", at(29), None, None).unwrap();
        store
            .insert("shipment-1", "alice", "older still", at(80), None, None)
            .unwrap();
        store
            .insert("random", "alice", "kept for ever", at(99), None, None)
            .unwrap();
        let rules = retention("general=30,shipment-=90");
        assert_eq!(store.expire(&rules, now).unwrap(), (2, vec!["old-bytes".to_owned()]));
        let bodies = |room: &str| -> Vec<String> {
            store
                .history(room, None, 10)
                .unwrap()
                .0
                .into_iter()
                .map(|m| m.body)
                .collect()
        };
        assert_eq!(bodies("general"), ["recent"]);
        assert_eq!(bodies("shipment-1"), ["older still"]);
        assert_eq!(bodies("random"), ["kept for ever"]);
        assert_eq!(store.expire(&rules, now).unwrap(), (0, Vec::new()), "nothing twice");
        assert_eq!(store.expire(&Retention::default(), now).unwrap(), (0, Vec::new()));
    }
}
