//! Moderation on Twilio (issue #30): what a moderator named by the host
//! token's `moderates` does through DAChat's API, carried out with the
//! service's REST credentials, and the record of it.
//!
//! - **Remove**: the message (found by its index, newest pages first) is
//!   deleted on Twilio; every SDK client hears `messageRemoved`.
//! - **Mute**: the member's participation gets the `dachat muted` role
//!   ([`crate::twilio::MUTED_ROLE`], made by `dachat configure`), which
//!   cannot send, send media or edit: Twilio itself refuses them, whatever
//!   the client. **Unmute** gives back the service's default conversation
//!   role. A mute's end is kept in the store; a mute past its end is
//!   lifted on the member's next token path ([`TwilioModeration::lift_due`],
//!   at least once an access-token lifetime while their window is open;
//!   the store is looked at once a minute per identity and instance).
//! - **Report** (any member) and the room's **reports** (a moderator): kept
//!   in the store.
//!
//! Every action is recorded ([`Action`]) in the same write as its effect
//! on the store; the REST call comes first, so a record never names
//! something that did not happen (a failure after the call leaves the
//! effect without its record, logged).
//!
//! The store is a trait with three implementations: DynamoDB in production
//! (`moderation_dynamo.rs`, on the notifications' table), the local
//! server's chat database (`local_chat::moderation`), and
//! [`MemoryModeration`] for tests; one suite holds them to the same
//! behaviour (module `suite`, behind the `store-suite` feature).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use protocol::moderation::{MAX_REPORTS_PER_HOUR, Report};

/// An hour in Unix milliseconds.
const HOUR_MS: i64 = 3_600_000;

use crate::clock::Clock;
use crate::domain::{ContextName, Identity};
use crate::rate_limit::WindowLimiter;
use crate::twilio::MUTED_ROLE;
use crate::twilio::rest::{ConversationsClient, RestError};

/// One moderator action, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Unix milliseconds.
    pub at: i64,
    /// Who did it (`dachat` for a mute lifted at its end).
    pub moderator: String,
    /// `remove`, `mute` or `unmute`.
    pub action: String,
    pub room: String,
    /// The message removed (its index on Twilio, its id locally).
    pub message_id: Option<i64>,
    /// The author of the removed message, or the member muted.
    pub target: Option<String>,
    /// A mute's end (Unix ms), as text.
    pub detail: Option<String>,
}

/// A mute in force or past its end (not yet lifted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mute {
    pub room: String,
    /// Unix milliseconds.
    pub until: i64,
}

/// The store failed (log-safe description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModerationStoreError(pub String);

impl std::fmt::Display for ModerationStoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the moderation store failed: {}", self.0)
    }
}

impl std::error::Error for ModerationStoreError {}

/// What the store's methods return.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ModerationStoreError>> + Send + 'a>>;

/// The most reports a room's list shows.
pub const REPORTS_LISTED: u32 = 200;

/// Where moderation is kept.
pub trait ModerationStore: Send + Sync + std::fmt::Debug {
    /// Records `action`; a `mute` also keeps the mute (until `detail`) and
    /// an `unmute` ends it, in the same write.
    fn act<'a>(&'a self, action: &'a Action) -> StoreFuture<'a, ()>;

    /// `identity`'s mutes not yet lifted, in force or past their end.
    fn mutes<'a>(&'a self, identity: &'a str) -> StoreFuture<'a, Vec<Mute>>;

    /// Keeps a report (its `id` is the store's); answers it as kept.
    fn report<'a>(&'a self, report: &'a Report) -> StoreFuture<'a, Report>;

    /// `room`'s reports, newest first, at most `limit`.
    fn reports<'a>(&'a self, room: &'a str, limit: u32) -> StoreFuture<'a, Vec<Report>>;

    /// How many reports `reporter` made at or after `since` (Unix ms), in
    /// any room (the hourly limit).
    fn reports_by<'a>(&'a self, reporter: &'a str, since: i64) -> StoreFuture<'a, u32>;

