//! Search of a room's history on the local provider (issue #29): SQLite
//! FTS5 over message bodies (an external-content index kept by triggers,
//! declared with the store's other tables in `store.rs`,
//! so every insert, edit, deletion and removal updates it in the same
//! transaction), behind `GET /v1/local/search?room=R&q=TEXT[&before=ID]`,
//! which answers only for a room the chat token's person is a member of.
//!
//! What a person types is never FTS5 syntax: each word becomes a quoted
//! term (the last one a prefix), all of them required. Results come newest
//! first, a page at a time (`before`: the oldest id of the last page).

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use backend::api::error::ApiError;
use protocol::local::Message;
use rusqlite::params;
use serde::Deserialize;

use crate::LocalChat;
use crate::store::{Store, StoreError};

/// The most results a page holds.
pub const MAX_RESULTS: u32 = 50;

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// `text` as an FTS5 query: every word required, the last a prefix;
/// `None` when it has no word.
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut query = rest.join(" ");
    if !query.is_empty() {
        query.push(' ');
    }
    query.push_str(last);
    query.push('*');
    Some(query)
}

impl Store {
    /// The connection, for the search benchmark's measurements (dbstat,
    /// the index dropped to compare).
    #[doc(hidden)]
    pub fn db_for_bench(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.db()
    }

    /// Drops the search index and its triggers: the store as it was before
    /// issue #29 (for the migration test, and the benchmark's insert cost
    /// without the index).
    #[doc(hidden)]
    pub fn drop_search_index(&self) -> rusqlite::Result<()> {
        self.db().execute_batch(
            "DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_delete;
             DROP TRIGGER messages_fts_update; DROP TABLE messages_fts;",
        )
    }

    /// Up to `limit` of `room`'s messages matching `text` (not deleted),
    /// newest first, older than `before` if given; and whether more match.
    pub fn search(
        &self,
        room: &str,
        text: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<Message>, bool), StoreError> {
        let Some(query) = fts_query(text) else {
            return Ok((Vec::new(), false));
        };
        let db = self.db();
        // (the columns of `store::COLUMNS`, `id` and `body` named as the
        // messages'; CROSS JOIN keeps the index the outer loop, walked
        // newest first, so a page costs its matches, not the room's size)
        let mut statement = db.prepare_cached(
            "SELECT messages.id, room, author, messages.body, created_at, edited_at, deleted, fid, fname, ftype, fsize
             FROM messages_fts CROSS JOIN messages ON messages.id = messages_fts.rowid
             LEFT JOIN files ON fid = file_id
             WHERE messages_fts MATCH ?1 AND messages_fts.rowid < ?2 AND room = ?3 AND deleted = 0
             ORDER BY messages_fts.rowid DESC LIMIT ?4",
        )?;
        let rows = statement.query_map(
            params![query, before.unwrap_or(i64::MAX), room, i64::from(limit) + 1],
            crate::store::message_from_row,
        )?;
        let mut found: Vec<Message> = rows.collect::<Result<_, _>>()?;
        let more = found.len() > limit as usize;
        found.truncate(limit as usize);
        Ok((found, more))
    }
}

pub(crate) fn router(chat: LocalChat) -> Router {
    Router::new().route("/v1/local/search", get(search)).with_state(chat)
}

#[derive(Deserialize)]
struct SearchQuery {
    room: Option<String>,
    q: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
    token: Option<String>,
}

