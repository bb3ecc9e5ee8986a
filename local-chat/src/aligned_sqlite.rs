//! The last aligned room sets when the local server runs on Twilio
//! ([`backend::twilio::aligned`]): SQLite, in its own file beside the
//! others (`twilio.db`, WAL journal), so several `dachat serve` processes
//! on one data folder share them as Lambda instances share the DynamoDB
//! table. Each write is one statement, so the version check is atomic even
//! across processes. Held to the same suite as the DynamoDB store.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use backend::twilio::aligned::{AlignedRecord, AlignedStore, AlignedStoreError, RECORD_KEEP_SECS, StoreFuture};
use rusqlite::{Connection, OptionalExtension, params};

/// One B-tree keyed by identity (`WITHOUT ROWID`, no second index): a
/// record's write touches one page, which is most of its cost. The hourly
/// clean-up scans the table instead.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS aligned (
    identity TEXT PRIMARY KEY, rooms TEXT, at INTEGER NOT NULL, version INTEGER NOT NULL,
    removals INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
";

#[derive(Debug)]
pub struct SqliteAligned {
    db: Mutex<Connection>,
    /// The hour (Unix s / 3600) records past their keep were last dropped in.
    swept_hour: AtomicU64,
}

fn failed(e: rusqlite::Error) -> AlignedStoreError {
    AlignedStoreError(e.to_string())
}

impl SqliteAligned {
    pub fn open(path: &Path) -> Result<Self, AlignedStoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| AlignedStoreError(format!("{}: {e}", dir.display())))?;
        }
        let db = Connection::open(path).map_err(failed)?;
        db.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
            .map_err(failed)?;
        db.execute_batch(SCHEMA).map_err(failed)?;
        // a table made before removals were counted
        let counted: bool = db
            .query_row(
                "SELECT count(*) FROM pragma_table_info('aligned') WHERE name = 'removals'",
                [],
                |row| row.get(0),
            )
            .map_err(failed)?;
        if !counted {
            db.execute_batch("ALTER TABLE aligned ADD COLUMN removals INTEGER NOT NULL DEFAULT 0")
                .map_err(failed)?;
        }
        Ok(Self {
            db: Mutex::new(db),
            swept_hour: AtomicU64::new(u64::MAX),
        })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_now(&self, identity: &str) -> Result<Option<AlignedRecord>, AlignedStoreError> {
        self.db()
            .prepare_cached("SELECT rooms, at, version, removals FROM aligned WHERE identity = ?1")
            .map_err(failed)?
            .query_row(params![identity], |row| {
                Ok(AlignedRecord {
                    rooms: row.get(0)?,
                    at: row.get(1)?,
                    version: row.get(2)?,
                    removals: row.get(3)?,
                })
            })
            .optional()
            .map_err(failed)
    }

    fn record_now(&self, identity: &str, rooms: &str, at: u64, seen: u64) -> Result<bool, AlignedStoreError> {
        let db = self.db();
        let written = if seen == 0 {
            db.prepare_cached("INSERT OR IGNORE INTO aligned (identity, rooms, at, version) VALUES (?1, ?2, ?3, 1)")
                .map_err(failed)?
                .execute(params![identity, rooms, at])
        } else {
            db.prepare_cached(
                "UPDATE aligned SET rooms = ?2, at = ?3, version = version + 1 WHERE identity = ?1 AND version = ?4",
            )
            .map_err(failed)?
            .execute(params![identity, rooms, at, seen])
        }
        .map_err(failed)?;
        // records the stores' expiry would have removed (DynamoDB's TTL),
        // once an hour: a write of its own costs as much as the record's
        if self.swept_hour.swap(at / 3600, Ordering::Relaxed) != at / 3600 {
            db.prepare_cached("DELETE FROM aligned WHERE at < ?1")
                .map_err(failed)?
                .execute(params![at.saturating_sub(RECORD_KEEP_SECS)])
                .map_err(failed)?;
        }
        Ok(written == 1)
    }

    fn room_added_now(&self, identity: &str, at: u64) -> Result<u64, AlignedStoreError> {
        self.db()
            .prepare_cached(
                "INSERT INTO aligned (identity, rooms, at, version) VALUES (?1, NULL, ?2, 1)
                 ON CONFLICT (identity) DO UPDATE SET rooms = NULL, at = ?2, version = version + 1
                 RETURNING removals",
            )
            .map_err(failed)?
            .query_row(params![identity, at], |row| row.get(0))
            .map_err(failed)
    }

    fn rooms_removed_now(&self, identity: &str, at: u64) -> Result<(), AlignedStoreError> {
        self.db()
            .prepare_cached(
                "INSERT INTO aligned (identity, rooms, at, version, removals) VALUES (?1, NULL, ?2, 1, 1)
                 ON CONFLICT (identity) DO UPDATE SET removals = removals + 1",
            )
            .map_err(failed)?
            .execute(params![identity, at])
            .map_err(failed)?;
        Ok(())
    }
}

