//! Provisioning: before a session is answered, make sure the Twilio user,
//! the conversation whose unique name is the context, and the user's
//! participation exist; and on every path that hands out a Twilio token
//! (session and renewal) bring the user's participations in line with the
//! host token it was given (revocation).
//!
//! - Get-or-create with "already exists" treated as success, so two first
//!   sessions for the same new context at once both succeed.
//! - What has been provisioned is remembered in memory (bounded), so a
//!   repeat session makes no REST call at all. With a shared store, a
//!   remembered participation is trusted only while the store's count of
//!   removals for the identity is the one seen when it was added: a room
//!   another instance took away, then given back, is joined again.
//! - Alignment ([`Provisioner::align`]) lists the user's participations and
//!   removes those whose context the token no longer lists. It is skipped
//!   only when this instance aligned the identity within
//!   [`ProvisionPolicy::revocation_interval`] for exactly the same set of
//!   contexts (a session grants only contexts of its own token, and aligns
//!   right after); so a token whose contexts changed aligns at once, and a
//!   room granted by another instance (or before a restart) goes within one
//!   interval. What is remembered is a keyed 64-bit hash of the identity and
//!   of the context set (random keys per process), 24 bytes an identity: the
//!   token path holds 100,000 users in a few MiB. A failed alignment fails
//!   the request (503): no token is handed out while a removed room may
//!   still be reachable.
//! - Across instances ([`crate::twilio::aligned`]): with a shared store,
//!   an instance that has not aligned the identity lately skips the
//!   Twilio listing when the store's record holds the same room set and is
//!   younger than [`ProvisionPolicy::shared_for`]; a participation is added
//!   only after the record's set is cleared, and an alignment records its
//!   set only if no room was added while it listed. A token whose set
//!   differs aligns at once, so the revocation promise is unchanged.
//! - Sessions that cost REST calls are limited per identity
//!   ([`ProvisionPolicy::sessions_per_minute`]); remembered ones are free.
//! - A request's Twilio work ends within [`ProvisionPolicy::deadline`],
//!   retries included: a slow Twilio is a 503 with `Retry-After`, never a
//!   request held until the Lambda is killed. Work cut short leaves
//!   nothing half-remembered (an alignment cut short is not taken as done).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::{Clock, millis};
use crate::domain::{ContextName, Identity};
use crate::rate_limit::WindowLimiter;
use crate::twilio::aligned::{AlignedRecord, AlignedStore, AlignedStoreError, rooms_digest};
use crate::twilio::rest::{ConversationsClient, RestError};

#[derive(Debug, Clone)]
pub struct ProvisionPolicy {
    pub revocation_interval: Duration,
    /// Cache entries kept before the cache is cleared and refilled.
    pub max_cached: usize,
    /// Sessions per identity per minute that may cost REST calls.
    pub sessions_per_minute: u32,
    /// The most one request's Twilio calls may take together, retries
    /// included. With the JWKS fetch's 3 s (`JwksPolicy::timeout`) a
    /// request stays within the API Lambda's 10 s timeout
    /// (`infra/lib/lambda-api.ts`).
    pub deadline: Duration,
    /// How long a shared store's record of an alignment spares other
    /// instances the listing (same room set only). It bounds how long a
    /// participation made outside DAChat's token paths (the Twilio console)
    /// can outlive its room's removal from the token; a room the token
    /// drops is taken away at the next token whatever the record says.
    pub shared_for: Duration,
}

impl Default for ProvisionPolicy {
    fn default() -> Self {
        Self {
            // The widget renews its access token 2 minutes before it expires,
            // so a room granted by another instance is gone within one
            // access-token lifetime: (TTL - 120 s) + this interval.
            revocation_interval: Duration::from_secs(120),
            max_cached: 100_000,
            sessions_per_minute: 60,
            deadline: Duration::from_secs(6),
            // one listing per user per 12 hours of renewals (one an hour)
            shared_for: Duration::from_secs(12 * 3600),
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

/// A read of the shared record.
type SharedRead = Result<Option<AlignedRecord>, AlignedStoreError>;

#[derive(Debug, Default)]
struct Memory {
    users: HashSet<Identity>,
    conversations: HashMap<ContextName, String>,
    /// Contexts each identity is known to take part in, with the shared
    /// record's removals when the participation was added (0 without a
    /// shared store).
    participations: HashMap<Identity, HashMap<ContextName, u64>>,
    /// The last alignment on this instance, by the identity's keyed hash.
    aligned: HashMap<u64, Aligned>,
}

#[derive(Debug)]
struct Aligned {
    /// When it ran (Unix ms).
    at_ms: u64,
    /// The keyed hash of the context set it aligned to.
    contexts: u64,
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
        if self.aligned.len() >= max {
            self.aligned.clear();
        }
    }
}

#[derive(Debug)]
pub struct Provisioner {
    rest: ConversationsClient,
    policy: ProvisionPolicy,
    /// Sessions that cost REST calls, per identity per minute.
    limiter: WindowLimiter<Identity>,
    clock: Clock,
    memory: Mutex<Memory>,
    /// Random keys for the hashes alignment remembers.
    keys: RandomState,
    /// Where every instance sees the last alignments, if anywhere.
    shared: Option<Arc<dyn AlignedStore>>,
}

/// An alignment's claim on its slot: given back when dropped unless the
/// alignment was done (an error, or a future dropped at the deadline).
struct Claim<'a> {
    provisioner: &'a Provisioner,
    key: u64,
    kept: bool,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.provisioner.memory().aligned.remove(&self.key);
        }
    }
}

