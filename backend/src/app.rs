//! The service's state and its two operations — open a session, renew a
//! token — independent of HTTP. Clients (HTTP, Twilio REST, JWKS) are built
//! here once from [`Settings`] and injected; handlers never build them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{ProviderSettings, Secret, Settings, SettingsError};
use crate::domain::{ContextName, DeviceId, Identity};
use crate::error::ApiError;
use crate::host_jwt::{self, HostClaims, VerifyOptions};
use crate::jwks::{JwksCache, JwksPolicy};
use crate::provision::{ProvisionPolicy, Provisioner};
use crate::twilio_rest::{ConversationsClient, RetryPolicy};
use crate::twilio_token::{AccessToken, Minter};

/// Unix seconds now; tests substitute their own clock.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    })
}

/// A session's answer, before it is rendered as JSON.
#[derive(Debug, Clone)]
pub struct Session {
    pub claims: HostClaims,
    pub context: ContextName,
    pub conversation_sid: String,
    pub token: AccessToken,
    pub provider: protocol::Provider,
}

/// Limits how often one identity may open sessions that cost REST calls.
#[derive(Debug)]
pub struct SessionLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<Identity, (Instant, u32)>>,
}

impl SessionLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::default(),
        }
    }

    /// `Err(seconds to wait)` when the identity is over its limit.
    fn check(&self, identity: &Identity) -> Result<(), u64> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let (start, count) = windows.entry(identity.clone()).or_insert((now, 0));
        let elapsed = now.duration_since(*start);
        if elapsed >= Duration::from_secs(60) {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_minute {
            return Err(60u64.saturating_sub(elapsed.as_secs()).max(1));
        }
        *count += 1;
        Ok(())
    }
}

/// Room membership in the embedded local provider (the `local-chat`
/// crate implements it; the Lambda never has one).
pub trait LocalRooms: Send + Sync {
    /// Admits `identity` to `context`, and removes it from every room not in
    /// `allowed` (revocation). The error is a log-safe description.
    fn admit(&self, identity: &Identity, context: &ContextName, allowed: &[ContextName]) -> Result<(), String>;
}

/// The embedded local provider, as the token service sees it: where
/// membership is recorded, and the secret its access tokens are signed with.
pub struct LocalProvider {
    pub rooms: Arc<dyn LocalRooms>,
    pub secret: Secret,
}

impl std::fmt::Debug for LocalProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalProvider").finish_non_exhaustive()
    }
}

/// Where sessions get their rooms.
enum Rooms {
    Twilio(Box<Provisioner>),
    Local(Arc<dyn LocalRooms>),
}

pub struct AppState {
    pub verify: VerifyOptions,
    pub jwks: JwksCache,
    /// Mints the chat access tokens. With the local provider, tokens have
    /// Twilio's format but are signed with the local provider's secret.
    pub minter: Minter,
    rooms: Rooms,
    pub cors_origins: Vec<String>,
    /// The JWKS document this server publishes itself (local mode with a dev key).
    pub published_jwks: Option<serde_json::Value>,
    pub limiter: SessionLimiter,
    pub clock: Clock,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("minter", &self.minter)
            .finish_non_exhaustive()
    }
}

/// Tunables that are not settings (tests shorten them).
#[derive(Debug, Clone)]
pub struct Policies {
    pub jwks: JwksPolicy,
    pub retry: RetryPolicy,
    pub provision: ProvisionPolicy,
    pub sessions_per_minute: u32,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            jwks: JwksPolicy::default(),
            retry: RetryPolicy::default(),
            provision: ProvisionPolicy::default(),
            sessions_per_minute: 60,
        }
    }
}

/// The one outbound HTTP client (connection pool shared by JWKS and Twilio).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("dachat/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(3))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
}

impl AppState {
    /// Builds every client once. The local provider is required exactly
    /// when the settings name no Twilio service.
    pub fn new(
        settings: &Settings,
        http: reqwest::Client,
        policies: Policies,
        local: Option<LocalProvider>,
    ) -> Result<Self, SettingsError> {
        let jwks = JwksCache::new(settings.jwks_url.clone(), http.clone(), policies.jwks.clone());
        Self::with_jwks(settings, http, policies, jwks, local)
    }

