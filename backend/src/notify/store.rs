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
}

/// The one suite both implementations pass. Each check uses names of its
/// own (`prefix`), so runs against a shared store do not meet.
#[cfg(any(test, feature = "store-suite"))]
pub mod suite {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn code(identity: &str, address: &str, issued_at: u64) -> PendingCode {
        PendingCode {
            identity: identity.to_owned(),
            address: address.to_owned(),
            tag: vec![1, 2, 3, issued_at as u8],
            issued_at,
            wrong_tries: 0,
            used: false,
        }
    }

    /// Runs every check against `store`.
    pub async fn run_all<S: NotifyStore>(store: &S, prefix: &str) {
        claims_are_first_writer_wins(store, prefix).await;
        a_lease_runs_out_a_settled_claim_holds(store, prefix).await;
        deferred_events_wait_until_dropped(store, prefix).await;
        codes_replace_and_count(store, prefix).await;
        subscriptions_add_replace_and_remove(store, prefix).await;
        watches_keep_the_earliest_and_survive_a_sweep(store, prefix).await;
        room_mail_is_kept_per_room(store, prefix).await;
        reply_routes_expire_and_replies_count(store, prefix).await;
    }

    pub async fn watches_keep_the_earliest_and_survive_a_sweep<S: NotifyStore>(store: &S, prefix: &str) {
        // A shared store holds other runs' watches: look only at ours.
        let ours = |watches: Vec<Watch>| -> Vec<Watch> {
            watches.into_iter().filter(|w| w.identity.starts_with(prefix)).collect()
        };
        let alice = format!("{prefix}-alice");
        let bob = format!("{prefix}-bob");
        store.watch(&alice, 500).await.unwrap();
        store.watch(&alice, 700).await.unwrap();
        store.watch(&bob, 400).await.unwrap();
        assert_eq!(ours(store.due_watches(399, 100).await.unwrap()), []);
        let due = ours(store.due_watches(600, 100).await.unwrap());
        assert_eq!(
            due.iter().map(|w| (w.identity.as_str(), w.due_at)).collect::<Vec<_>>(),
            [(bob.as_str(), 400), (alice.as_str(), 500)],
            "the earlier of two watches, earliest first"
        );
        let (bob_w, alice_w) = (due[0].clone(), due[1].clone());

        // nothing happened to bob meanwhile: settled away
        store.settle_watch(&bob_w, None).await.unwrap();
        // a message for alice arrived while the sweep looked at her
        store.watch(&alice, 900).await.unwrap();
        store.settle_watch(&alice_w, None).await.unwrap();
        let left = ours(store.due_watches(10_000, 100).await.unwrap());
        assert_eq!(left.len(), 1, "the newer watch of alice stays: {left:?}");
        assert_eq!((left[0].identity.as_str(), left[0].due_at), (alice.as_str(), 500));

        // settled to a later time
        store.settle_watch(&left[0], Some(4_000)).await.unwrap();
        assert_eq!(ours(store.due_watches(3_999, 100).await.unwrap()), []);
        let later = ours(store.due_watches(4_000, 100).await.unwrap());
        assert_eq!(later.iter().map(|w| w.due_at).collect::<Vec<_>>(), [4_000]);
        store.settle_watch(&later[0], None).await.unwrap();
        assert_eq!(ours(store.due_watches(u64::MAX / 2, 100).await.unwrap()), []);
    }

