//! Attachments of the local provider (issue #31): an upload endpoint
//! authorised by the chat access token, the bytes stored once per SHA-256
//! under `<data>/files/`, their metadata in the chat's SQLite (`files`),
//! and a download endpoint that serves a file only to members of its room,
//! with headers that keep a browser from running anything in it.
//!
//! - `POST /v1/local/files?room=R&name=N` (body: the file; `Content-Type`:
//!   its type; `Authorization: Bearer <accessToken>`) → 201 and the
//!   attachment (`{id, name, contentType, size}`). Refused, before a byte
//!   is kept: a type the operator does not allow (415 `type_not_allowed`),
//!   first bytes that do not match the type (415 `type_mismatch`), more
//!   than the largest file (413 `too_large`), over the user's quota (413
//!   `quota_exceeded`), an empty file (400 `empty_file`), a room the user
//!   is not in (403 `not_a_member`). An upload cut off half way leaves
//!   nothing: the bytes go to `files/tmp/` and are moved into place only
//!   when complete and checked.
//! - The file is then sent with a `send` frame (`attachment: id`); until
//!   then only its owner can fetch or delete it, and one not sent within
//!   [`UNSENT_TTL_MS`] is removed.
//! - `GET /v1/local/files/{id}` (the token as `Authorization: Bearer` or
//!   `?token=`, as the WebSocket takes it, so an `<img>` can load it):
//!   404 unless the file was sent to a room the user is in (or is their
//!   own unsent upload); streamed from disk, with byte ranges (`Range`,
//!   206), so a voice message's player can seek.
//! - `DELETE /v1/local/files/{id}`: the owner takes back an unsent upload.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use backend::api::ApiQuery;
use backend::api::error::{ApiError, FileRefusal};
use backend::config::AttachmentSettings;
use futures_util::StreamExt as _;
use protocol::files::{HEAD_BYTES, clean_name, head_matches, human_size, is_image};
use protocol::local::Attachment;
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;
use tower::ServiceExt as _;
use tower_http::services::ServeFile;

use crate::LocalChat;
use crate::store::StoreError;

/// How long an upload may wait to be sent before it is removed (ms).
pub const UNSENT_TTL_MS: i64 = 24 * 3600 * 1000;

/// Where files are kept and what may be stored.
#[derive(Debug, Clone)]
pub struct FileOptions {
    /// `<data>/files`; files are named by their SHA-256, uploads in
    /// progress live in `tmp/` below it.
    pub dir: PathBuf,
    pub settings: AttachmentSettings,
}

pub(crate) fn router(chat: LocalChat) -> Router {
    Router::new()
        .route("/v1/local/files", post(upload))
        .route("/v1/local/files/{id}", get(download).delete(remove))
        .with_state(chat)
}

fn store_failed(e: &StoreError) -> ApiError {
    tracing::warn!(error = %e, "local file store failed");
    ApiError::UpstreamUnavailable("the chat store failed; try again".into())
}

fn disk_failed(e: &std::io::Error) -> ApiError {
    tracing::warn!(error = %e, "local file store: disk");
    ApiError::UpstreamUnavailable("the file store failed; try again".into())
}

#[derive(Deserialize)]
struct UploadQuery {
    room: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl LocalChat {
    /// The identity a request's chat token names (bearer header, else `?token=`).
    pub(crate) fn caller(&self, headers: &HeaderMap, query: Option<&str>) -> Result<String, ApiError> {
        backend::api::bearer_token(headers)
            .or(query)
            .and_then(|t| self.inner.tokens.verify(t, self.inner.clock.now_secs()))
            .map(|identity| identity.as_str().to_owned())
            .ok_or_else(|| {
                ApiError::InvalidToken("the chat token is missing, invalid or expired; open a new session".into())
            })
    }

    fn files(&self) -> Result<&FileOptions, ApiError> {
        match &self.inner.files {
            Some(files) if !files.settings.types.is_empty() => Ok(files),
            _ => Err(ApiError::File(FileRefusal::Off)),
        }
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.inner.clock.now_ms()).unwrap_or(i64::MAX)
    }

    /// Removes the bytes of `sha256` from disk (nothing refers to them any more).
    pub(crate) fn unlink(&self, sha256: &str) {
        if let Some(files) = &self.inner.files
            && let Err(e) = std::fs::remove_file(files.dir.join(sha256))
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, "could not remove a file");
        }
    }

    /// Removes uploads never sent within [`UNSENT_TTL_MS`] (run before each upload).
    fn sweep_unsent(&self) {
        match unsent_before(&self.inner.store, self.now_ms() - UNSENT_TTL_MS) {
            Ok(unused) => unused.iter().for_each(|sha| self.unlink(sha)),
            Err(e) => tracing::warn!(error = %e, "could not sweep unsent uploads"),
        }
    }
}