impl Provisioner {
    pub fn new(rest: ConversationsClient, policy: ProvisionPolicy, clock: Clock) -> Self {
        Self {
            rest,
            limiter: WindowLimiter::per_minute(policy.sessions_per_minute, policy.max_cached),
            policy,
            clock,
            memory: Mutex::default(),
            keys: RandomState::new(),
            shared: None,
        }
    }

    /// Keeps and consults the last alignments in `store`, shared with the
    /// other instances.
    pub fn with_shared(mut self, store: Arc<dyn AlignedStore>) -> Self {
        self.shared = Some(store);
        self
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
        match tokio::time::timeout(self.policy.deadline, self.session_steps(identity, context, allowed)).await {
            Ok(done) => done,
            Err(_) => Err(ProvisionError::Rest(self.too_slow())),
        }
    }

    async fn session_steps(
        &self,
        identity: &Identity,
        context: &ContextName,
        allowed: &[ContextName],
    ) -> Result<String, ProvisionError> {
        let (trusted, read) = self.trusted(identity, context).await;
        let (sid, read) = match trusted {
            Some(sid) => (sid, read),
            None => {
                // Only sessions that cost REST calls count against the limit.
                self.limiter
                    .take(identity, self.clock.now_ms())
                    .map_err(|retry_after_secs| ProvisionError::RateLimited { retry_after_secs })?;
                // the record read before is out of date once a room is added
                (self.add(identity, context).await?, None)
            }
        };
        self.align_steps(identity, allowed, read).await?;
        Ok(sid)
    }

    /// The conversation SID, if this instance added the participation and
    /// may trust that it still exists: without a shared store, always;
    /// with one, while no alignment has taken a room of the identity's away
    /// since (a store that cannot be read: trusted, as without one). Also
    /// the record, if it was read.
    async fn trusted(&self, identity: &Identity, context: &ContextName) -> (Option<String>, Option<SharedRead>) {
        let Some((sid, removals)) = self.remembered(identity, context) else {
            return (None, None);
        };
        let Some(shared) = &self.shared else {
            return (Some(sid), None);
        };
        let read = shared.read(identity.as_str()).await;
        let trusted = match &read {
            Ok(Some(record)) => record.removals == removals,
            // gone past its keep (it is made when a room is added)
            Ok(None) => false,
            Err(err) => {
                tracing::warn!(error = %err, "trusting the remembered participation without the shared record");
                true
            }
        };
        (trusted.then_some(sid), Some(read))
    }

