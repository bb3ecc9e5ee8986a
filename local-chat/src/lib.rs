//! The embedded local chat provider: what stands in for Twilio when the
//! local server runs without a cloud account.
//!
//! - `/v1/session` (in `backend`) grants a user a room through
//!   [`LocalRooms`] and answers with a local access token
//!   (`backend::tokens::local_token`) signed with this provider's key;
//! - the widget connects to `GET /v1/local/ws?token=<accessToken>` and
//!   speaks the frames of `protocol::local`;
//! - everything is stored in SQLite ([`store`]), fanned out by [`hub`];
//! - attachments are uploaded to and fetched from `/v1/local/files`
//!   ([`files`]), their bytes in the data folder;
//! - the notifications' storage in local mode ([`notify_sqlite`]), and what
//!   the notifier reads of this provider ([`notify_view`]: members, unread
//!   counts, presence) and hears from it ([`LocalChat::message_events`]);
//! - search of a room's history (SQLite FTS5, [`search`]);
//! - moderation: moderators named by the host token, mutes, reports and
//!   the record of moderator actions ([`moderation`]);
//! - what is kept about one person, for `dachat forget` ([`forget`]), and
//!   messages past their room's retention deleted ([`retention`]);
//! - and one thing for the local server on Twilio: the last aligned room
//!   sets, shared by every process on the data folder ([`aligned_sqlite`]).
//!
//! Used by the local server only; the Lambda never links this crate.

pub mod aligned_sqlite;
pub mod files;
pub mod forget;
pub mod hub;
pub mod moderation;
pub mod notify_sqlite;
pub mod notify_view;
pub mod retention;
pub mod search;
pub mod store;
mod ws;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use backend::app::{LocalProvider, LocalRooms};
use backend::clock::Clock;
use backend::domain::{ContextName, Identity};
use backend::secret::Secret;
use backend::tokens::local_token::LocalTokenKey;

use crate::hub::Hub;
use crate::store::Store;

/// The provider: its store, its live connections, its token key and clock.
#[derive(Debug, Clone)]
pub struct LocalChat {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    hub: Hub,
    tokens: LocalTokenKey,
    clock: Clock,
    /// Where attachments are kept; `None`: attachments are off.
    files: Option<files::FileOptions>,
    /// Per identity: open connections, and when the last one closed (s).
    presence: Mutex<HashMap<String, (u32, u64)>>,
    /// Where new messages are announced, once someone listens.
    events: OnceLock<tokio::sync::mpsc::UnboundedSender<MessageEvent>>,
    /// Where reports are announced (the operator's e-mail), once someone listens.
    reports: OnceLock<tokio::sync::mpsc::UnboundedSender<protocol::moderation::Report>>,
}

/// A message was stored (not an edit, not a resend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEvent {
    pub room: String,
    pub author: String,
    /// Unix seconds.
    pub at: u64,
}

impl LocalChat {
    /// Opens (or creates) the database at `path`, with attachments kept as
    /// `files` says. A fresh token secret is made per process, so tokens of
    /// an earlier run stop working.
    pub fn open(path: &Path, clock: Clock, files: Option<files::FileOptions>) -> Result<Self, store::StoreError> {
        Self::with_store(Store::open(path)?, clock, files)
    }

    /// A provider that forgets everything when dropped; no attachments.
    pub fn in_memory(clock: Clock) -> Result<Self, store::StoreError> {
        Self::with_store(Store::in_memory()?, clock, None)
    }

