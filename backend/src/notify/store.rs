//! What the notifications feature keeps (issue #14), as one trait with two
//! implementations: DynamoDB in production (`notify/dynamo_store.rs`) and SQLite
//! in local mode (`local_chat::notify_sqlite`). Both are held to the same
//! suite (module `suite`, behind the `store-suite` feature), DynamoDB on moto.
//!
//! - claims: a webhook's message or an inbound e-mail is acted on once,
//!   however often it is delivered (an atomic first-writer-wins claim,
//!   leased while its work is under way and settled when it is done, so a
//!   worker that dies midway does not lose it);
//! - confirmation codes: the pending code of (identity, address) and the
//!   log of codes sent, counted per identity and per address over the last
//!   hour ([`crate::notify::address_codes`] decides with those counts);
//! - subscriptions: who wants e-mail about which room (or all rooms), at
//!   which confirmed address;
//! - watches: people to look at again at a time (a message arrived in a
//!   room they follow, or a room of theirs comes out of its throttle), with
//!   a sequence number so a sweep never drops a watch set while it worked;
//! - room mail: per person and room, the e-mails sent since they last read
//!   it (the throttle's state);
//! - reply routes: which (identity, room) a reply address's tag stands for
//!   (kept when a digest names it), and the log of replies that landed,
//!   counted per identity over the last hour (the replies' rate limit).
//!
//! Times are Unix seconds from the caller's clock.

use std::future::Future;

use crate::notify::address_codes::{PendingCode, RecentCodes};
use crate::notify::{EVENT_BUDGET, REPLY_BUDGET};

/// A subscription: `context` `None` means every room the person is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub identity: String,
    pub context: Option<String>,
    pub address: String,
    /// When it was confirmed.
    pub since: u64,
}

/// A person to look at again at `due_at`. `seq` grows with every
/// [`NotifyStore::watch`], so settling an old copy cannot drop a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub identity: String,
    pub due_at: u64,
    pub seq: u64,
}

/// What was e-mailed about one room of one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomMail {
    pub context: String,
    /// E-mails about the room since the person's read horizon was `horizon`.
    pub emails: u32,
    pub last_email_at: u64,
    /// The person's read horizon in the room when the last e-mail went out
    /// (a provider's message index or id); a later horizon means they read
    /// it since, and the throttle starts over.
    pub horizon: Option<i64>,
}

/// The storage failed (log-safe description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "notification storage failed: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// How long a settled claim is remembered (Twilio retries within minutes;
/// SendGrid retries an inbound mail for up to 3 days).
pub const CLAIM_SECS: u64 = 4 * 24 * 3600;

/// How long a claim holds while its work is under way. If the process
/// doing it dies (`kill -9`, a Lambda timeout), a delivery again takes the
/// claim over after this long, so the work is not lost. Longer than any
/// claimed work can take (a reply's [`REPLY_BUDGET`], an event's
/// [`EVENT_BUDGET`]) plus the REST timeout (5 s) of a request sent just
/// before the work was cut off, so a request of the dead process has
/// landed (or never will) before another takes over and checks for it.
pub const LEASE_SECS: u64 = 30;

const _: () = assert!(LEASE_SECS >= REPLY_BUDGET.as_secs() + 5 && LEASE_SECS >= EVENT_BUDGET.as_secs() + 5);

/// What [`NotifyStore::claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Taken now: do the work, then [`NotifyStore::settle`] the claim (or
    /// [`NotifyStore::unclaim`] it if the work failed).
    Taken,
    /// Another request's work on it is under way (its lease runs).
    UnderWay,
    /// Done before.
    Done,
}

/// How long a reply address keeps working after the last digest that
/// carried it (a reply to an old e-mail still lands).
pub const REPLY_ROUTE_SECS: u64 = 180 * 24 * 3600;

/// A webhook's message event the chat provider was too slow (or failing)
/// to act on within the webhook's budget: kept for the next sweep, since
/// Twilio does not promise to deliver it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredEvent {
    /// The event's claim key (one entry per event, however often deferred).
    pub key: String,
    pub conversation: String,
    pub author: String,
    /// When the message was written (Unix s).
    pub at: u64,
}

/// Deferred events one sweep notes at most (the rest wait for the next).
pub const DEFERRED_PER_SWEEP: usize = 500;

/// What the notifications' store keeps about one person, by kind: what
/// `dachat forget` finds (and removes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeptAbout {
    /// Subscriptions (each with its e-mail address).
    pub subscriptions: usize,
    /// Pending confirmation codes (each with its address).
    pub codes: usize,
    /// Entries of the log of codes sent (the hourly limits).
    pub codes_sent: usize,
    /// A watch (the sweep will look at them).
    pub watches: usize,
    /// Per-room e-mail throttle state.
    pub room_mail: usize,
    /// Reply addresses that lead to them.
    pub reply_routes: usize,
    /// Entries of the log of replies that landed (the hourly limit).
    pub replies_logged: usize,
    /// Webhook events kept for the sweep whose message they wrote.
    pub deferred_events: usize,
}

impl KeptAbout {
    /// Every item counted.
    pub fn total(&self) -> usize {
        self.subscriptions
            + self.codes
            + self.codes_sent
            + self.watches
            + self.room_mail
            + self.reply_routes
            + self.replies_logged
            + self.deferred_events
    }