    fn too_slow(&self) -> RestError {
        tracing::warn!(
            deadline_ms = millis(self.policy.deadline),
            "Twilio did not answer in time"
        );
        RestError::Unavailable(format!(
            "Twilio did not answer within {} ms",
            millis(self.policy.deadline)
        ))
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The conversation SID and the removals seen when it was added, if
    /// this instance added the participation.
    fn remembered(&self, identity: &Identity, context: &ContextName) -> Option<(String, u64)> {
        let memory = self.memory();
        let removals = *memory.participations.get(identity)?.get(context)?;
        Some((memory.conversations.get(context)?.clone(), removals))
    }

    /// Ensures `identity` takes part in the conversation for `context` and
    /// returns the conversation's SID.
    pub async fn ensure(&self, identity: &Identity, context: &ContextName) -> Result<String, RestError> {
        match self.trusted(identity, context).await {
            (Some(sid), _) => Ok(sid),
            (None, _) => self.add(identity, context).await,
        }
    }

    /// Makes the user, the conversation and the participation, each unless
    /// known, and remembers them.
    async fn add(&self, identity: &Identity, context: &ContextName) -> Result<String, RestError> {
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
        let removals = match &self.shared {
            // before the room is added, so no instance's record can hide it
            Some(shared) => shared
                .room_added(identity.as_str(), self.clock.now_ms() / 1000)
                .await
                .map_err(|e| RestError::Unavailable(format!("{e}; the room was not added")))?,
            None => 0,
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
            .insert(context.clone(), removals);
        Ok(sid)
    }

    /// Brings `identity`'s participations in line with `allowed` (the
    /// contexts of the host token being answered), unless this instance did
    /// so for the same set within the revocation interval. An error means
    /// it may not be in line.
    pub async fn align(&self, identity: &Identity, allowed: &[ContextName]) -> Result<(), RestError> {
        match tokio::time::timeout(self.policy.deadline, self.align_steps(identity, allowed, None)).await {
            Ok(done) => done,
            Err(_) => Err(self.too_slow()),
        }
    }

    /// `read`: the shared record, if it was read since the last room added.
    async fn align_steps(
        &self,
        identity: &Identity,
        allowed: &[ContextName],
        read: Option<SharedRead>,
    ) -> Result<(), RestError> {
        let now = self.clock.now_ms();
        let key = self.keys.hash_one(identity);
        // the set's hash, whatever the order the token lists it in
        let contexts = allowed
            .iter()
            .fold(0u64, |sum, c| sum.wrapping_add(self.keys.hash_one(c)));
        {
            let mut memory = self.memory();
            let fresh = memory.aligned.get(&key).is_some_and(|a| {
                now.saturating_sub(a.at_ms) < millis(self.policy.revocation_interval) && a.contexts == contexts
            });
            if fresh {
                return Ok(());
            }
            // Claim the slot before the calls, so concurrent requests of the
            // same user with the same token do not list twice; a failure, or
            // the work cut short by the deadline, gives it back.
            memory.make_room(self.policy.max_cached);
            memory.aligned.insert(key, Aligned { at_ms: now, contexts });
        }
        let mut claim = Claim {
            provisioner: self,
            key,
            kept: false,
        };
        let Some(shared) = &self.shared else {
            self.revoke_logged(identity, allowed).await?;
            claim.kept = true;
            return Ok(());
        };
        let rooms = rooms_digest(allowed);
        let read = match read {
            Some(read) => read,
            None => shared.read(identity.as_str()).await,
        };
        let seen = match read {
            Ok(record) => record,
            Err(err) => {
                // without the record, align on Twilio as if there were no store
                tracing::warn!(error = %err, "aligning without the shared record");
                self.revoke_logged(identity, allowed).await?;
                claim.kept = true;
                return Ok(());
            }
        };
        let now_s = now / 1000;
        if let Some(record) = &seen
            && record.rooms.as_deref() == Some(rooms.as_str())
            && now_s.saturating_sub(record.at) < self.policy.shared_for.as_secs()
        {
            claim.kept = true;
            return Ok(());
        }
        self.revoke_logged(identity, allowed).await?;
        claim.kept = true;
        let version = seen.map_or(0, |r| r.version);
        match shared.record(identity.as_str(), &rooms, now_s, version).await {
            Ok(true) => {}
            // a room was added while this alignment listed: the next aligns again
            Ok(false) => tracing::debug!(%identity, "alignment not recorded: the record changed meanwhile"),
            Err(err) => tracing::warn!(error = %err, "alignment done but not recorded"),
        }
        Ok(())
    }

    async fn revoke_logged(&self, identity: &Identity, allowed: &[ContextName]) -> Result<usize, RestError> {
        self.revoke(identity, allowed).await.inspect_err(|err| {
            tracing::warn!(%identity, error = %err, "could not bring participations in line with the token");
        })
    }

    /// Removes `identity` from every service conversation whose unique name
    /// is a context name not in `allowed`. Returns how many participations
    /// were removed. With a shared store, a removal (even of some rooms
    /// before an error) grows the record's removals afterwards, so no
    /// instance trusts a participation it remembers adding.
    pub async fn revoke(&self, identity: &Identity, allowed: &[ContextName]) -> Result<usize, RestError> {
        let mut removed = 0;
        let done = self.remove_all_but(identity, allowed, &mut removed).await;
        if removed > 0 {
            tracing::info!(%identity, removed, "revoked participations no longer in the token");
            if let Some(shared) = &self.shared
                && let Err(err) = shared
                    .rooms_removed(identity.as_str(), self.clock.now_ms() / 1000)
                    .await
            {
                tracing::warn!(%identity, error = %err, "removal not counted in the shared record");
            }
        }
        done.map(|()| removed)
    }

    async fn remove_all_but(
        &self,
        identity: &Identity,
        allowed: &[ContextName],
        removed: &mut usize,
    ) -> Result<(), RestError> {
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
            *removed += 1;
            if let Some(contexts) = self.memory().participations.get_mut(identity) {
                contexts.remove(&context);
            }
        }
        Ok(())
    }
}
