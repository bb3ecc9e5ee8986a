//! Moderation in the local chat's store (issue #30): who moderates which
//! room (aligned with the host token on every token path, as membership
//! is), mutes, reports, and the record of every moderator action, which
//! the operator can list (`dachat moderation-log`).
//!
//! When the local server runs on Twilio, the same tables keep Twilio's
//! mutes, reports and record ([`ModerationStore`], held to the suite the
//! DynamoDB store is held to); only the messages live on Twilio.

use rusqlite::{OptionalExtension as _, Transaction, params};

use backend::twilio::moderation::{ModerationStore, ModerationStoreError, Mute, StoreFuture};
use protocol::moderation::Report;

use crate::store::{Store, StoreError, forget};

/// One moderator action, as recorded (the same record on Twilio).
pub use backend::twilio::moderation::Action;

fn log(tx: &Transaction<'_>, action: &Action) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO moderation_log (at, moderator, action, room, message_id, target, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            action.at,
            action.moderator,
            action.action,
            action.room,
            action.message_id,
            action.target,
            action.detail
        ],
    )?;
    Ok(())
}

fn keep_report(tx: &Transaction<'_>, report: &Report) -> Result<Report, StoreError> {
    tx.execute(
        "INSERT INTO reports (room, message_id, reporter, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            report.room,
            report.message_id,
            report.reporter,
            report.reason,
            report.at
        ],
    )?;
    Ok(Report {
        id: tx.last_insert_rowid(),
        ..report.clone()
    })
}