    pub async fn reply_routes_expire_and_replies_count<S: NotifyStore>(store: &S, prefix: &str) {
        let route = ReplyRoute {
            tag: format!("{prefix}0123456789abcdef"),
            identity: format!("{prefix}-alice"),
            context: "shipment-7".to_owned(),
        };
        assert_eq!(store.reply_route(&route.tag, 1_000).await.unwrap(), None);
        // more routes than one DynamoDB batch takes
        let many: Vec<ReplyRoute> = (0..30)
            .map(|n| ReplyRoute {
                tag: format!("{prefix}many{n:02}"),
                identity: format!("{prefix}-p{n}"),
                context: "general".to_owned(),
            })
            .chain([route.clone(), route.clone()]) // a tag twice: kept once
            .collect();
        store.put_reply_routes(&many, 1_000).await.unwrap();
        for kept in &many {
            assert_eq!(store.reply_route(&kept.tag, 1_500).await.unwrap().as_ref(), Some(kept));
        }
        assert_eq!(store.reply_route(&route.tag, 2_000).await.unwrap(), Some(route.clone()));
        let lapse = 1_000 + REPLY_ROUTE_SECS;
        assert_eq!(store.reply_route(&route.tag, lapse).await.unwrap(), None, "expired");
        // another digest carried it: the time starts over
        store
            .put_reply_routes(std::slice::from_ref(&route), 5_000)
            .await
            .unwrap();
        assert_eq!(store.reply_route(&route.tag, lapse).await.unwrap(), Some(route.clone()));

        let alice = &route.identity;
        let bob = format!("{prefix}-bob");
        for at in [10_000, 10_000, 12_000] {
            store.log_reply(alice, at).await.unwrap();
        }
        store.log_reply(&bob, 12_000).await.unwrap();
        assert_eq!(
            store.recent_replies(alice, 10_000).await.unwrap(),
            3,
            "two in one second stay two"
        );
        assert_eq!(store.recent_replies(alice, 11_000).await.unwrap(), 1);
        assert_eq!(store.recent_replies(&bob, 0).await.unwrap(), 1);
    }

    pub async fn room_mail_is_kept_per_room<S: NotifyStore>(store: &S, prefix: &str) {
        let alice = format!("{prefix}-alice");
        let mail = |context: &str, emails, at, horizon| RoomMail {
            context: context.to_owned(),
            emails,
            last_email_at: at,
            horizon,
        };
        assert_eq!(store.room_mail(&alice).await.unwrap(), []);
        store
            .record_room_mail(
                &alice,
                &[mail("general", 1, 100, None), mail("shipment-1", 1, 100, Some(7))],
            )
            .await
            .unwrap();
        store
            .record_room_mail(&alice, &[mail("general", 2, 3_700, Some(3))])
            .await
            .unwrap();
        let mut kept = store.room_mail(&alice).await.unwrap();
        kept.sort_by(|a, b| a.context.cmp(&b.context));
        assert_eq!(
            kept,
            [mail("general", 2, 3_700, Some(3)), mail("shipment-1", 1, 100, Some(7))]
        );
    }

    pub async fn claims_are_first_writer_wins<S: NotifyStore>(store: &S, prefix: &str) {
        let key = format!("{prefix}-IM0001");
        assert_eq!(
            store.claim(&key, 100).await.unwrap(),
            Claim::Taken,
            "the first claim wins"
        );
        assert_eq!(
            store.claim(&key, 101).await.unwrap(),
            Claim::UnderWay,
            "a retry finds it claimed"
        );
        let racing = format!("{prefix}-IM0002");
        let (a, b) = tokio::join!(store.claim(&racing, 100), store.claim(&racing, 100));
        let taken = [a.unwrap(), b.unwrap()].iter().filter(|c| **c == Claim::Taken).count();
        assert_eq!(taken, 1, "of two racing claims exactly one wins");
        store.unclaim(&key).await.unwrap();
        assert_eq!(
            store.claim(&key, 102).await.unwrap(),
            Claim::Taken,
            "given up, it may be claimed again"
        );
    }

    pub async fn deferred_events_wait_until_dropped<S: NotifyStore>(store: &S, prefix: &str) {
        let event = |n: u64| DeferredEvent {
            key: format!("{prefix}-twilio#IM{n}"),
            conversation: format!("CH{prefix}"),
            author: "bob".into(),
            at: 1_000 + n,
        };
        let ours = |all: Vec<DeferredEvent>| -> Vec<DeferredEvent> {
            all.into_iter().filter(|e| e.key.starts_with(prefix)).collect()
        };
        store.defer_event(&event(2)).await.unwrap();
        store.defer_event(&event(1)).await.unwrap();
        store.defer_event(&event(2)).await.unwrap();
        assert_eq!(
            ours(store.deferred_events(100).await.unwrap()),
            [event(1), event(2)],
            "oldest first, once each"
        );
        store.drop_deferred(&event(1).key).await.unwrap();
        assert_eq!(ours(store.deferred_events(100).await.unwrap()), [event(2)]);
        store.drop_deferred(&event(2).key).await.unwrap();
        assert_eq!(ours(store.deferred_events(100).await.unwrap()), []);
    }