/// A file being received into `tmp/`; removed unless [`Incoming::keep`]
/// moved it into place, also when the request is dropped half way.
struct Incoming {
    path: PathBuf,
    kept: bool,
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Incoming {
    /// Moves the complete file to `dir/<sha256>` (already there: the same bytes).
    fn keep(mut self, dir: &Path, sha256: &str) -> std::io::Result<()> {
        let target = dir.join(sha256);
        if !target.exists() {
            std::fs::rename(&self.path, &target)?;
            self.kept = true;
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    hex(&bytes)
}

async fn upload(
    State(chat): State<LocalChat>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let identity = chat.caller(&headers, None)?;
    let files = chat.files()?;
    let settings = &files.settings;
    let room = query
        .room
        .ok_or_else(|| ApiError::BadRequest("say which room the file is for (?room=)".into()))?;
    if !chat
        .inner
        .store
        .is_member(&identity, &room)
        .map_err(|e| store_failed(&e))?
    {
        return Err(ApiError::File(FileRefusal::NotAMember));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !settings.allows(&content_type) {
        return Err(ApiError::File(FileRefusal::TypeNotAllowed {
            allowed: settings.types.join(", "),
        }));
    }
    let too_large = || {
        ApiError::File(FileRefusal::TooLarge {
            max: human_size(settings.max_bytes),
        })
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > settings.max_bytes) {
        return Err(too_large());
    }
    chat.sweep_unsent();
    let used = usage(&chat.inner.store, &identity).map_err(|e| store_failed(&e))?;
    let over_quota = |size: u64| {
        (used + size > settings.quota_bytes).then(|| {
            ApiError::File(FileRefusal::QuotaExceeded {
                used: human_size(used),
                quota: human_size(settings.quota_bytes),
            })
        })
    };
    if let Some(e) = over_quota(declared.unwrap_or(0)) {
        return Err(e);
    }

    let tmp = files.dir.join("tmp");
    tokio::fs::create_dir_all(&tmp).await.map_err(|e| disk_failed(&e))?;
    let incoming = Incoming {
        path: tmp.join(random_id()),
        kept: false,
    };
    let mut out = tokio::fs::File::create(&incoming.path)
        .await
        .map_err(|e| disk_failed(&e))?;
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut head: Vec<u8> = Vec::with_capacity(HEAD_BYTES);
    let mut size: u64 = 0;
    let mismatch = || {
        ApiError::File(FileRefusal::TypeMismatch {
            declared: content_type.clone(),
        })
    };
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest("the upload was cut off; nothing was kept".into()))?;
        size += chunk.len() as u64;
        if size > settings.max_bytes {
            return Err(too_large());
        }
        if head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() == HEAD_BYTES && !head_matches(&content_type, &head) {
                return Err(mismatch());
            }
        }
        digest.update(&chunk);
        out.write_all(&chunk).await.map_err(|e| disk_failed(&e))?;
    }
    if size == 0 {
        return Err(ApiError::File(FileRefusal::Empty));
    }
    if !head_matches(&content_type, &head) {
        return Err(mismatch());
    }
    if let Some(e) = over_quota(size) {
        return Err(e);
    }
    out.sync_all().await.map_err(|e| disk_failed(&e))?;
    drop(out);
    let sha256 = hex(digest.finish().as_ref());
    let attachment = Attachment {
        id: random_id(),
        name: clean_name(query.name.as_deref().unwrap_or(""), &content_type),
        content_type,
        size,
    };
    // the bytes first: a crash between the two leaves bytes no row names
    // (a later upload of the same bytes reuses them), never a row without bytes
    incoming.keep(&files.dir, &sha256).map_err(|e| disk_failed(&e))?;
    record(&chat.inner.store, &attachment, &room, &identity, &sha256, chat.now_ms()).map_err(|e| store_failed(&e))?;
    Ok((StatusCode::CREATED, Json(attachment)).into_response())
}

async fn download(
    State(chat): State<LocalChat>,
    UrlPath(id): UrlPath<String>,
    ApiQuery(query): ApiQuery<TokenQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let identity = chat.caller(&headers, query.token.as_deref())?;
    let files = chat.files()?;
    let Some(file) = readable(&chat, &id, &identity)? else {
        return Err(ApiError::NotFound);
    };
    // streamed from disk, with byte ranges (a voice message's player seeks)
    let mut served = Request::new(Body::empty());
    if let Some(range) = headers.get(header::RANGE) {
        served.headers_mut().insert(header::RANGE, range.clone());
    }
    let Ok(served) = ServeFile::new(files.dir.join(&file.sha256)).oneshot(served).await;
    if served.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::NotFound);
    }
    if served.status().is_server_error() {
        tracing::warn!(status = %served.status(), "local file store: a file could not be read");
        return Err(ApiError::UpstreamUnavailable("the file store failed; try again".into()));
    }
    let (mut parts, body) = served.into_parts();
    let disposition = if is_image(&file.attachment.content_type) {
        "inline"
    } else {
        "attachment"
    };
    let ascii: String = file
        .attachment
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = file
        .attachment
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let header_value = |v: String| HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("attachment"));
    let h = &mut parts.headers;
    // the file system's guesses and validators are not ours to give out
    h.remove(header::LAST_MODIFIED);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&file.attachment.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        header_value(format!(
            "{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
        )),
    );
    // a shared device must not keep another person's photos in its cache
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(Response::from_parts(parts, Body::new(body)))
}