async fn search(State(chat): State<LocalChat>, headers: HeaderMap, Query(query): Query<SearchQuery>) -> Response {
    match run(&chat, &headers, query) {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

fn run(chat: &LocalChat, headers: &HeaderMap, query: SearchQuery) -> Result<serde_json::Value, ApiError> {
    let identity = chat.caller(headers, query.token.as_deref())?;
    let room = query
        .room
        .ok_or_else(|| ApiError::BadRequest("room is missing".into()))?;
    let text = query.q.unwrap_or_default();
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::BadRequest(format!(
            "a search is at most {MAX_QUERY_CHARS} characters"
        )));
    }
    if fts_query(&text).is_none() {
        return Err(ApiError::BadRequest("say what to look for (q)".into()));
    }
    let store = &chat.inner.store;
    let failed = |e: StoreError| {
        tracing::warn!(error = %e, "local search failed");
        ApiError::UpstreamUnavailable("the chat store failed; try again".into())
    };
    if !store.is_member(&identity, &room).map_err(failed)? {
        return Err(ApiError::ContextNotAllowed);
    }
    let limit = query.limit.unwrap_or(20).clamp(1, MAX_RESULTS);
    let (results, more) = store.search(&room, &text, query.before, limit).map_err(failed)?;
    Ok(serde_json::json!({ "room": room, "results": results, "hasMore": more }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_before_the_index_is_indexed_when_opened() {
        let dir = std::env::temp_dir().join(format!("dachat-search-old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("chat.db");
        {
            let store = Store::open(&path).unwrap();
            store.insert("r", "alice", "customs papers", 1, None, None).unwrap();
            // as it was before issue #29: no index, no triggers
            store.drop_search_index().unwrap();
            store.insert("r", "bob", "customs again", 2, None, None).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.search("r", "customs", None, 10).unwrap().0.len(), 2);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn what_people_type_is_never_fts_syntax() {
        assert_eq!(fts_query("customs number").as_deref(), Some("\"customs\" \"number\"*"));
        assert_eq!(fts_query("  pallet  ").as_deref(), Some("\"pallet\"*"));
        assert_eq!(
            fts_query("NOT a OR b NEAR(c) \"d* ^e").as_deref(),
            Some("\"NOT\" \"a\" \"OR\" \"b\" \"NEAR\" \"c\" \"d\" \"e\"*")
        );
        assert_eq!(fts_query("Ελλάδα 港口").as_deref(), Some("\"Ελλάδα\" \"港口\"*"));
        assert_eq!(fts_query(" -*- "), None);
    }

    #[test]
    fn a_room_is_searched_newest_first_and_edits_deletions_and_other_rooms_count() {
        let store = Store::in_memory().unwrap();
        let (first, _) = store
            .insert("r", "alice", "Customs number 4411 for the pallets", 1, None, None)
            .unwrap();
        store.insert("r", "bob", "the truck left", 2, None, None).unwrap();
        let (second, _) = store
            .insert("r", "bob", "customs cleared, número 4411", 3, None, None)
            .unwrap();
        store
            .insert("other", "eve", "customs elsewhere", 4, None, None)
            .unwrap();
        let ids = |found: (Vec<Message>, bool)| found.0.iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.search("r", "customs", None, 10).unwrap()),
            [second.id, first.id]
        );
        assert_eq!(
            ids(store.search("r", "CUSTOMS 44", None, 10).unwrap()),
            [second.id, first.id],
            "prefix, any case"
        );
        assert_eq!(
            ids(store.search("r", "numero", None, 10).unwrap()),
            [second.id],
            "diacritics folded"
        );
        let (page, more) = store.search("r", "customs", None, 1).unwrap();
        assert_eq!((page[0].id, more), (second.id, true));
        assert_eq!(
            ids(store.search("r", "customs", Some(second.id), 1).unwrap()),
            [first.id]
        );
        store.edit("r", first.id, "alice", "the pallets are in", 5).unwrap();
        assert_eq!(
            ids(store.search("r", "customs", None, 10).unwrap()),
            [second.id],
            "an edit re-indexes"
        );
        store.delete("r", second.id, "bob").unwrap();
        assert!(
            ids(store.search("r", "customs", None, 10).unwrap()).is_empty(),
            "deleted: not found"
        );
        assert_eq!(ids(store.search("r", "pallets", None, 10).unwrap()), [first.id]);
    }
}
