//! Provisioning: before a session is answered, make sure the Twilio user,
//! the conversation whose unique name is the context, and the user's
//! participation exist; and take away participations whose context is no
//! longer in the user's token (revocation).
//!
//! - Get-or-create with "already exists" treated as success, so two first
//!   sessions for the same new context at once both succeed.
//! - What has been provisioned is remembered in memory (bounded), so a
//!   repeat session makes no REST call at all.
//! - Revocation lists the user's participations once per identity per
//!   [`ProvisionPolicy::revocation_interval`]; a failure is logged and
//!   retried on the next session rather than failing this one.
//! - Sessions that cost REST calls are limited per identity
//!   ([`ProvisionPolicy::sessions_per_minute`]); remembered ones are free.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::{Clock, millis};
use crate::domain::{ContextName, Identity};
use crate::twilio_rest::{ConversationsClient, RestError};

#[derive(Debug, Clone)]
pub struct ProvisionPolicy {
    pub revocation_interval: Duration,
    /// Cache entries kept before the cache is cleared and refilled.
    pub max_cached: usize,
    /// Sessions per identity per minute that may cost REST calls.
    pub sessions_per_minute: u32,
}

impl Default for ProvisionPolicy {
    fn default() -> Self {
        Self {
            revocation_interval: Duration::from_secs(300),
            max_cached: 100_000,
            sessions_per_minute: 60,
        }
    }
}

/// Why a session could not be provisioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionError {
    /// The identity opened too many sessions that cost REST calls.
    RateLimited {
        retry_after_secs: u64,
    },
    Rest(RestError),
}

impl From<RestError> for ProvisionError {
    fn from(e: RestError) -> Self {
        Self::Rest(e)
    }
}

/// Limits how often one identity may open sessions that cost REST calls:
/// a fixed one-minute window per identity.
#[derive(Debug)]
struct SessionLimiter {
    per_minute: u32,
    /// Window start (Unix ms) and count, by identity.
    windows: Mutex<HashMap<Identity, (u64, u32)>>,
}

const WINDOW_MS: u64 = 60_000;