impl AlignedStore for SqliteAligned {
    fn read<'a>(&'a self, identity: &'a str) -> StoreFuture<'a, Option<AlignedRecord>> {
        let found = self.read_now(identity);
        Box::pin(async move { found })
    }

    fn record<'a>(&'a self, identity: &'a str, rooms: &'a str, at: u64, seen: u64) -> StoreFuture<'a, bool> {
        let written = self.record_now(identity, rooms, at, seen);
        Box::pin(async move { written })
    }

    fn room_added<'a>(&'a self, identity: &'a str, at: u64) -> StoreFuture<'a, u64> {
        let done = self.room_added_now(identity, at);
        Box::pin(async move { done })
    }

    fn forget<'a>(&'a self, identity: &'a str, erase: bool) -> StoreFuture<'a, bool> {
        let sql = if erase {
            "DELETE FROM aligned WHERE identity = ?1"
        } else {
            "SELECT 1 FROM aligned WHERE identity = ?1"
        };
        let found = self
            .db()
            .prepare_cached(sql)
            .and_then(|mut statement| {
                if erase {
                    statement.execute(params![identity]).map(|n| n > 0)
                } else {
                    statement.exists(params![identity])
                }
            })
            .map_err(failed);
        Box::pin(async move { found })
    }

    fn rooms_removed<'a>(&'a self, identity: &'a str, at: u64) -> StoreFuture<'a, ()> {
        let done = self.rooms_removed_now(identity, at);
        Box::pin(async move { done })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sqlite_store_passes_the_suite_and_two_processes_share_it() {
        let dir = std::env::temp_dir().join(format!("dachat-aligned-sqlite-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("twilio.db");
        let store = SqliteAligned::open(&path).expect("opens");
        backend::twilio::aligned::suite::run_all(&store, "local").await;
        // a second connection (another process's) sees the first one's
        // writes, and its version check holds against them
        let other = SqliteAligned::open(&path).expect("opens again");
        assert!(store.record("shared-SP1", "aaaa", 10, 0).await.expect("records"));
        let seen = other.read("shared-SP1").await.expect("reads").expect("a record");
        assert_eq!(seen.rooms.as_deref(), Some("aaaa"));
        store.room_added("shared-SP1", 11).await.expect("marks");
        assert!(
            !other
                .record("shared-SP1", "aaaa", 12, seen.version)
                .await
                .expect("writes")
        );
        drop((store, other));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_table_made_before_removals_were_counted_gains_the_count() {
        let dir = std::env::temp_dir().join(format!("dachat-aligned-old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a folder");
        let path = dir.join("twilio.db");
        {
            let old = Connection::open(&path).expect("opens");
            old.execute_batch(
                "CREATE TABLE aligned (identity TEXT PRIMARY KEY, rooms TEXT, at INTEGER NOT NULL,
                     version INTEGER NOT NULL) WITHOUT ROWID;
                 INSERT INTO aligned VALUES ('old-OL1', 'aaaa', 100, 3);",
            )
            .expect("the old table");
        }
        let store = SqliteAligned::open(&path).expect("opens the old file");
        let kept = store.read("old-OL1").await.expect("reads").expect("kept");
        assert_eq!(
            (kept.rooms.as_deref(), kept.version, kept.removals),
            (Some("aaaa"), 3, 0)
        );
        store.rooms_removed("old-OL1", 101).await.expect("counts");
        assert_eq!(store.read("old-OL1").await.expect("reads").expect("kept").removals, 1);
        drop(store);
        // opening again leaves the count as it is
        let again = SqliteAligned::open(&path).expect("opens again");
        assert_eq!(again.read("old-OL1").await.expect("reads").expect("kept").removals, 1);
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn records_past_their_keep_are_dropped() {
        let dir = std::env::temp_dir().join(format!("dachat-aligned-keep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SqliteAligned::open(&dir.join("twilio.db")).expect("opens");
        assert!(store.record("old-OL1", "aaaa", 100, 0).await.expect("records"));
        assert!(
            store
                .record("new-NW1", "aaaa", 100 + RECORD_KEEP_SECS + 1, 0)
                .await
                .expect("records")
        );
        assert_eq!(store.read("old-OL1").await.expect("reads"), None);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
