//! The service's state and its two operations — open a session, renew a
//! token — independent of HTTP. Clients (HTTP, Twilio REST, JWKS) are built
//! here once from [`Settings`] and injected; handlers never build them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{ProviderSettings, Secret, Settings};
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

pub struct AppState {
    pub verify: VerifyOptions,
    pub jwks: JwksCache,
    /// Mints the chat access tokens. With the local provider, tokens have
    /// Twilio's format but are signed with a secret only this process knows.
    pub minter: Minter,
    /// Twilio provisioning; `None` when the embedded local provider is used.
    pub provisioner: Option<Provisioner>,
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

/// A fresh random secret for the local provider's tokens.
fn random_secret() -> Secret {
    let mut bytes = [0u8; 32];
    // SystemRandom fails only if the OS has no randomness, which would
    // make every other key operation fail too.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl AppState {
    pub fn new(settings: &Settings, http: reqwest::Client, policies: Policies) -> Self {
        let jwks = JwksCache::new(settings.jwks_url.clone(), http.clone(), policies.jwks.clone());
        Self::with_jwks(settings, http, policies, jwks)
    }

    /// Like [`AppState::new`] with a given key cache (e.g. the local dev key).
    pub fn with_jwks(settings: &Settings, http: reqwest::Client, policies: Policies, jwks: JwksCache) -> Self {
        let (minter, provisioner) = match &settings.provider {
            ProviderSettings::Twilio(twilio) => (
                Minter::new(
                    &twilio.account_sid,
                    &twilio.api_key_sid,
                    &twilio.api_key_secret,
                    &twilio.chat_service_sid,
                    settings.access_token_ttl,
                ),
                Some(Provisioner::new(
                    ConversationsClient::new(http, twilio, policies.retry),
                    policies.provision,
                )),
            ),
            ProviderSettings::Local => (
                Minter::new(
                    &format!("AC{}", "0".repeat(32)),
                    &format!("SK{}", "0".repeat(32)),
                    &random_secret(),
                    &format!("IS{}", "0".repeat(32)),
                    settings.access_token_ttl,
                ),
                None,
            ),
        };
        Self {
            verify: settings.verify.clone(),
            jwks,
            minter,
            provisioner,
            cors_origins: settings.cors_origins.clone(),
            published_jwks: None,
            limiter: SessionLimiter::new(policies.sessions_per_minute),
            clock: system_clock(),
        }
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
        let (conversation_sid, provider) = match &self.provisioner {
            Some(provisioner) => {
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
            None => (context.as_str().to_owned(), protocol::Provider::Local),
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
