//! The host's JWKS, fetched from the configured URL and cached.
//!
//! - Keys are kept for the response's `Cache-Control: max-age`, bounded to
//!   [`JwksPolicy::min_ttl`]..=[`JwksPolicy::max_ttl`] (default when absent).
//! - An unknown `kid` triggers a refetch at most once per
//!   [`JwksPolicy::unknown_kid_interval`] (key rotation at the host).
//! - Concurrent misses share one fetch (a single-flight lock).
//! - A fetch has a timeout and a body size limit.
//! - Keys past their lifetime keep answering for the kids they hold while
//!   one request refreshes them: every other request goes on with the
//!   stale keys rather than wait behind the fetch (a slow host slows one
//!   request per attempt, not all of them).
//! - If a refresh fails, the last good keys keep serving; the next attempt
//!   waits [`JwksPolicy::failure_backoff`], doubling with each failure in a
//!   row up to [`JwksPolicy::max_failure_backoff`] (a host that is down is
//!   asked about once per that much time, not once per request), and a
//!   success starts over.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::clock::{Clock, millis};
use crate::http_client;
use crate::tokens::es256::{KeySet, PublicKey};

/// The largest JWKS body accepted.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct JwksPolicy {
    pub default_ttl: Duration,
    pub min_ttl: Duration,
    pub max_ttl: Duration,
    pub unknown_kid_interval: Duration,
    /// The wait after a failed fetch, doubled for each failure in a row.
    pub failure_backoff: Duration,
    /// The longest wait between attempts while the host keeps failing.
    pub max_failure_backoff: Duration,
    pub timeout: Duration,
}

impl Default for JwksPolicy {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(300),
            min_ttl: Duration::from_secs(30),
            max_ttl: Duration::from_secs(24 * 3600),
            unknown_kid_interval: Duration::from_secs(60),
            failure_backoff: Duration::from_secs(1),
            max_failure_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(3),
        }
    }
}

/// The JWKS could not be fetched and no earlier keys are at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksUnavailable(pub String);

impl std::fmt::Display for JwksUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the host's key set cannot be fetched: {}", self.0)
    }
}

impl std::error::Error for JwksUnavailable {}

#[derive(Debug, Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    /// Unix milliseconds, as the [`Clock`] reads them.
    fresh_until: Option<u64>,
    /// When the last fetch started (any outcome); rate-limits unknown-kid refetches.
    last_attempt: Option<u64>,
    /// Until when a failed fetch is not retried.
    failed_until: Option<u64>,
    /// Fetches failed in a row (the backoff doubles with each).
    failures: u32,
    last_error: Option<String>,
    /// Counts completed fetches, so a waiter can tell that one finished.
    generation: u64,
}

#[derive(Debug)]
pub struct JwksCache {
    /// Where keys come from: a URL and the client to fetch it with, or
    /// nothing for a fixed key set.
    source: Option<(String, reqwest::Client)>,
    policy: JwksPolicy,
    clock: Clock,
    state: RwLock<State>,
    fetch_lock: tokio::sync::Mutex<()>,
}

impl JwksCache {
    pub fn new(url: String, http: reqwest::Client, policy: JwksPolicy, clock: Clock) -> Self {
        Self::with_source(Some((url, http)), policy, clock)
    }