    fn with_store(store: Store, clock: Clock, files: Option<files::FileOptions>) -> Result<Self, store::StoreError> {
        let tokens = LocalTokenKey::new(&random_secret()).map_err(|e| store::StoreError::Setup(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                hub: Hub::default(),
                tokens,
                clock,
                files,
                presence: Mutex::new(HashMap::new()),
                events: OnceLock::new(),
                reports: OnceLock::new(),
            }),
        })
    }

    /// What the token service needs: where to grant rooms, and the token key.
    pub fn provider(&self) -> LocalProvider {
        LocalProvider {
            rooms: Arc::new(self.clone()),
            tokens: self.inner.tokens.clone(),
        }
    }

    /// New messages from now on (the notifier's feed). Only the first
    /// caller gets them; later calls get a receiver that never yields.
    pub fn message_events(&self) -> tokio::sync::mpsc::UnboundedReceiver<MessageEvent> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        if self.inner.events.set(tx).is_err() {
            tracing::warn!("message events are already taken");
        }
        rx
    }

    /// Every report made from now on (for the operator's e-mail); once.
    pub fn report_events(&self) -> tokio::sync::mpsc::UnboundedReceiver<protocol::moderation::Report> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        if self.inner.reports.set(tx).is_err() {
            tracing::warn!("report events are already taken");
        }
        rx
    }

    fn reported(&self, report: protocol::moderation::Report) {
        if let Some(reports) = self.inner.reports.get() {
            let _ = reports.send(report);
        }
    }

    fn announce(&self, event: MessageEvent) {
        if let Some(events) = self.inner.events.get() {
            let _ = events.send(event);
        }
    }

    /// A connection of `identity` opened (`true`) or closed.
    fn connected(&self, identity: &str, open: bool) {
        let now = self.inner.clock.now_secs();
        let mut presence = self.inner.presence.lock().unwrap_or_else(|p| p.into_inner());
        let entry = presence.entry(identity.to_owned()).or_insert((0, now));
        if open {
            entry.0 += 1;
        } else {
            entry.0 = entry.0.saturating_sub(1);
        }
        entry.1 = now;
    }

    /// Whether `identity` has a connection open, and when one last closed.
    fn presence_of(&self, identity: &str) -> (bool, Option<u64>) {
        let presence = self.inner.presence.lock().unwrap_or_else(|p| p.into_inner());
        presence
            .get(identity)
            .map_or((false, None), |&(open, seen)| (open > 0, Some(seen)))
    }

    /// The WebSocket and file routes, to merge into the local server's router.
    pub fn router(&self) -> Router {
        ws::router(self.clone())
            .merge(files::router(self.clone()))
            .merge(search::router(self.clone()))
    }
}

impl LocalRooms for LocalChat {
    fn grant(&self, identity: &Identity, context: &ContextName, allowed: &[ContextName]) -> Result<(), String> {
        let allowed: Vec<&str> = allowed.iter().map(ContextName::as_str).collect();
        let revoked = self
            .inner
            .store
            .grant(identity.as_str(), context.as_str(), &allowed)
            .map_err(|e| e.to_string())?;
        self.kick(identity, revoked);
        Ok(())
    }

    fn revoke_except(&self, identity: &Identity, allowed: &[ContextName]) -> Result<(), String> {
        let allowed: Vec<&str> = allowed.iter().map(ContextName::as_str).collect();
        let revoked = self
            .inner
            .store
            .revoke_except(identity.as_str(), &allowed)
            .map_err(|e| e.to_string())?;
        self.kick(identity, revoked);
        Ok(())
    }

    fn moderate(&self, identity: &Identity, rooms: &[ContextName]) -> Result<(), String> {
        let rooms: Vec<&str> = rooms.iter().map(ContextName::as_str).collect();
        self.inner
            .store
            .set_moderated(identity.as_str(), &rooms)
            .map_err(|e| e.to_string())
    }
}

impl LocalChat {
    /// Open connections lose revoked rooms at once.
    fn kick(&self, identity: &Identity, revoked: Vec<String>) {
        for room in revoked {
            self.inner.hub.kick_identity(&room, identity.as_str());
        }
    }
}

fn random_secret() -> Secret {
    let mut bytes = [0u8; 32];
    // SystemRandom fails only without OS randomness, when nothing else works either.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
