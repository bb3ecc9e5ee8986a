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

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::{ContextName, Identity};
use crate::twilio_rest::{ConversationsClient, RestError};

#[derive(Debug, Clone)]
pub struct ProvisionPolicy {
    pub revocation_interval: Duration,
    /// Cache entries kept before the cache is cleared and refilled.
    pub max_cached: usize,
}

impl Default for ProvisionPolicy {
    fn default() -> Self {
        Self {
            revocation_interval: Duration::from_secs(300),
            max_cached: 100_000,
        }
    }
}

#[derive(Debug, Default)]
struct Memory {
    users: HashSet<Identity>,
    conversations: HashMap<ContextName, String>,
    /// Contexts each identity is known to take part in.
    participations: HashMap<Identity, HashSet<ContextName>>,
    revoked_at: HashMap<Identity, Instant>,
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
    memory: Mutex<Memory>,
}

impl Provisioner {
    pub fn new(rest: ConversationsClient, policy: ProvisionPolicy) -> Self {
        Self {
            rest,
            policy,
            memory: Mutex::default(),
        }
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
            self.ensure_user(identity).await?;
        }
        let sid = match known_sid {
            Some(sid) => sid,
            None => self.ensure_conversation(context).await?,
        };
        self.ensure_participant(&sid, identity).await?;
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

    async fn ensure_user(&self, identity: &Identity) -> Result<(), RestError> {
        if self.rest.user_exists(identity).await? {
            return Ok(());
        }
        // Created now or by a concurrent session: both are fine.
        self.rest.create_user(identity).await.map(|_| ())
    }

    async fn ensure_conversation(&self, context: &ContextName) -> Result<String, RestError> {
        if let Some(conversation) = self.rest.fetch_conversation(context).await? {
            return Ok(conversation.sid);
        }
        if let Some(conversation) = self.rest.create_conversation(context).await? {
            return Ok(conversation.sid);
        }
        // Another session created it between our fetch and our create.
        match self.rest.fetch_conversation(context).await? {
            Some(conversation) => Ok(conversation.sid),
            None => Err(RestError::Rejected("conversation exists but cannot be fetched".into())),
        }
    }

    async fn ensure_participant(&self, conversation_sid: &str, identity: &Identity) -> Result<(), RestError> {
        if self.rest.participant_exists(conversation_sid, identity).await? {
            return Ok(());
        }
        self.rest
            .create_participant(conversation_sid, identity)
            .await
            .map(|_| ())
    }

    /// Runs [`Provisioner::revoke`] if it has not run for `identity` within
    /// the revocation interval.
    pub async fn revoke_if_due(&self, identity: &Identity, allowed: &[ContextName]) {
        let now = Instant::now();
        {
            let mut memory = self.memory();
            if memory
                .revoked_at
                .get(identity)
                .is_some_and(|t| now.duration_since(*t) < self.policy.revocation_interval)
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