    fn with_source(source: Option<(String, reqwest::Client)>, policy: JwksPolicy, clock: Clock) -> Self {
        Self {
            source,
            policy,
            clock,
            state: RwLock::default(),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// A cache that always holds `keys` and never fetches (the local
    /// server's own dev key, tests).
    pub fn fixed(keys: KeySet) -> Self {
        let cache = Self::with_source(None, JwksPolicy::default(), Clock::system());
        {
            let mut state = cache.write_state();
            state.keys = Some(Arc::new(keys));
            state.fresh_until = None;
        }
        cache
    }

    fn is_fixed(&self) -> bool {
        self.source.is_none()
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The key for `kid`: `Ok(None)` when the host does not publish it
    /// (after at most one rate-limited refetch), `Err` only when no keys
    /// could ever be fetched.
    pub async fn key_for(&self, kid: &str) -> Result<Option<PublicKey>, JwksUnavailable> {
        let now = self.clock.now_ms();
        let (keys, stale, generation) = {
            let state = self.read_state();
            let stale = !self.is_fixed() && state.fresh_until.is_none_or(|t| now >= t);
            (state.keys.clone(), stale, state.generation)
        };
        if let Some(keys) = &keys {
            if !stale {
                if let Some(key) = keys.get(kid) {
                    return Ok(Some(key.clone()));
                }
                if self.is_fixed() || !self.may_refetch_for_unknown_kid(now) {
                    return Ok(None);
                }
            } else if let Some(key) = keys.get(kid) {
                // stale, and the kid is known: refresh unless another
                // request is at it; either way this request does not wait
                // behind someone else's fetch
                let Ok(_guard) = self.fetch_lock.try_lock() else {
                    return Ok(Some(key.clone()));
                };
                let keys = self.refresh_holding_lock(generation).await?;
                // a successful refresh decides: a key the host dropped is gone
                return Ok(keys.get(kid).cloned());
            }
        }
        let keys = self.refresh(generation).await?;
        Ok(keys.get(kid).cloned())
    }

    fn may_refetch_for_unknown_kid(&self, now: u64) -> bool {
        let state = self.read_state();
        state
            .last_attempt
            .is_none_or(|t| now.saturating_sub(t) >= millis(self.policy.unknown_kid_interval))
    }

    /// Fetches unless another caller already completed a fetch since
    /// `seen_generation`; returns the keys to use (possibly the last good ones).
    async fn refresh(&self, seen_generation: u64) -> Result<Arc<KeySet>, JwksUnavailable> {
        let _guard = self.fetch_lock.lock().await;
        self.refresh_holding_lock(seen_generation).await
    }

    /// [`Self::refresh`] for a caller that holds `fetch_lock`.
    async fn refresh_holding_lock(&self, seen_generation: u64) -> Result<Arc<KeySet>, JwksUnavailable> {
        {
            let state = self.read_state();
            let now = self.clock.now_ms();
            let backing_off = state.failed_until.is_some_and(|t| now < t);
            if state.generation != seen_generation || backing_off {
                return match (&state.keys, &state.last_error) {
                    (Some(keys), _) => Ok(keys.clone()),
                    (None, Some(err)) => Err(JwksUnavailable(err.clone())),
                    (None, None) => Err(JwksUnavailable("no fetch has succeeded yet".into())),
                };
            }
        }
        let started = self.clock.now_ms();
        self.write_state().last_attempt = Some(started);
        let result = self.fetch().await;
        let mut state = self.write_state();
        state.generation += 1;
        match result {
            Ok((keys, ttl)) => {
                let keys = Arc::new(keys);
                state.keys = Some(keys.clone());
                state.fresh_until = Some(started.saturating_add(millis(ttl)));
                state.failed_until = None;
                state.failures = 0;
                state.last_error = None;
                Ok(keys)
            }
            Err(err) => {
                tracing::warn!(url = %self.source.as_ref().map_or("", |(url, _)| url.as_str()), error = %err, serving_last_good = state.keys.is_some(), "JWKS fetch failed");
                state.failures = state.failures.saturating_add(1);
                let backoff = self
                    .policy
                    .failure_backoff
                    .saturating_mul(1 << state.failures.saturating_sub(1).min(16))
                    .min(self.policy.max_failure_backoff.max(self.policy.failure_backoff));
                state.failed_until = Some(self.clock.now_ms().saturating_add(millis(backoff)));
                state.last_error = Some(err.clone());
                match &state.keys {
                    Some(keys) => Ok(keys.clone()),
                    None => Err(JwksUnavailable(err)),
                }
            }
        }
    }

    async fn fetch(&self) -> Result<(KeySet, Duration), String> {
        let Some((url, http)) = &self.source else {
            return Err("a fixed key set is never fetched".into());
        };
        let response = http
            .get(url)
            .timeout(self.policy.timeout)
            .send()
            .await
            .map_err(|e| http_client::describe_error(&e))?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status().as_u16()));
        }
        let ttl = cache_ttl(response.headers().get(http::header::CACHE_CONTROL), &self.policy);
        let body = http_client::read_body(response, MAX_JWKS_BYTES).await?;
        let keys = KeySet::from_jwks_json(&body).map_err(|e| e.to_string())?;
        Ok((keys, ttl))
    }
}

/// The cache lifetime from a `Cache-Control` header, bounded by the policy.
fn cache_ttl(header: Option<&http::HeaderValue>, policy: &JwksPolicy) -> Duration {
    let Some(value) = header.and_then(|h| h.to_str().ok()) else {
        return policy.default_ttl;
    };
    let mut ttl = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return policy.min_ttl;
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            ttl = secs.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs);
        }
    }
    ttl.unwrap_or(policy.default_ttl).clamp(policy.min_ttl, policy.max_ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl_of(header: &str) -> u64 {
        cache_ttl(
            Some(&http::HeaderValue::from_str(header).unwrap()),
            &JwksPolicy::default(),
        )
        .as_secs()
    }

    #[test]
    fn cache_control_is_honoured_within_bounds() {
        assert_eq!(ttl_of("public, max-age=600"), 600);
        assert_eq!(ttl_of("max-age=5"), 30);
        assert_eq!(ttl_of("max-age=99999999"), 86400);
        assert_eq!(ttl_of("no-store"), 30);
        assert_eq!(ttl_of("max-age=abc"), 300);
        assert_eq!(ttl_of("public"), 300);
        assert_eq!(cache_ttl(None, &JwksPolicy::default()).as_secs(), 300);
    }
}