    /// Each kind with its count, for a report.
    pub fn kinds(&self) -> [(&'static str, usize); 8] {
        [
            ("subscriptions", self.subscriptions),
            ("pending codes", self.codes),
            ("codes-sent log entries", self.codes_sent),
            ("watches", self.watches),
            ("room e-mail throttles", self.room_mail),
            ("reply addresses", self.reply_routes),
            ("replies log entries", self.replies_logged),
            ("deferred webhook events", self.deferred_events),
        ]
    }
}

/// What a reply address's tag stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyRoute {
    pub tag: String,
    pub identity: String,
    pub context: String,
}

pub trait NotifyStore: Send + Sync {
    /// Claims `key` (e.g. a message SID) at `now`, leased for
    /// [`LEASE_SECS`]: [`Claim::Taken`] when it is free (never claimed,
    /// given up, or its lease ran out), otherwise what holds it; of two
    /// racing claims exactly one is taken.
    fn claim(&self, key: &str, now: u64) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// The claimed work is done: the claim holds for [`CLAIM_SECS`] from `now`.
    fn settle(&self, key: &str, now: u64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives up a claim (the work it guarded failed; a retry may claim it).
    fn unclaim(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps `code` as the pending code of its (identity, address),
    /// replacing any earlier one, and logs that a code was sent to
    /// `mailbox` ([`crate::notify::email_address::EmailAddress::mailbox`], which
    /// the per-address limit counts by) at `code.issued_at`.
    fn put_code(&self, code: &PendingCode, mailbox: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The pending code of (identity, address).
    fn code(
        &self,
        identity: &str,
        address: &str,
    ) -> impl Future<Output = Result<Option<PendingCode>, StoreError>> + Send;

    /// Saves a checked code (its wrong tries, whether it was used).
    fn update_code(&self, code: &PendingCode) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Codes sent to `identity` and to `mailbox` since `since`.
    fn recent_codes(
        &self,
        identity: &str,
        mailbox: &str,
        since: u64,
    ) -> impl Future<Output = Result<RecentCodes, StoreError>> + Send;

    /// Adds or replaces the subscription of (identity, context).
    fn subscribe(&self, subscription: &Subscription) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the subscription of (identity, context); `true` if there was one.
    fn unsubscribe(
        &self,
        identity: &str,
        context: Option<&str>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every subscription of `identity`, by context (all rooms first).
    fn subscriptions(&self, identity: &str) -> impl Future<Output = Result<Vec<Subscription>, StoreError>> + Send;

    /// Keeps `event` for the next sweep (replacing an entry of its key).
    fn defer_event(&self, event: &DeferredEvent) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deferred events, oldest first, at most `limit`.
    fn deferred_events(&self, limit: usize) -> impl Future<Output = Result<Vec<DeferredEvent>, StoreError>> + Send;

    /// Forgets a deferred event (it was noted).
    fn drop_deferred(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Asks for `identity` to be looked at by `due_at`: keeps the earlier of
    /// this and a watch already there, and bumps the watch's `seq`.
    fn watch(&self, identity: &str, due_at: u64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Watches due by `now`, at most `limit`, earliest first.
    fn due_watches(&self, now: u64, limit: usize) -> impl Future<Output = Result<Vec<Watch>, StoreError>> + Send;

    /// After a sweep looked at `watch`: when nothing watched it since (same
    /// `seq`), moves it to `next` or removes it (`None`); otherwise keeps
    /// the newer watch, moved to `next` if that is earlier.
    fn settle_watch(&self, watch: &Watch, next: Option<u64>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The throttle state of every room `identity` was e-mailed about.
    fn room_mail(&self, identity: &str) -> impl Future<Output = Result<Vec<RoomMail>, StoreError>> + Send;

    /// Saves the throttle state of the rooms in `mail` (others untouched).
    fn record_room_mail(
        &self,
        identity: &str,
        mail: &[RoomMail],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps each of `routes` until `now` + [`REPLY_ROUTE_SECS`] (again:
    /// the time starts over), in as few writes as the store allows (a
    /// sweep keeps a batch's routes at once).
    fn put_reply_routes(&self, routes: &[ReplyRoute], now: u64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The route of `tag`, unless it expired by `now`.
    fn reply_route(&self, tag: &str, now: u64) -> impl Future<Output = Result<Option<ReplyRoute>, StoreError>> + Send;

    /// Logs that a reply of `identity` landed at `at`.
    fn log_reply(&self, identity: &str, at: u64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replies of `identity` logged since `since`.
    fn recent_replies(&self, identity: &str, since: u64) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Everything kept about `identity` ([`KeptAbout`]), counted, and with
    /// `erase` removed. Idempotent: after an erasure, a second call finds
    /// nothing; one cut short leaves the rest for the next call. Claims
    /// are not personal (keys of messages and e-mails) and stay until they
    /// expire.
    fn forget(&self, identity: &str, erase: bool) -> impl Future<Output = Result<KeptAbout, StoreError>> + Send;

    /// Removes the reply routes of rooms past their retention: a route
    /// goes when the last digest that carried it (its expiry less
    /// [`REPLY_ROUTE_SECS`]) is before its room's `cutoff` (Unix s; `None`:
    /// the room keeps its messages). How many went.
    fn expire_reply_routes(
        &self,
        cutoff: &(dyn Fn(&str) -> Option<u64> + Sync),
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// The one suite both implementations pass. Each check uses names of its
/// own (`prefix`), so runs against a shared store do not meet.
#[cfg(any(test, feature = "store-suite"))]
#[path = "store_suite.rs"]
pub mod suite;