impl SessionLimiter {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::default(),
        }
    }

    /// `Err(seconds to wait)` when the identity is over its limit.
    fn check(&self, identity: &Identity, now: u64) -> Result<(), u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= 100_000 {
            windows.retain(|_, (start, _)| now.saturating_sub(*start) < WINDOW_MS);
        }
        let (start, count) = windows.entry(identity.clone()).or_insert((now, 0));
        let elapsed = now.saturating_sub(*start);
        if elapsed >= WINDOW_MS {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_minute {
            return Err((WINDOW_MS - elapsed).div_ceil(1000).max(1));
        }
        *count += 1;
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Memory {
    users: HashSet<Identity>,
    conversations: HashMap<ContextName, String>,
    /// Contexts each identity is known to take part in.
    participations: HashMap<Identity, HashSet<ContextName>>,
    /// When revocation last ran for an identity (Unix ms).
    revoked_at: HashMap<Identity, u64>,
}

impl Memory {
    /// Keeps memory bounded: a full map is simply cleared (everything in it
    /// can be re-learned from Twilio).
    fn make_room(&mut self, max: usize) {
        if self.users.len() >= max {
            self.users.clear();
        }
        if self.conversations.len() >= max {
            self.conversations.clear();
        }
        if self.participations.len() >= max {
            self.participations.clear();
        }
        if self.revoked_at.len() >= max {
            self.revoked_at.clear();
        }
    }
}

#[derive(Debug)]
pub struct Provisioner {
    rest: ConversationsClient,
    policy: ProvisionPolicy,
    limiter: SessionLimiter,
    clock: Clock,
    memory: Mutex<Memory>,
}

impl Provisioner {
    pub fn new(rest: ConversationsClient, policy: ProvisionPolicy, clock: Clock) -> Self {
        Self {
            rest,
            limiter: SessionLimiter::new(policy.sessions_per_minute),
            policy,
            clock,
            memory: Mutex::default(),
        }
    }

    /// What a session needs before it is answered: `identity` takes part in
    /// the conversation for `context` (its SID is returned), and, when due,
    /// loses the participations `allowed` no longer lists.
    pub async fn session(
        &self,
        identity: &Identity,
        context: &ContextName,
        allowed: &[ContextName],
    ) -> Result<String, ProvisionError> {
        let sid = match self.remembered(identity, context) {
            Some(sid) => sid,
            None => {
                // Only sessions that cost REST calls count against the limit.
                self.limiter
                    .check(identity, self.clock.now_ms())
                    .map_err(|retry_after_secs| ProvisionError::RateLimited { retry_after_secs })?;
                self.ensure(identity, context).await?
            }
        };
        self.revoke_if_due(identity, allowed).await;
        Ok(sid)
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The conversation SID, if this participation is already known to exist.
    pub fn remembered(&self, identity: &Identity, context: &ContextName) -> Option<String> {
        let memory = self.memory();
        let known = memory
            .participations
            .get(identity)
            .is_some_and(|contexts| contexts.contains(context));
        if known {
            memory.conversations.get(context).cloned()
        } else {
            None
        }
    }

    /// Ensures `identity` takes part in the conversation for `context` and
    /// returns the conversation's SID.
    pub async fn ensure(&self, identity: &Identity, context: &ContextName) -> Result<String, RestError> {
        if let Some(sid) = self.remembered(identity, context) {
            return Ok(sid);
        }
        let (known_user, known_sid) = {
            let memory = self.memory();
            (
                memory.users.contains(identity),
                memory.conversations.get(context).cloned(),
            )
        };
        if !known_user {
            self.rest.ensure_user(identity).await?;
        }
        let sid = match known_sid {
            Some(sid) => sid,
            None => self.rest.ensure_conversation(context).await?.sid,
        };
        self.rest.ensure_participant(&sid, identity).await?;
        let mut memory = self.memory();
        memory.make_room(self.policy.max_cached);
        memory.users.insert(identity.clone());
        memory.conversations.insert(context.clone(), sid.clone());
        memory
            .participations
            .entry(identity.clone())
            .or_default()
            .insert(context.clone());
        Ok(sid)
    }

    /// Runs [`Provisioner::revoke`] if it has not run for `identity` within
    /// the revocation interval.
    pub async fn revoke_if_due(&self, identity: &Identity, allowed: &[ContextName]) {
        let now = self.clock.now_ms();
        {
            let mut memory = self.memory();
            if memory
                .revoked_at
                .get(identity)
                .is_some_and(|t| now.saturating_sub(*t) < millis(self.policy.revocation_interval))
            {
                return;
            }
            // Claim the slot before the calls, so concurrent sessions of the
            // same user do not revoke twice; a failure gives it back.
            memory.make_room(self.policy.max_cached);
            memory.revoked_at.insert(identity.clone(), now);
        }
        if let Err(err) = self.revoke(identity, allowed).await {
            tracing::warn!(%identity, error = %err, "revocation failed; retried on the next session");
            self.memory().revoked_at.remove(identity);
        }
    }

    /// Removes `identity` from every service conversation whose unique name
    /// is a context name not in `allowed`. Returns how many participations were removed.
    pub async fn revoke(&self, identity: &Identity, allowed: &[ContextName]) -> Result<usize, RestError> {
        let mut removed = 0;
        for participation in self.rest.participations(identity).await? {
            // Conversations without a context name were not made by DAChat: leave them.
            let Some(context) = participation
                .conversation_unique_name
                .as_deref()
                .and_then(|n| ContextName::parse(n).ok())
            else {
                continue;
            };
            if allowed.contains(&context) {
                continue;
            }
            self.rest
                .remove_participant(&participation.conversation_sid, &participation.participant_sid)
                .await?;
            removed += 1;
            if let Some(contexts) = self.memory().participations.get_mut(identity) {
                contexts.remove(&context);
            }
        }
        if removed > 0 {
            tracing::info!(%identity, removed, "revoked participations no longer in the token");
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_per_identity_in_one_minute_windows() {
        let limiter = SessionLimiter::new(2);
        let alice = Identity::parse("alice").unwrap();
        let bob = Identity::parse("bob").unwrap();
        let t0 = 1_700_000_000_000;
        assert!(limiter.check(&alice, t0).is_ok());
        assert!(limiter.check(&alice, t0 + 1).is_ok());
        assert_eq!(limiter.check(&alice, t0 + 20_500), Err(40), "seconds left, rounded up");
        assert!(limiter.check(&bob, t0 + 20_500).is_ok());
        assert!(limiter.check(&alice, t0 + 60_000).is_ok(), "a new window");
    }
}
