//! The notifications' storage in local mode ([`backend::notify::store`]):
//! SQLite, in its own file beside the chat's (`notify.db`), WAL journal.
//! Held to the same suite as the DynamoDB store.

use std::path::Path;
use std::sync::Mutex;

use backend::notify::address_codes::{PendingCode, RecentCodes};
use backend::notify::store::{
    CLAIM_SECS, Claim, DeferredEvent, KeptAbout, LEASE_SECS, NotifyStore, REPLY_ROUTE_SECS, ReplyRoute, RoomMail,
    StoreError, Subscription, Watch,
};
use rusqlite::{Connection, OptionalExtension, params};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS codes (
    identity TEXT NOT NULL, address TEXT NOT NULL, tag BLOB NOT NULL, issued_at INTEGER NOT NULL,
    wrong_tries INTEGER NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (identity, address)
);
CREATE TABLE IF NOT EXISTS code_log (identity TEXT NOT NULL, address TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS code_log_by_identity ON code_log (identity, at);
CREATE INDEX IF NOT EXISTS code_log_by_address ON code_log (address, at);
CREATE TABLE IF NOT EXISTS subscriptions (
    identity TEXT NOT NULL, context TEXT NOT NULL, address TEXT NOT NULL, since INTEGER NOT NULL,
    PRIMARY KEY (identity, context)
);
CREATE TABLE IF NOT EXISTS deferred_events (
    key TEXT PRIMARY KEY, conversation TEXT NOT NULL, author TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS watches (identity TEXT PRIMARY KEY, due INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS watches_by_due ON watches (due);
CREATE TABLE IF NOT EXISTS room_mail (
    identity TEXT NOT NULL, context TEXT NOT NULL, emails INTEGER NOT NULL, last_email_at INTEGER NOT NULL,
    horizon INTEGER, PRIMARY KEY (identity, context)
);
CREATE TABLE IF NOT EXISTS reply_routes (
    tag TEXT PRIMARY KEY, identity TEXT NOT NULL, context TEXT NOT NULL, expires INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS reply_log (identity TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS reply_log_by_identity ON reply_log (identity, at);
";

/// `''` stands for "every room" in the `context` column (a room name is never empty).
const ALL_ROOMS: &str = "";

#[derive(Debug)]
pub struct SqliteNotifyStore {
    db: Mutex<Connection>,
}

fn failed(e: rusqlite::Error) -> StoreError {
    StoreError(e.to_string())
}

impl SqliteNotifyStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError(format!("{}: {e}", dir.display())))?;
        }
        let db = Connection::open(path).map_err(failed)?;
        db.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
            .map_err(failed)?;
        db.execute_batch(SCHEMA).map_err(failed)?;
        // a database from before leases: its claims were all settled ones
        let has_done: bool = db
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('claims') WHERE name = 'done'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .map_err(failed)?
            > 0;
        if !has_done {
            db.execute_batch("ALTER TABLE claims ADD COLUMN done INTEGER NOT NULL DEFAULT 1;")
                .map_err(failed)?;
        }
        Ok(Self { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl NotifyStore for SqliteNotifyStore {
    async fn claim(&self, key: &str, now: u64) -> Result<Claim, StoreError> {
        let mut db = self.db();
        // one write transaction: another process's claim cannot come between
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(failed)?;
        tx.execute("DELETE FROM claims WHERE key = ?1 AND expires <= ?2", params![key, now])
            .map_err(failed)?;
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO claims (key, expires, done) VALUES (?1, ?2, 0)",
                params![key, now + LEASE_SECS],
            )
            .map_err(failed)?;
        let claim = if inserted == 1 {
            Claim::Taken
        } else {
            let done: bool = tx
                .query_row("SELECT done FROM claims WHERE key = ?1", params![key], |row| row.get(0))
                .map_err(failed)?;
            if done { Claim::Done } else { Claim::UnderWay }
        };
        tx.commit().map_err(failed)?;
        Ok(claim)
    }

    async fn settle(&self, key: &str, now: u64) -> Result<(), StoreError> {
        self.db()
            .execute(
                "INSERT OR REPLACE INTO claims (key, expires, done) VALUES (?1, ?2, 1)",
                params![key, now + CLAIM_SECS],
            )
            .map_err(failed)?;
        Ok(())
    }

    async fn defer_event(&self, event: &DeferredEvent) -> Result<(), StoreError> {
        self.db()
            .execute(
                "INSERT OR REPLACE INTO deferred_events (key, conversation, author, at) VALUES (?1, ?2, ?3, ?4)",
                params![event.key, event.conversation, event.author, event.at],
            )
            .map_err(failed)?;
        Ok(())
    }

    async fn deferred_events(&self, limit: usize) -> Result<Vec<DeferredEvent>, StoreError> {
        let db = self.db();
        let mut query = db
            .prepare("SELECT key, conversation, author, at FROM deferred_events ORDER BY at, key LIMIT ?1")
            .map_err(failed)?;
        let rows = query
            .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
                Ok(DeferredEvent {
                    key: row.get(0)?,
                    conversation: row.get(1)?,
                    author: row.get(2)?,
                    at: row.get(3)?,
                })
            })
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    async fn drop_deferred(&self, key: &str) -> Result<(), StoreError> {
        self.db()
            .execute("DELETE FROM deferred_events WHERE key = ?1", params![key])
            .map_err(failed)?;
        Ok(())
    }

    async fn unclaim(&self, key: &str) -> Result<(), StoreError> {
        self.db()
            .execute("DELETE FROM claims WHERE key = ?1", params![key])
            .map_err(failed)?;
        Ok(())
    }

    async fn put_code(&self, code: &PendingCode, mailbox: &str) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction().map_err(failed)?;
        tx.execute(
            "INSERT OR REPLACE INTO codes (identity, address, tag, issued_at, wrong_tries, used) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![code.identity, code.address, code.tag, code.issued_at, code.wrong_tries, code.used],
        )
        .map_err(failed)?;
        tx.execute(
            "INSERT INTO code_log (identity, address, at) VALUES (?1, ?2, ?3)",
            params![code.identity, mailbox, code.issued_at],
        )
        .map_err(failed)?;
        // the log matters for an hour
        tx.execute(
            "DELETE FROM code_log WHERE at < ?1",
            params![code.issued_at.saturating_sub(7200)],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)
    }

    async fn code(&self, identity: &str, address: &str) -> Result<Option<PendingCode>, StoreError> {
        self.db()
            .query_row(
                "SELECT tag, issued_at, wrong_tries, used FROM codes WHERE identity = ?1 AND address = ?2",
                params![identity, address],
                |row| {
                    Ok(PendingCode {
                        identity: identity.to_owned(),
                        address: address.to_owned(),
                        tag: row.get(0)?,
                        issued_at: row.get(1)?,
                        wrong_tries: row.get(2)?,
                        used: row.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(failed)
    }

    async fn update_code(&self, code: &PendingCode) -> Result<(), StoreError> {
        self.db()
            .execute(
                "UPDATE codes SET wrong_tries = ?3, used = ?4 WHERE identity = ?1 AND address = ?2",
                params![code.identity, code.address, code.wrong_tries, code.used],
            )
            .map_err(failed)?;
        Ok(())
    }

    async fn recent_codes(&self, identity: &str, mailbox: &str, since: u64) -> Result<RecentCodes, StoreError> {
        let db = self.db();
        let count = |sql: &str, key: &str| -> Result<u32, StoreError> {
            db.query_row(sql, params![key, since], |row| row.get(0)).map_err(failed)
        };
        Ok(RecentCodes {
            to_identity: count(
                "SELECT COUNT(*) FROM code_log WHERE identity = ?1 AND at >= ?2",
                identity,
            )?,
            to_address: count("SELECT COUNT(*) FROM code_log WHERE address = ?1 AND at >= ?2", mailbox)?,
        })
    }

    async fn subscribe(&self, subscription: &Subscription) -> Result<(), StoreError> {
        self.db()
            .execute(
                "INSERT OR REPLACE INTO subscriptions (identity, context, address, since) VALUES (?1, ?2, ?3, ?4)",
                params![
                    subscription.identity,
                    subscription.context.as_deref().unwrap_or(ALL_ROOMS),
                    subscription.address,
                    subscription.since
                ],
            )
            .map_err(failed)?;
        Ok(())
    }

    async fn unsubscribe(&self, identity: &str, context: Option<&str>) -> Result<bool, StoreError> {
        let removed = self
            .db()
            .execute(
                "DELETE FROM subscriptions WHERE identity = ?1 AND context = ?2",
                params![identity, context.unwrap_or(ALL_ROOMS)],
            )
            .map_err(failed)?;
        Ok(removed > 0)
    }

    async fn subscriptions(&self, identity: &str) -> Result<Vec<Subscription>, StoreError> {
        let db = self.db();
        let mut statement = db
            .prepare("SELECT context, address, since FROM subscriptions WHERE identity = ?1 ORDER BY context")
            .map_err(failed)?;
        let rows = statement
            .query_map(params![identity], |row| {
                let context: String = row.get(0)?;
                Ok(Subscription {
                    identity: identity.to_owned(),
                    context: (context != ALL_ROOMS).then_some(context),
                    address: row.get(1)?,
                    since: row.get(2)?,
                })
            })
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    async fn watch(&self, identity: &str, due_at: u64) -> Result<(), StoreError> {
        self.db()
            .execute(
                "INSERT INTO watches (identity, due, seq) VALUES (?1, ?2, 1)
                 ON CONFLICT (identity) DO UPDATE SET due = MIN(due, ?2), seq = seq + 1",
                params![identity, due_at],
            )
            .map_err(failed)?;
        Ok(())
    }

    async fn due_watches(&self, now: u64, limit: usize) -> Result<Vec<Watch>, StoreError> {
        let db = self.db();
        let mut statement = db
            .prepare("SELECT identity, due, seq FROM watches WHERE due <= ?1 ORDER BY due, identity LIMIT ?2")
            .map_err(failed)?;
        let rows = statement
            .query_map(params![now, i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
                Ok(Watch {
                    identity: row.get(0)?,
                    due_at: row.get(1)?,
                    seq: row.get(2)?,
                })
            })
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    async fn settle_watch(&self, watch: &Watch, next: Option<u64>) -> Result<(), StoreError> {
        let db = self.db();
        let unchanged = match next {
            None => db.execute(
                "DELETE FROM watches WHERE identity = ?1 AND seq = ?2",
                params![watch.identity, watch.seq],
            ),
            Some(next) => db.execute(
                "UPDATE watches SET due = ?3 WHERE identity = ?1 AND seq = ?2",
                params![watch.identity, watch.seq, next],
            ),
        }
        .map_err(failed)?;
        if unchanged == 0
            && let Some(next) = next
        {
            db.execute(
                "UPDATE watches SET due = MIN(due, ?2) WHERE identity = ?1",
                params![watch.identity, next],
            )
            .map_err(failed)?;
        }
        Ok(())
    }

    async fn room_mail(&self, identity: &str) -> Result<Vec<RoomMail>, StoreError> {
        let db = self.db();
        let mut statement = db
            .prepare("SELECT context, emails, last_email_at, horizon FROM room_mail WHERE identity = ?1")
            .map_err(failed)?;
        let rows = statement
            .query_map(params![identity], |row| {
                Ok(RoomMail {
                    context: row.get(0)?,
                    emails: row.get(1)?,
                    last_email_at: row.get(2)?,
                    horizon: row.get(3)?,
                })
            })
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    async fn record_room_mail(&self, identity: &str, mail: &[RoomMail]) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction().map_err(failed)?;
        for room in mail {
            tx.execute(
                "INSERT OR REPLACE INTO room_mail (identity, context, emails, last_email_at, horizon)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![identity, room.context, room.emails, room.last_email_at, room.horizon],
            )
            .map_err(failed)?;
        }
        tx.commit().map_err(failed)
    }

    async fn put_reply_routes(&self, routes: &[ReplyRoute], now: u64) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction().map_err(failed)?;
        for route in routes {
            tx.execute(
                "INSERT OR REPLACE INTO reply_routes (tag, identity, context, expires) VALUES (?1, ?2, ?3, ?4)",
                params![route.tag, route.identity, route.context, now + REPLY_ROUTE_SECS],
            )
            .map_err(failed)?;
        }
        tx.commit().map_err(failed)
    }

    async fn reply_route(&self, tag: &str, now: u64) -> Result<Option<ReplyRoute>, StoreError> {
        self.db()
            .query_row(
                "SELECT identity, context FROM reply_routes WHERE tag = ?1 AND expires > ?2",
                params![tag, now],
                |row| {
                    Ok(ReplyRoute {
                        tag: tag.to_owned(),
                        identity: row.get(0)?,
                        context: row.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(failed)
    }

    async fn log_reply(&self, identity: &str, at: u64) -> Result<(), StoreError> {
        let db = self.db();
        // the limit looks back an hour; older entries go
        db.execute(
            "DELETE FROM reply_log WHERE identity = ?1 AND at < ?2",
            params![identity, at.saturating_sub(2 * 3600)],
        )
        .map_err(failed)?;
        db.execute(
            "INSERT INTO reply_log (identity, at) VALUES (?1, ?2)",
            params![identity, at],
        )
        .map_err(failed)?;
        Ok(())
    }

    async fn recent_replies(&self, identity: &str, since: u64) -> Result<u32, StoreError> {
        self.db()
            .query_row(
                "SELECT COUNT(*) FROM reply_log WHERE identity = ?1 AND at >= ?2",
                params![identity, since],
                |row| row.get(0),
            )
            .map_err(failed)
    }

    async fn expire_reply_routes(&self, cutoff: &(dyn Fn(&str) -> Option<u64> + Sync)) -> Result<usize, StoreError> {
        let db = self.db();
        let contexts: Vec<String> = db
            .prepare("SELECT DISTINCT context FROM reply_routes")
            .map_err(failed)?
            .query_map([], |row| row.get(0))
            .map_err(failed)?
            .collect::<Result<_, _>>()
            .map_err(failed)?;
        let mut gone = 0;
        for context in contexts {
            if let Some(cutoff) = cutoff(&context) {
                gone += db
                    .execute(
                        "DELETE FROM reply_routes WHERE context = ?1 AND expires < ?2",
                        params![context, cutoff.saturating_add(REPLY_ROUTE_SECS)],
                    )
                    .map_err(failed)?;
            }
        }
        Ok(gone)
    }

    async fn forget(&self, identity: &str, erase: bool) -> Result<KeptAbout, StoreError> {
        let mut db = self.db();
        // one transaction: what is counted is what is removed
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(failed)?;
        let found = |table: &str, column: &str| -> Result<usize, StoreError> {
            let count: usize = tx
                .query_row(
                    &format!("SELECT COUNT(*) FROM {table} WHERE {column} = ?1"),
                    params![identity],
                    |row| row.get(0),
                )
                .map_err(failed)?;
            if erase && count > 0 {
                tx.execute(&format!("DELETE FROM {table} WHERE {column} = ?1"), params![identity])
                    .map_err(failed)?;
            }
            Ok(count)
        };
        let kept = KeptAbout {
            subscriptions: found("subscriptions", "identity")?,
            codes: found("codes", "identity")?,
            codes_sent: found("code_log", "identity")?,
            watches: found("watches", "identity")?,
            room_mail: found("room_mail", "identity")?,
            reply_routes: found("reply_routes", "identity")?,
            replies_logged: found("reply_log", "identity")?,
            deferred_events: found("deferred_events", "author")?,
        };
        tx.commit().map_err(failed)?;
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sqlite_store_passes_the_shared_suite_and_keeps_it_across_restarts() {
        let dir = std::env::temp_dir().join(format!("dachat-notify-sqlite-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("notify.db");
        let store = SqliteNotifyStore::open(&path).expect("opens");
        backend::notify::store::suite::run_all(&store, "local").await;
        assert_eq!(store.claim("kept-IM9", 5).await.expect("claims"), Claim::Taken);
        store.settle("kept-IM9", 5).await.expect("settles");
        assert_eq!(store.claim("lease-IM8", 5).await.expect("claims"), Claim::Taken);
        drop(store);
        let reopened = SqliteNotifyStore::open(&path).expect("reopens");
        assert_eq!(
            reopened.claim("kept-IM9", 6).await.expect("claims"),
            Claim::Done,
            "a claim survives a restart"
        );
        assert_eq!(
            reopened.claim("lease-IM8", 6).await.expect("claims"),
            Claim::UnderWay,
            "so does a lease"
        );
        assert_eq!(
            reopened.claim("kept-IM9", 5 + CLAIM_SECS).await.expect("claims"),
            Claim::Taken,
            "and expires"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[tokio::test]
    async fn a_database_from_before_leases_opens_with_its_claims_settled() {
        let dir = std::env::temp_dir().join(format!("dachat-notify-old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("makes the folder");
        let path = dir.join("notify.db");
        let old = Connection::open(&path).expect("opens");
        old.execute_batch(
            "CREATE TABLE claims (key TEXT PRIMARY KEY, expires INTEGER NOT NULL);
             INSERT INTO claims VALUES ('old-IM1', 1000000);",
        )
        .expect("the old schema");
        drop(old);
        let store = SqliteNotifyStore::open(&path).expect("opens the old database");
        assert_eq!(store.claim("old-IM1", 10).await.expect("claims"), Claim::Done);
        assert_eq!(store.claim("new-IM2", 10).await.expect("claims"), Claim::Taken);
        drop(store);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