    /// Like [`AppState::new`] with a given key cache (e.g. the local dev key).
    pub fn with_jwks(
        settings: &Settings,
        http: reqwest::Client,
        policies: Policies,
        jwks: JwksCache,
        local: Option<LocalProvider>,
    ) -> Result<Self, SettingsError> {
        let ttl = settings.access_token_ttl;
        let (minter, rooms) = match (&settings.provider, local) {
            (ProviderSettings::Twilio(twilio), _) => (
                Minter::new(
                    &twilio.account_sid,
                    &twilio.api_key_sid,
                    &twilio.api_key_secret,
                    &twilio.chat_service_sid,
                    ttl,
                ),
                Rooms::Twilio(Box::new(Provisioner::new(
                    ConversationsClient::new(http, twilio, policies.retry),
                    policies.provision,
                ))),
            ),
            (ProviderSettings::Local, Some(local)) => {
                let zeros = "0".repeat(32);
                let minter = Minter::new(
                    &format!("AC{zeros}"),
                    &format!("SK{zeros}"),
                    &local.secret,
                    &format!("IS{zeros}"),
                    ttl,
                );
                (minter, Rooms::Local(local.rooms))
            }
            (ProviderSettings::Local, None) => {
                return Err(SettingsError {
                    name: crate::config::TWILIO_ACCOUNT_SID.env.to_owned(),
                    problem: "is missing: without Twilio settings only the local server, with its embedded chat provider, can run".into(),
                });
            }
        };
        Ok(Self {
            verify: settings.verify.clone(),
            jwks,
            minter,
            rooms,
            cors_origins: settings.cors_origins.clone(),
            published_jwks: None,
            limiter: SessionLimiter::new(policies.sessions_per_minute),
            clock: system_clock(),
        })
    }

    /// Verifies a host token: form and header, key by `kid`, signature, claims.
    pub async fn verify_host_token(&self, token: &str) -> Result<HostClaims, ApiError> {
        let unverified = host_jwt::parse(token)?;
        let key = self
            .jwks
            .key_for(unverified.kid())
            .await?
            .ok_or(host_jwt::HostTokenError::UnknownKid)?;
        Ok(unverified.verify(&key, &self.verify, (self.clock)())?)
    }

    /// `POST /v1/session`: verify, check the context, provision, mint.
    pub async fn open_session(&self, token: &str, context: &str, device: Option<&str>) -> Result<Session, ApiError> {
        let context = ContextName::parse(context).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let device = parse_device(device)?;
        let claims = self.verify_host_token(token).await?;
        if !claims.allows(&context) {
            return Err(ApiError::ContextNotAllowed);
        }
        let (conversation_sid, provider) = match &self.rooms {
            Rooms::Twilio(provisioner) => {
                let sid = match provisioner.remembered(&claims.identity, &context) {
                    Some(sid) => sid,
                    None => {
                        // Only sessions that cost REST calls count against the limit.
                        self.limiter
                            .check(&claims.identity)
                            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
                        provisioner.ensure(&claims.identity, &context).await?
                    }
                };
                provisioner.revoke_if_due(&claims.identity, &claims.contexts).await;
                (sid, protocol::Provider::Twilio)
            }
            Rooms::Local(rooms) => {
                rooms
                    .admit(&claims.identity, &context, &claims.contexts)
                    .map_err(ApiError::UpstreamUnavailable)?;
                (context.as_str().to_owned(), protocol::Provider::Local)
            }
        };
        let token = self.minter.mint(&claims.identity, &device, (self.clock)());
        Ok(Session {
            claims,
            context,
            conversation_sid,
            token,
            provider,
        })
    }

    /// `POST /v1/token`: verify and mint only.
    pub async fn renew_token(&self, token: &str, device: Option<&str>) -> Result<AccessToken, ApiError> {
        let device = parse_device(device)?;
        let claims = self.verify_host_token(token).await?;
        Ok(self.minter.mint(&claims.identity, &device, (self.clock)()))
    }
}

fn parse_device(device: Option<&str>) -> Result<DeviceId, ApiError> {
    match device {
        None => Ok(DeviceId::web()),
        Some(d) => DeviceId::parse(d).map_err(|e| ApiError::BadRequest(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_per_identity() {
        let limiter = SessionLimiter::new(2);
        let alice = Identity::parse("alice").unwrap();
        let bob = Identity::parse("bob").unwrap();
        assert!(limiter.check(&alice).is_ok());
        assert!(limiter.check(&alice).is_ok());
        let wait = limiter.check(&alice).unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(limiter.check(&bob).is_ok());
    }
}