async fn remove(
    State(chat): State<LocalChat>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let identity = chat.caller(&headers, None)?;
    chat.files()?;
    match take_back(&chat.inner.store, &id, &identity).map_err(|e| store_failed(&e))? {
        TakeBack::Removed(unused) => {
            if let Some(sha) = unused {
                chat.unlink(&sha);
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        TakeBack::Sent => Err(ApiError::File(FileRefusal::AlreadySent)),
        TakeBack::NotFound => Err(ApiError::NotFound),
    }
}

/// A stored file's row.
struct Stored {
    attachment: Attachment,
    sha256: String,
}

/// The file `id` if `identity` may read it: sent to a room they are in, or
/// their own upload.
fn readable(chat: &LocalChat, id: &str, identity: &str) -> Result<Option<Stored>, ApiError> {
    let store = &chat.inner.store;
    let row = store
        .db()
        .query_row(
            "SELECT fid, fname, ftype, fsize, sha256, froom, owner, message FROM files WHERE fid = ?1",
            params![id],
            |r| {
                Ok((
                    Stored {
                        attachment: Attachment {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            content_type: r.get(2)?,
                            size: r.get(3)?,
                        },
                        sha256: r.get(4)?,
                    },
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                ))
            },
        )
        .optional()
        .map_err(|e| store_failed(&e.into()))?;
    let Some((file, room, owner, message)) = row else {
        return Ok(None);
    };
    let allowed = if message.is_some() {
        store.is_member(identity, &room).map_err(|e| store_failed(&e))?
    } else {
        owner == identity
    };
    Ok(allowed.then_some(file))
}

fn record(
    store: &crate::store::Store,
    file: &Attachment,
    room: &str,
    owner: &str,
    sha256: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    store.db().execute(
        "INSERT INTO files (fid, froom, owner, fname, ftype, fsize, sha256, uploaded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![file.id, room, owner, file.name, file.content_type, file.size, sha256, now_ms],
    )?;
    Ok(())
}

/// The bytes `owner`'s files take (each upload counted, sent or not).
fn usage(store: &crate::store::Store, owner: &str) -> Result<u64, StoreError> {
    Ok(store.db().query_row(
        "SELECT COALESCE(SUM(fsize), 0) FROM files WHERE owner = ?1",
        params![owner],
        |r| r.get(0),
    )?)
}

enum TakeBack {
    Removed(Option<String>),
    Sent,
    NotFound,
}

fn take_back(store: &crate::store::Store, file: &str, owner: &str) -> Result<TakeBack, StoreError> {
    let mut db = store.db();
    let tx = db.transaction()?;
    let row: Option<Option<i64>> = tx
        .query_row(
            "SELECT message FROM files WHERE fid = ?1 AND owner = ?2",
            params![file, owner],
            |r| r.get(0),
        )
        .optional()?;
    let outcome = match row {
        None => TakeBack::NotFound,
        Some(Some(_)) => TakeBack::Sent,
        Some(None) => TakeBack::Removed(crate::store::forget(&tx, file)?),
    };
    tx.commit()?;
    Ok(outcome)
}

/// Removes the rows of uploads older than `before_ms` that were never sent;
/// the SHA-256s no row refers to any more.
fn unsent_before(store: &crate::store::Store, before_ms: i64) -> Result<Vec<String>, StoreError> {
    let mut db = store.db();
    let tx = db.transaction()?;
    let stale: Vec<String> = tx
        .prepare("SELECT fid FROM files WHERE message IS NULL AND uploaded_at < ?1")?
        .query_map(params![before_ms], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut unused = Vec::new();
    for fid in stale {
        unused.extend(crate::store::forget(&tx, &fid)?);
    }
    tx.commit()?;
    Ok(unused)
}