    /// Every action recorded, oldest first (of `room`, if given).
    fn actions<'a>(&'a self, room: Option<&'a str>) -> StoreFuture<'a, Vec<Action>>;
}

/// Moderation in this process's memory (tests).
#[derive(Debug, Default)]
pub struct MemoryModeration {
    inner: Mutex<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    actions: Vec<Action>,
    /// (identity, room) → until
    mutes: HashMap<(String, String), i64>,
    reports: Vec<Report>,
}

impl MemoryModeration {
    fn inner(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A mute's end as an action records it.
pub fn mute_end(action: &Action) -> Result<i64, ModerationStoreError> {
    action
        .detail
        .as_deref()
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| ModerationStoreError("a mute without its end".into()))
}

impl ModerationStore for MemoryModeration {
    fn act<'a>(&'a self, action: &'a Action) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut inner = self.inner();
            if let Some(target) = &action.target {
                let key = (target.clone(), action.room.clone());
                match action.action.as_str() {
                    "mute" => {
                        inner.mutes.insert(key, mute_end(action)?);
                    }
                    "unmute" => {
                        inner.mutes.remove(&key);
                    }
                    _ => {}
                }
            }
            inner.actions.push(action.clone());
            Ok(())
        })
    }

    fn mutes<'a>(&'a self, identity: &'a str) -> StoreFuture<'a, Vec<Mute>> {
        Box::pin(async move {
            let mut mutes: Vec<Mute> = self
                .inner()
                .mutes
                .iter()
                .filter(|((who, _), _)| who == identity)
                .map(|((_, room), until)| Mute {
                    room: room.clone(),
                    until: *until,
                })
                .collect();
            mutes.sort_by(|a, b| a.room.cmp(&b.room));
            Ok(mutes)
        })
    }

    fn report<'a>(&'a self, report: &'a Report) -> StoreFuture<'a, Report> {
        Box::pin(async move {
            let mut inner = self.inner();
            let kept = Report {
                id: i64::try_from(inner.reports.len()).unwrap_or(i64::MAX) + 1,
                ..report.clone()
            };
            inner.reports.push(kept.clone());
            Ok(kept)
        })
    }

    fn reports<'a>(&'a self, room: &'a str, limit: u32) -> StoreFuture<'a, Vec<Report>> {
        Box::pin(async move {
            Ok(self
                .inner()
                .reports
                .iter()
                .rev()
                .filter(|r| r.room == room)
                .take(limit as usize)
                .cloned()
                .collect())
        })
    }

    fn reports_by<'a>(&'a self, reporter: &'a str, since: i64) -> StoreFuture<'a, u32> {
        Box::pin(async move {
            let count = self
                .inner()
                .reports
                .iter()
                .filter(|r| r.reporter == reporter && r.at >= since)
                .count();
            Ok(u32::try_from(count).unwrap_or(u32::MAX))
        })
    }

    fn actions<'a>(&'a self, room: Option<&'a str>) -> StoreFuture<'a, Vec<Action>> {
        Box::pin(async move {
            Ok(self
                .inner()
                .actions
                .iter()
                .filter(|a| room.is_none_or(|r| a.room == r))
                .cloned()
                .collect())
        })
    }
}

/// Why a moderation request was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModerationError {
    /// No such room, message or member (what, for the user).
    NotFound(String),
    /// The service is not set up for it (names the command).
    NotConfigured(String),
    /// Too many reports from one person this hour: when to try again (s).
    TooManyReports {
        retry_after_secs: u64,
    },
    Rest(RestError),
    Store(ModerationStoreError),
}

impl From<RestError> for ModerationError {
    fn from(e: RestError) -> Self {
        Self::Rest(e)
    }
}

impl From<ModerationStoreError> for ModerationError {
    fn from(e: ModerationStoreError) -> Self {
        Self::Store(e)
    }
}

/// How many pages of 100 a removal looks through for the message (the
/// newest 2,000 messages of the room).
const PAGES_SEARCHED: usize = 20;

/// The roles a mute moves a participation between.
#[derive(Debug, Clone)]
struct Roles {
    muted: String,
    member: String,
}

