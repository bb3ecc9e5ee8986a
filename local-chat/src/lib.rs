//! The embedded local chat provider: what stands in for Twilio when the
//! local server runs without a cloud account.
//!
//! - `/v1/session` (in `backend`) admits a user to a room through
//!   [`LocalRooms`] and answers with an access token signed with this
//!   provider's secret;
//! - the widget connects to `GET /v1/local/ws?token=<accessToken>` and
//!   speaks the frames of `protocol::local`;
//! - everything is stored in SQLite ([`store`]), fanned out by [`hub`].
//!
//! Used by the local server only; the Lambda never links this crate.

pub mod hub;
pub mod store;
mod ws;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use dachat_backend::app::{LocalProvider, LocalRooms};
use dachat_backend::config::Secret;
use dachat_backend::domain::{ContextName, Identity};

use crate::hub::Hub;
use crate::store::Store;

/// The provider: its store, its live connections, and its token secret.
#[derive(Debug, Clone)]
pub struct LocalChat {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    hub: Hub,
    secret: Secret,
}

impl LocalChat {
    /// Opens (or creates) the database at `path`. A fresh token secret is
    /// made per process, so tokens of an earlier run stop working.
    pub fn open(path: &Path) -> Result<Self, store::StoreError> {
        Ok(Self::with_store(Store::open(path)?))
    }

    pub fn in_memory() -> Result<Self, store::StoreError> {
        Ok(Self::with_store(Store::in_memory()?))
    }

    fn with_store(store: Store) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                hub: Hub::default(),
                secret: random_secret(),
            }),
        }
    }

    /// What the token service needs: where to admit users, and the secret.
    pub fn provider(&self) -> LocalProvider {
        LocalProvider {
            rooms: Arc::new(self.clone()),
            secret: self.inner.secret.clone(),
        }
    }

    /// The WebSocket route, to merge into the local server's router.
    pub fn router(&self) -> Router {
        ws::router(self.clone())
    }
}

impl LocalRooms for LocalChat {
    fn admit(&self, identity: &Identity, context: &ContextName, allowed: &[ContextName]) -> Result<(), String> {
        let allowed: Vec<&str> = allowed.iter().map(ContextName::as_str).collect();
        let revoked = self
            .inner
            .store
            .admit(identity.as_str(), context.as_str(), &allowed)
            .map_err(|e| e.to_string())?;
        for room in revoked {
            // open connections lose the room at once
            self.inner.hub.kick_identity(&room, identity.as_str());
        }
        Ok(())
    }
}

fn random_secret() -> Secret {
    let mut bytes = [0u8; 32];
    // SystemRandom fails only without OS randomness, when nothing else works either.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