impl Store {
    /// The rooms `identity` moderates become exactly `rooms`.
    pub fn set_moderated(&self, identity: &str, rooms: &[&str]) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let current: Vec<String> = tx
            .prepare("SELECT room FROM moderators WHERE identity = ?1")?
            .query_map(params![identity], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for room in current.iter().filter(|r| !rooms.contains(&r.as_str())) {
            tx.execute(
                "DELETE FROM moderators WHERE identity = ?1 AND room = ?2",
                params![identity, room],
            )?;
        }
        for room in rooms {
            tx.execute(
                "INSERT OR IGNORE INTO moderators (identity, room) VALUES (?1, ?2)",
                params![identity, room],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Who moderates `room`.
    pub fn moderators_of(&self, room: &str) -> Result<Vec<String>, StoreError> {
        let db = self.db();
        let mut statement = db.prepare_cached("SELECT identity FROM moderators WHERE room = ?1")?;
        let rows = statement.query_map(params![room], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn is_moderator(&self, identity: &str, room: &str) -> Result<bool, StoreError> {
        Ok(self
            .db()
            .prepare_cached("SELECT 1 FROM moderators WHERE identity = ?1 AND room = ?2")?
            .exists(params![identity, room])?)
    }

    /// Until when (Unix ms) `identity` is muted in `room`, if they are at `now_ms`.
    pub fn muted_until(&self, identity: &str, room: &str, now_ms: i64) -> Result<Option<i64>, StoreError> {
        Ok(self
            .db()
            .prepare_cached("SELECT until_ms FROM mutes WHERE identity = ?1 AND room = ?2 AND until_ms > ?3")?
            .query_row(params![identity, room, now_ms], |r| r.get(0))
            .optional()?)
    }

    /// Removes message `id` of `room` (whoever wrote it), recorded as
    /// `moderator`'s action. Its author, and the SHA-256 of a file's bytes
    /// nothing refers to any more.
    pub fn remove_as_moderator(
        &self,
        moderator: &str,
        room: &str,
        id: i64,
        now_ms: i64,
    ) -> Result<(String, Option<String>), StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let found: Option<(String, Option<String>)> = tx
            .query_row(
                "SELECT author, file_id FROM messages WHERE id = ?1 AND room = ?2 AND deleted = 0",
                params![id, room],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((author, file)) = found else {
            return Err(StoreError::NotFound);
        };
        tx.execute(
            "UPDATE messages SET body = '', deleted = 1, file_id = NULL WHERE id = ?1",
            params![id],
        )?;
        let unused = match file {
            Some(file) => forget(&tx, &file)?,
            None => None,
        };
        log(
            &tx,
            &Action {
                at: now_ms,
                moderator: moderator.to_owned(),
                action: "remove".into(),
                room: room.to_owned(),
                message_id: Some(id),
                target: Some(author.clone()),
                detail: None,
            },
        )?;
        tx.commit()?;
        Ok((author, unused))
    }

    /// Mutes `identity` in `room` until `until_ms` (`None`: unmutes),
    /// recorded as `moderator`'s action.
    pub fn set_mute(
        &self,
        moderator: &str,
        room: &str,
        identity: &str,
        until_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        match until_ms {
            Some(until) => tx.execute(
                "INSERT INTO mutes (identity, room, until_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (identity, room) DO UPDATE SET until_ms = ?3",
                params![identity, room, until],
            )?,
            None => tx.execute(
                "DELETE FROM mutes WHERE identity = ?1 AND room = ?2",
                params![identity, room],
            )?,
        };
        log(
            &tx,
            &Action {
                at: now_ms,
                moderator: moderator.to_owned(),
                action: if until_ms.is_some() { "mute" } else { "unmute" }.into(),
                room: room.to_owned(),
                message_id: None,
                target: Some(identity.to_owned()),
                detail: until_ms.map(|u| u.to_string()),
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Keeps a report of message `id` of `room`; `NotFound` when the room
    /// has no such message.
    pub fn report(&self, reporter: &str, room: &str, id: i64, reason: &str, now_ms: i64) -> Result<Report, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let exists = tx
            .prepare("SELECT 1 FROM messages WHERE id = ?1 AND room = ?2")?
            .exists(params![id, room])?;
        if !exists {
            return Err(StoreError::NotFound);
        }
        let report = keep_report(
            &tx,
            &Report {
                id: 0,
                room: room.to_owned(),
                message_id: id,
                reporter: reporter.to_owned(),
                reason: reason.to_owned(),
                at: now_ms,
            },
        )?;
        tx.commit()?;
        Ok(report)
    }

    /// Records `action`, and keeps or ends the mute it makes or ends.
    fn act(&self, action: &Action) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        if let Some(target) = &action.target {
            match action.action.as_str() {
                "mute" => {
                    let until = backend::twilio::moderation::mute_end(action).map_err(|e| StoreError::Database(e.0))?;
                    tx.execute(
                        "INSERT INTO mutes (identity, room, until_ms) VALUES (?1, ?2, ?3)
                         ON CONFLICT (identity, room) DO UPDATE SET until_ms = ?3",
                        params![target, action.room, until],
                    )?;
                }
                "unmute" => {
                    tx.execute(
                        "DELETE FROM mutes WHERE identity = ?1 AND room = ?2",
                        params![target, action.room],
                    )?;
                }
                _ => {}
            }
        }
        log(&tx, action)?;
        tx.commit()?;
        Ok(())
    }

    /// How many reports `reporter` made at or after `since` (Unix ms).
    pub fn reports_by(&self, reporter: &str, since: i64) -> Result<u32, StoreError> {
        Ok(self
            .db()
            .prepare_cached("SELECT count(*) FROM reports WHERE reporter = ?1 AND at >= ?2")?
            .query_row(params![reporter, since], |r| r.get(0))?)
    }

    fn mutes_of(&self, identity: &str) -> Result<Vec<Mute>, StoreError> {
        let db = self.db();
        let mut statement = db.prepare_cached("SELECT room, until_ms FROM mutes WHERE identity = ?1 ORDER BY room")?;
        let rows = statement.query_map(params![identity], |r| {
            Ok(Mute {
                room: r.get(0)?,
                until: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn keep_report_alone(&self, report: &Report) -> Result<Report, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let kept = keep_report(&tx, report)?;
        tx.commit()?;
        Ok(kept)
    }

    /// `room`'s reports, newest first, at most `limit`.
    pub fn reports(&self, room: &str, limit: u32) -> Result<Vec<Report>, StoreError> {
        let db = self.db();
        let mut statement = db.prepare_cached(
            "SELECT id, room, message_id, reporter, reason, at FROM reports WHERE room = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = statement.query_map(params![room, limit], |r| {
            Ok(Report {
                id: r.get(0)?,
                room: r.get(1)?,
                message_id: r.get(2)?,
                reporter: r.get(3)?,
                reason: r.get(4)?,
                at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every moderator action, oldest first (of `room`, if given).
    pub fn moderation_log(&self, room: Option<&str>) -> Result<Vec<Action>, StoreError> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT at, moderator, action, room, message_id, target, detail FROM moderation_log
             WHERE ?1 IS NULL OR room = ?1 ORDER BY id",
        )?;
        let rows = statement.query_map(params![room], |r| {
            Ok(Action {
                at: r.get(0)?,
                moderator: r.get(1)?,
                action: r.get(2)?,
                room: r.get(3)?,
                message_id: r.get(4)?,
                target: r.get(5)?,
                detail: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn store_failed(e: StoreError) -> ModerationStoreError {
    ModerationStoreError(e.to_string())
}

/// Twilio's moderation in the local server's chat database.
impl ModerationStore for Store {
    fn act<'a>(&'a self, action: &'a Action) -> StoreFuture<'a, ()> {
        let done = Store::act(self, action).map_err(store_failed);
        Box::pin(async move { done })
    }

    fn mutes<'a>(&'a self, identity: &'a str) -> StoreFuture<'a, Vec<Mute>> {
        let found = self.mutes_of(identity).map_err(store_failed);
        Box::pin(async move { found })
    }

    fn report<'a>(&'a self, report: &'a Report) -> StoreFuture<'a, Report> {
        let kept = self.keep_report_alone(report).map_err(store_failed);
        Box::pin(async move { kept })
    }

    fn reports<'a>(&'a self, room: &'a str, limit: u32) -> StoreFuture<'a, Vec<Report>> {
        let found = Store::reports(self, room, limit).map_err(store_failed);
        Box::pin(async move { found })
    }

    fn reports_by<'a>(&'a self, reporter: &'a str, since: i64) -> StoreFuture<'a, u32> {
        let count = Store::reports_by(self, reporter, since).map_err(store_failed);
        Box::pin(async move { count })
    }

    fn actions<'a>(&'a self, room: Option<&'a str>) -> StoreFuture<'a, Vec<Action>> {
        let found = self.moderation_log(room).map_err(store_failed);
        Box::pin(async move { found })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_chat_database_passes_the_twilio_moderation_suite() {
        let dir = std::env::temp_dir().join(format!("dachat-moderation-sqlite-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir.join("chat.db")).expect("opens");
        backend::twilio::moderation::suite::run(&store).await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