    /// A claim whose worker died is taken over when its lease runs out; a
    /// settled one holds for days.
    pub async fn a_lease_runs_out_a_settled_claim_holds<S: NotifyStore>(store: &S, prefix: &str) {
        let key = format!("{prefix}-IM0003");
        assert_eq!(store.claim(&key, 1_000).await.unwrap(), Claim::Taken);
        assert_eq!(
            store.claim(&key, 1_000 + LEASE_SECS - 1).await.unwrap(),
            Claim::UnderWay
        );
        let later = 1_000 + LEASE_SECS;
        assert_eq!(
            store.claim(&key, later).await.unwrap(),
            Claim::Taken,
            "the lease ran out: taken over"
        );
        store.settle(&key, later + 5).await.unwrap();
        assert_eq!(store.claim(&key, later + 6).await.unwrap(), Claim::Done);
        assert_eq!(
            store.claim(&key, later + 5 + CLAIM_SECS - 1).await.unwrap(),
            Claim::Done,
            "settled, it holds for days"
        );
    }

    pub async fn codes_replace_and_count<S: NotifyStore>(store: &S, prefix: &str) {
        let alice = format!("{prefix}-alice");
        let address = format!("{prefix}-alice@example.org");
        assert_eq!(store.code(&alice, &address).await.unwrap(), None);
        store.put_code(&code(&alice, &address, 1_000), &address).await.unwrap();
        let second = code(&alice, &address, 1_100);
        store.put_code(&second, &address).await.unwrap();
        assert_eq!(
            store.code(&alice, &address).await.unwrap(),
            Some(second.clone()),
            "the newer replaces"
        );
        let mut checked = second.clone();
        checked.wrong_tries = 2;
        checked.used = true;
        store.update_code(&checked).await.unwrap();
        assert_eq!(store.code(&alice, &address).await.unwrap(), Some(checked));

        // another identity asks for the same address; alice for another address
        let bob = format!("{prefix}-bob");
        store.put_code(&code(&bob, &address, 1_200), &address).await.unwrap();
        let other = format!("{prefix}-other@example.org");
        store.put_code(&code(&alice, &other, 1_300), &other).await.unwrap();
        // the log counts by mailbox: a code to a spelling of alice's address
        // is kept under its own address but counted as hers
        let spelling = format!("{prefix}-alice+x@example.org");
        store.put_code(&code(&bob, &spelling, 1_400), &address).await.unwrap();
        assert_eq!(
            store.code(&bob, &spelling).await.unwrap().map(|c| c.issued_at),
            Some(1_400)
        );
        assert_eq!(
            store.recent_codes(&alice, &address, 0).await.unwrap(),
            RecentCodes {
                to_identity: 3,
                to_address: 4
            }
        );
        assert_eq!(
            store.recent_codes(&alice, &address, 1_100).await.unwrap(),
            RecentCodes {
                to_identity: 2,
                to_address: 3
            },
            "only codes sent since then"
        );
    }

    pub async fn subscriptions_add_replace_and_remove<S: NotifyStore>(store: &S, prefix: &str) {
        let alice = format!("{prefix}-alice");
        let sub = |context: Option<&str>, address: &str, since| Subscription {
            identity: alice.clone(),
            context: context.map(str::to_owned),
            address: address.to_owned(),
            since,
        };
        assert_eq!(store.subscriptions(&alice).await.unwrap(), []);
        store
            .subscribe(&sub(Some("shipment-1"), "a@example.org", 10))
            .await
            .unwrap();
        store.subscribe(&sub(None, "a@example.org", 11)).await.unwrap();
        store
            .subscribe(&sub(Some("shipment-1"), "b@example.org", 12))
            .await
            .unwrap();
        assert_eq!(
            store.subscriptions(&alice).await.unwrap(),
            [
                sub(None, "a@example.org", 11),
                sub(Some("shipment-1"), "b@example.org", 12)
            ],
            "one per (identity, context), the latest address"
        );
        assert!(store.unsubscribe(&alice, Some("shipment-1")).await.unwrap());
        assert!(
            !store.unsubscribe(&alice, Some("shipment-1")).await.unwrap(),
            "already gone"
        );
        assert!(store.unsubscribe(&alice, None).await.unwrap());
        assert_eq!(store.subscriptions(&alice).await.unwrap(), []);
    }
}
