//! SQLite persistence of the local provider: messages (with edits and
//! deletions), room membership, nicknames and read horizons; the
//! attachments' table (its schema, and tying a file to its message
//! or forgetting it, inside the message's transaction); `files.rs` holds
//! the file routes.
//!
//! WAL journal with `synchronous=NORMAL`: a committed write survives the
//! process being killed (`kill -9`); a message is acknowledged to its sender
//! only after its insert has committed.

use std::path::Path;
use std::sync::Mutex;

use protocol::local::{Attachment, Message};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// Why a store operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound,
    NotYours,
    Database(String),
    /// The provider could not be set up (its token key).
    Setup(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound => f.write_str("no such message"),
            Self::NotYours => f.write_str("only the author can change a message"),
            Self::Database(e) => write!(f, "database error: {e}"),
            Self::Setup(e) => write!(f, "cannot start the local provider: {e}"),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.to_string())
    }
}

#[derive(Debug)]
pub struct Store {
    db: Mutex<Connection>,
}

/// The most unread messages a room reports when it is joined.
pub const UNREAD_CAP: u32 = 999;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    edited_at INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    client_id TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room, id);
CREATE TABLE IF NOT EXISTS members (
    identity TEXT NOT NULL,
    room TEXT NOT NULL,
    PRIMARY KEY (identity, room)
);
CREATE INDEX IF NOT EXISTS members_by_room ON members (room);
CREATE TABLE IF NOT EXISTS nicks (identity TEXT PRIMARY KEY, nick TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reads (
    identity TEXT NOT NULL,
    room TEXT NOT NULL,
    up_to INTEGER NOT NULL,
    PRIMARY KEY (identity, room)
);
CREATE TABLE IF NOT EXISTS files (
    fid TEXT PRIMARY KEY,
    froom TEXT NOT NULL,
    owner TEXT NOT NULL,
    fname TEXT NOT NULL,
    ftype TEXT NOT NULL,
    fsize INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL,
    message INTEGER
);
CREATE INDEX IF NOT EXISTS files_by_owner ON files (owner);
CREATE INDEX IF NOT EXISTS files_by_sha ON files (sha256);
";

/// Moderation (`moderation.rs`): moderators, mutes, reports, the record.
const MODERATION_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS moderators (identity TEXT NOT NULL, room TEXT NOT NULL, PRIMARY KEY (identity, room));
CREATE TABLE IF NOT EXISTS mutes (
    identity TEXT NOT NULL, room TEXT NOT NULL, until_ms INTEGER NOT NULL, PRIMARY KEY (identity, room)
);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, message_id INTEGER NOT NULL,
    reporter TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_by_room ON reports (room, id);
CREATE INDEX IF NOT EXISTS reports_by_reporter ON reports (reporter, at);
CREATE TABLE IF NOT EXISTS moderation_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, moderator TEXT NOT NULL,
    action TEXT NOT NULL, room TEXT NOT NULL, message_id INTEGER, target TEXT, detail TEXT
);
";

/// Search (`search.rs`): the index over bodies and the triggers that keep it.
const SEARCH_SCHEMA: &str = "
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
    body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
";

pub(crate) fn message_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: row.get(0)?,
        room: row.get(1)?,
        author: row.get(2)?,
        body: row.get(3)?,
        created_at: row.get(4)?,
        edited_at: row.get(5)?,
        deleted: row.get::<_, i64>(6)? != 0,
        attachment: match row.get::<_, Option<String>>(7)? {
            Some(id) => Some(Box::new(Attachment {
                id,
                name: row.get(8)?,
                content_type: row.get(9)?,
                size: row.get(10)?,
            })),
            None => None,
        },
    })
}