/// Moderation on Twilio: REST calls and their record.
#[derive(Debug)]
pub struct TwilioModeration {
    rest: ConversationsClient,
    store: Arc<dyn ModerationStore>,
    clock: Clock,
    /// Found once (they change only by `dachat configure`; forgotten when
    /// Twilio refuses one, so a role made again is found again).
    roles: Mutex<Option<Roles>>,
    /// One look for mutes past their end per identity a minute on this
    /// instance: a repeat session or renewal costs the store nothing. Kept
    /// by a keyed 64-bit hash of the identity (random keys per process),
    /// at most 20,000 (then cleared): about 1 MiB, whatever the users.
    lift_checks: WindowLimiter<u64>,
    keys: std::hash::RandomState,
}

impl TwilioModeration {
    pub fn new(rest: ConversationsClient, store: Arc<dyn ModerationStore>, clock: Clock) -> Self {
        Self {
            rest,
            store,
            clock,
            roles: Mutex::new(None),
            lift_checks: WindowLimiter::per_minute(1, 20_000),
            keys: std::hash::RandomState::new(),
        }
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.clock.now_ms()).unwrap_or(i64::MAX)
    }

    async fn conversation(&self, room: &ContextName) -> Result<String, ModerationError> {
        match self.rest.fetch_conversation(room).await? {
            Some(conversation) => Ok(conversation.sid),
            None => Err(ModerationError::NotFound(format!("There is no room {room}."))),
        }
    }

    async fn roles(&self) -> Result<Roles, ModerationError> {
        if let Some(roles) = self.roles.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(roles);
        }
        let muted = self
            .rest
            .roles()
            .await?
            .into_iter()
            .find(|r| r.friendly_name == MUTED_ROLE)
            .map(|r| r.sid)
            .ok_or_else(|| {
                ModerationError::NotConfigured(format!(
                    "Muting needs the '{MUTED_ROLE}' role on the Twilio service: run dachat configure."
                ))
            })?;
        let member = self.rest.service_configuration().await?.default_conversation_role_sid;
        let roles = Roles { muted, member };
        *self.roles.lock().unwrap_or_else(|p| p.into_inner()) = Some(roles.clone());
        Ok(roles)
    }

    /// Removes message `index` of `room`, recorded as `moderator`'s.
    pub async fn remove(&self, moderator: &Identity, room: &ContextName, index: i64) -> Result<(), ModerationError> {
        let conversation = self.conversation(room).await?;
        let mut next = None;
        for _ in 0..PAGES_SEARCHED {
            let page = self.rest.messages_newest_page(&conversation, next.as_deref()).await?;
            if let Some(message) = page.items.iter().find(|m| m.index == index) {
                self.rest.delete_message(&conversation, &message.sid).await?;
                self.record(Action {
                    at: self.now_ms(),
                    moderator: moderator.to_string(),
                    action: "remove".into(),
                    room: room.to_string(),
                    message_id: Some(index),
                    target: message.author.clone(),
                    detail: None,
                })
                .await?;
                return Ok(());
            }
            // pages go from the newest back: an index above this page's is gone
            let past = page
                .items
                .iter()
                .map(|m| m.index)
                .min()
                .is_some_and(|oldest| oldest < index);
            match page.next {
                Some(more) if !past => next = Some(more),
                _ => break,
            }
        }
        Err(ModerationError::NotFound("That message is gone.".into()))
    }

    /// Mutes `member` in `room` for `minutes`, recorded as `moderator`'s.
    pub async fn mute(
        &self,
        moderator: &Identity,
        room: &ContextName,
        member: &Identity,
        minutes: u32,
    ) -> Result<i64, ModerationError> {
        let roles = self.roles().await?;
        let conversation = self.conversation(room).await?;
        self.set_role(&conversation, room, member, &roles.muted).await?;
        let until = self.now_ms().saturating_add(i64::from(minutes) * 60_000);
        self.record(self.mute_action(moderator.as_str(), room.as_str(), member.as_str(), Some(until)))
            .await?;
        Ok(until)
    }

    /// Ends `member`'s mute in `room`, recorded as `moderator`'s.
    pub async fn unmute(
        &self,
        moderator: &Identity,
        room: &ContextName,
        member: &Identity,
    ) -> Result<(), ModerationError> {
        let roles = self.roles().await?;
        let conversation = self.conversation(room).await?;
        self.set_role(&conversation, room, member, &roles.member).await?;
        self.record(self.mute_action(moderator.as_str(), room.as_str(), member.as_str(), None))
            .await
    }

    /// Lifts `identity`'s mutes past their end (the token paths call it):
    /// their role back, recorded as `dachat`'s. A room that is gone, or a
    /// participation that is, only ends the mute.
    pub async fn lift_due(&self, identity: &Identity) -> Result<usize, ModerationError> {
        let key = std::hash::BuildHasher::hash_one(&self.keys, identity);
        if self.lift_checks.take(&key, self.clock.now_ms()).is_err() {
            return Ok(0);
        }
        let now = self.now_ms();
        let due: Vec<Mute> = self
            .store
            .mutes(identity.as_str())
            .await?
            .into_iter()
            .filter(|m| m.until <= now)
            .collect();
        for mute in &due {
            if let Ok(room) = ContextName::parse(&mute.room) {
                let roles = self.roles().await?;
                match self.conversation(&room).await {
                    Ok(conversation) => match self.set_role(&conversation, &room, identity, &roles.member).await {
                        Ok(()) | Err(ModerationError::NotFound(_)) => {}
                        Err(e) => return Err(e),
                    },
                    Err(ModerationError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            self.record(self.mute_action("dachat", &mute.room, identity.as_str(), None))
                .await?;
        }
        Ok(due.len())
    }

    fn mute_action(&self, moderator: &str, room: &str, member: &str, until: Option<i64>) -> Action {
        Action {
            at: self.now_ms(),
            moderator: moderator.to_owned(),
            action: if until.is_some() { "mute" } else { "unmute" }.into(),
            room: room.to_owned(),
            message_id: None,
            target: Some(member.to_owned()),
            detail: until.map(|u| u.to_string()),
        }
    }

    async fn set_role(
        &self,
        conversation: &str,
        room: &ContextName,
        member: &Identity,
        role: &str,
    ) -> Result<(), ModerationError> {
        if !self.rest.participant_exists(conversation, member).await? {
            return Err(ModerationError::NotFound(format!("{member} is not in {room}.")));
        }
        let set = self.rest.set_participant_role(conversation, member, role).await;
        if let Err(RestError::Rejected(_)) = &set {
            // perhaps a role `dachat configure` made again: look it up next time
            *self.roles.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        Ok(set?)
    }

    async fn record(&self, action: Action) -> Result<(), ModerationError> {
        self.store.act(&action).await.map_err(|e| {
            tracing::error!(error = %e, action = %action.action, room = %action.room, "a moderator action was carried out but not recorded");
            ModerationError::Store(e)
        })
    }

    /// Keeps `reporter`'s report of message `index` of `room`.
    pub async fn report(
        &self,
        reporter: &Identity,
        room: &ContextName,
        index: i64,
        reason: &str,
    ) -> Result<Report, ModerationError> {
        let now = self.now_ms();
        let made = self.store.reports_by(reporter.as_str(), now - HOUR_MS).await?;
        if made >= MAX_REPORTS_PER_HOUR {
            return Err(ModerationError::TooManyReports { retry_after_secs: 3600 });
        }
        let report = Report {
            id: 0,
            room: room.to_string(),
            message_id: index,
            reporter: reporter.to_string(),
            reason: reason.to_owned(),
            at: now,
        };
        Ok(self.store.report(&report).await?)
    }

    /// `room`'s reports, newest first.
    pub async fn reports(&self, room: &ContextName) -> Result<Vec<Report>, ModerationError> {
        Ok(self.store.reports(room.as_str(), REPORTS_LISTED).await?)
    }
}

/// The suite every store is held to (the SQLite store's tests and the
/// DynamoDB contract test run it).
#[cfg(any(test, feature = "store-suite"))]
pub mod suite;

#[cfg(test)]
mod tests;