/// A message's columns and its attachment's (the `files` columns have
/// their own names, so the join needs no qualifying).
const COLUMNS: &str = "id, room, author, body, created_at, edited_at, deleted, fid, fname, ftype, fsize";
const MESSAGES: &str = "messages LEFT JOIN files ON fid = file_id";

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(format!("{}: {e}", dir.display())))?;
        }
        Self::init(Connection::open(path)?)
    }

    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(db: Connection) -> Result<Self, StoreError> {
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(SCHEMA)?;
        db.execute_batch(MODERATION_SCHEMA)?;
        // a database made before the search index: indexed once, from its messages
        let indexed = db
            .prepare("SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'")?
            .exists([])?;
        db.execute_batch(SEARCH_SCHEMA)?;
        if !indexed {
            db.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')", [])?;
        }
        // Databases made before sends were idempotent lack the column.
        let has_client_id: bool = db
            .prepare("SELECT 1 FROM pragma_table_info('messages') WHERE name = 'client_id'")?
            .exists([])?;
        if !has_client_id {
            db.execute_batch("ALTER TABLE messages ADD COLUMN client_id TEXT")?;
        }
        // Nor do those made before attachments (issue #31).
        let has_file_id: bool = db
            .prepare("SELECT 1 FROM pragma_table_info('messages') WHERE name = 'file_id'")?
            .exists([])?;
        if !has_file_id {
            db.execute_batch("ALTER TABLE messages ADD COLUMN file_id TEXT")?;
        }
        db.execute_batch(
            "CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id ON messages (room, author, client_id)
             WHERE client_id IS NOT NULL",
        )?;
        Ok(Self { db: Mutex::new(db) })
    }

    pub(crate) fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `identity` to `room` and removes it from rooms not in `allowed`.
    pub fn grant(&self, identity: &str, room: &str, allowed: &[&str]) -> Result<Vec<String>, StoreError> {
        self.align(identity, Some(room), allowed)
    }

    /// Removes `identity` from every room not in `allowed`; returns those rooms.
    pub fn revoke_except(&self, identity: &str, allowed: &[&str]) -> Result<Vec<String>, StoreError> {
        self.align(identity, None, allowed)
    }

    /// In one transaction: adds the membership of `room` (if any), then
    /// removes every other room not in `allowed`.
    fn align(&self, identity: &str, room: Option<&str>, allowed: &[&str]) -> Result<Vec<String>, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        if let Some(room) = room {
            tx.execute(
                "INSERT OR IGNORE INTO members (identity, room) VALUES (?1, ?2)",
                params![identity, room],
            )?;
        }
        let current: Vec<String> = {
            let mut stmt = tx.prepare("SELECT room FROM members WHERE identity = ?1")?;
            let rows = stmt.query_map(params![identity], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut revoked = Vec::new();
        for old in current {
            if Some(old.as_str()) != room && !allowed.contains(&old.as_str()) {
                tx.execute(
                    "DELETE FROM members WHERE identity = ?1 AND room = ?2",
                    params![identity, old],
                )?;
                revoked.push(old);
            }
        }
        tx.commit()?;
        Ok(revoked)
    }

    pub fn is_member(&self, identity: &str, room: &str) -> Result<bool, StoreError> {
        let found = self
            .db()
            .query_row(
                "SELECT 1 FROM members WHERE identity = ?1 AND room = ?2",
                params![identity, room],
                |_| Ok(()),
            )
            .optional()?;
        Ok(found.is_some())
    }

    pub fn rooms_of(&self, identity: &str) -> Result<Vec<String>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare("SELECT room FROM members WHERE identity = ?1 ORDER BY room")?;
        let rows = stmt.query_map(params![identity], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn member_count(&self, room: &str) -> Result<u32, StoreError> {
        let count: i64 = self
            .db()
            .query_row("SELECT COUNT(*) FROM members WHERE room = ?1", params![room], |r| {
                r.get(0)
            })?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// The first `limit` members of `room` by identity, with their nicks.
    pub fn members_of(&self, room: &str, limit: usize) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare_cached(
            "SELECT m.identity, n.nick FROM members m LEFT JOIN nicks n ON n.identity = m.identity
             WHERE m.room = ?1 ORDER BY m.identity LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![room, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Those of `identities` who are members of `room`, with their nicks, in
    /// the order given.
    pub fn members_among(
        &self,
        room: &str,
        identities: &[String],
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare_cached(
            "SELECT m.identity, n.nick FROM members m LEFT JOIN nicks n ON n.identity = m.identity
             WHERE m.room = ?1 AND m.identity = ?2",
        )?;
        let mut found = Vec::with_capacity(identities.len());
        for identity in identities {
            if let Some(row) = stmt
                .query_row(params![room, identity], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                found.push(row);
            }
        }
        Ok(found)
    }

    /// Stores a message; it is durable when this returns. Idempotent per
    /// `(room, author, client_id)`: sending the same message again (a retry
    /// after a lost acknowledgement) returns the stored one and `false`.
    /// `file` is the id of a file `author` uploaded to `room` and has not
    /// sent yet (else [`StoreError::NotYours`]).
    pub fn insert(
        &self,
        room: &str,
        author: &str,
        body: &str,
        now_ms: i64,
        client_id: Option<&str>,
        file: Option<&str>,
    ) -> Result<(Message, bool), StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let inserted = tx.execute(
            "INSERT INTO messages (room, author, body, created_at, client_id, file_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO NOTHING",
            params![room, author, body, now_ms, client_id, file],
        )?;
        if inserted == 0 {
            let existing = tx.query_row(
                &format!("SELECT {COLUMNS} FROM {MESSAGES} WHERE room = ?1 AND author = ?2 AND client_id = ?3"),
                params![room, author, client_id],
                message_from_row,
            )?;
            return Ok((existing, false));
        }
        let id = tx.last_insert_rowid();
        let attachment = match file {
            Some(file) => Some(attach(&tx, file, room, author, id)?),
            None => None,
        };
        tx.commit()?;
        let message = Message {
            id,
            room: room.to_owned(),
            author: author.to_owned(),
            body: body.to_owned(),
            created_at: now_ms,
            edited_at: None,
            deleted: false,
            attachment: attachment.map(Box::new),
        };
        Ok((message, true))
    }

    /// Up to `limit` messages before `before` (all when `None`), oldest
    /// first, and whether older ones exist.
    pub fn history(&self, room: &str, before: Option<i64>, limit: u32) -> Result<(Vec<Message>, bool), StoreError> {
        let db = self.db();
        let mut stmt = db.prepare(&format!(
            "SELECT {COLUMNS} FROM {MESSAGES} WHERE room = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(
            params![room, before.unwrap_or(i64::MAX), i64::from(limit) + 1],
            message_from_row,
        )?;
        let mut messages: Vec<Message> = rows.collect::<Result<_, _>>()?;
        let has_more = messages.len() > limit as usize;
        messages.truncate(limit as usize);
        messages.reverse();
        Ok((messages, has_more))
    }

    /// Up to `limit` of `room`'s messages after id `after`, oldest first
    /// (an export's walk).
    pub fn messages_after(&self, room: &str, after: i64, limit: u32) -> Result<Vec<Message>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM {MESSAGES} WHERE room = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![room, after, limit], message_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many messages `room` holds (deleted ones' placeholders included).
    pub fn count(&self, room: &str) -> Result<u64, StoreError> {
        Ok(self
            .db()
            .query_row("SELECT COUNT(*) FROM messages WHERE room = ?1", params![room], |r| {
                r.get(0)
            })?)
    }

    pub fn last_id(&self, room: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .db()
            .query_row("SELECT MAX(id) FROM messages WHERE room = ?1", params![room], |r| {
                r.get(0)
            })?)
    }

    fn own_message(&self, db: &Connection, room: &str, id: i64, author: &str) -> Result<Message, StoreError> {
        let message = db
            .query_row(
                &format!("SELECT {COLUMNS} FROM {MESSAGES} WHERE id = ?1 AND room = ?2"),
                params![id, room],
                message_from_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound)?;
        if message.deleted {
            return Err(StoreError::NotFound);
        }
        if message.author != author {
            return Err(StoreError::NotYours);
        }
        Ok(message)
    }

    pub fn edit(&self, room: &str, id: i64, author: &str, body: &str, now_ms: i64) -> Result<Message, StoreError> {
        let db = self.db();
        let mut message = self.own_message(&db, room, id, author)?;
        db.execute(
            "UPDATE messages SET body = ?1, edited_at = ?2 WHERE id = ?3",
            params![body, now_ms, id],
        )?;
        message.body = body.to_owned();
        message.edited_at = Some(now_ms);
        Ok(message)
    }

    /// Deletes a message: its text and its file are erased, a placeholder
    /// stays in history. Returns the SHA-256 of a file's bytes that nothing
    /// else refers to any more (the caller removes them from disk).
    pub fn delete(&self, room: &str, id: i64, author: &str) -> Result<Option<String>, StoreError> {
        let mut db = self.db();
        let message = self.own_message(&db, room, id, author)?;
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE messages SET body = '', deleted = 1, file_id = NULL WHERE id = ?1",
            params![id],
        )?;
        let unused = match message.attachment {
            Some(file) => forget(&tx, &file.id)?,
            None => None,
        };
        tx.commit()?;
        Ok(unused)
    }

    pub fn nick_of(&self, identity: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .db()
            .query_row("SELECT nick FROM nicks WHERE identity = ?1", params![identity], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Sets (or with `None` clears) a nickname.
    pub fn set_nick(&self, identity: &str, nick: Option<&str>) -> Result<(), StoreError> {
        let db = self.db();
        match nick {
            Some(nick) => db.execute(
                "INSERT INTO nicks (identity, nick) VALUES (?1, ?2) ON CONFLICT (identity) DO UPDATE SET nick = ?2",
                params![identity, nick],
            )?,
            None => db.execute("DELETE FROM nicks WHERE identity = ?1", params![identity])?,
        };
        Ok(())
    }

    /// Moves the read horizon forward (never back); returns the horizon now.
    pub fn mark_read(&self, identity: &str, room: &str, up_to: i64) -> Result<i64, StoreError> {
        let db = self.db();
        db.execute(
            "INSERT INTO reads (identity, room, up_to) VALUES (?1, ?2, ?3)
             ON CONFLICT (identity, room) DO UPDATE SET up_to = MAX(up_to, ?3)",
            params![identity, room, up_to],
        )?;
        Ok(db.query_row(
            "SELECT up_to FROM reads WHERE identity = ?1 AND room = ?2",
            params![identity, room],
            |r| r.get(0),
        )?)
    }

    /// Messages by others in `room` after `identity`'s read horizon (deleted
    /// ones do not count), at most [`UNREAD_CAP`]: a join never scans more
    /// than that many rows, however long the user has been away.
    pub fn unread(&self, identity: &str, room: &str) -> Result<u32, StoreError> {
        Ok(self.db().query_row(
            "SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE room = ?1 AND author != ?2 AND deleted = 0 \
             AND id > COALESCE((SELECT up_to FROM reads WHERE identity = ?2 AND room = ?1), 0) LIMIT ?3)",
            params![room, identity, UNREAD_CAP],
            |r| r.get(0),
        )?)
    }

    /// How many messages by others in `room` are after `identity`'s read
    /// horizon (at most [`UNREAD_CAP`]), and when the oldest of them was
    /// written (ms).
    pub fn unread_since(&self, identity: &str, room: &str) -> Result<(u32, Option<i64>), StoreError> {
        Ok(self.db().query_row(
            "SELECT COUNT(*), MIN(created_at) FROM (SELECT created_at FROM messages WHERE room = ?1 AND author != ?2 \
             AND deleted = 0 AND id > COALESCE((SELECT up_to FROM reads WHERE identity = ?2 AND room = ?1), 0) \
             ORDER BY id LIMIT ?3)",
            params![room, identity, UNREAD_CAP],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// The newest `limit` messages by others after `identity`'s read
    /// horizon (author or nick, body), oldest first (digest excerpts).
    pub fn latest_unread(&self, identity: &str, room: &str, limit: usize) -> Result<Vec<(String, String)>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT COALESCE(n.nick, m.author), m.body FROM messages m LEFT JOIN nicks n ON n.identity = m.author \
             WHERE m.room = ?1 AND m.author != ?2 AND m.deleted = 0 \
             AND m.id > COALESCE((SELECT up_to FROM reads WHERE identity = ?2 AND room = ?1), 0) \
             ORDER BY m.id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![room, identity, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        let mut found: Vec<(String, String)> = rows.collect::<Result<_, _>>()?;
        found.reverse();
        Ok(found)
    }

    pub fn read_up_to(&self, identity: &str, room: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT up_to FROM reads WHERE identity = ?1 AND room = ?2",
                params![identity, room],
                |r| r.get(0),
            )
            .optional()?)
    }
}

/// Ties the upload `file` to the new message `message` (inside its insert).
pub(crate) fn attach(
    tx: &Transaction<'_>,
    file: &str,
    room: &str,
    author: &str,
    message: i64,
) -> Result<Attachment, StoreError> {
    let updated = tx.execute(
        "UPDATE files SET message = ?1 WHERE fid = ?2 AND froom = ?3 AND owner = ?4 AND message IS NULL",
        params![message, file, room, author],
    )?;
    if updated == 0 {
        return Err(StoreError::NotYours);
    }
    Ok(tx.query_row(
        "SELECT fid, fname, ftype, fsize FROM files WHERE fid = ?1",
        params![file],
        |r| {
            Ok(Attachment {
                id: r.get(0)?,
                name: r.get(1)?,
                content_type: r.get(2)?,
                size: r.get(3)?,
            })
        },
    )?)
}

/// Removes the row of `file`; the SHA-256 of its bytes when no other row
/// refers to them.
pub(crate) fn forget(tx: &Transaction<'_>, file: &str) -> Result<Option<String>, StoreError> {
    let sha: Option<String> = tx
        .query_row("SELECT sha256 FROM files WHERE fid = ?1", params![file], |r| r.get(0))
        .optional()?;
    let Some(sha) = sha else { return Ok(None) };
    tx.execute("DELETE FROM files WHERE fid = ?1", params![file])?;
    let still_used: bool = tx
        .prepare("SELECT 1 FROM files WHERE sha256 = ?1")?
        .exists(params![sha])?;
    Ok((!still_used).then_some(sha))
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
