//! The memory store against the suite, and how often mutes are looked for.

use super::*;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The memory store, counting its reads of mutes.
#[derive(Debug, Default)]
struct Counted {
    inner: MemoryModeration,
    reads: AtomicUsize,
}

impl ModerationStore for Counted {
    fn act<'a>(&'a self, action: &'a Action) -> StoreFuture<'a, ()> {
        self.inner.act(action)
    }
    fn mutes<'a>(&'a self, identity: &'a str) -> StoreFuture<'a, Vec<Mute>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.mutes(identity)
    }
    fn report<'a>(&'a self, report: &'a Report) -> StoreFuture<'a, Report> {
        self.inner.report(report)
    }
    fn reports<'a>(&'a self, room: &'a str, limit: u32) -> StoreFuture<'a, Vec<Report>> {
        self.inner.reports(room, limit)
    }
    fn reports_by<'a>(&'a self, reporter: &'a str, since: i64) -> StoreFuture<'a, u32> {
        self.inner.reports_by(reporter, since)
    }
    fn actions<'a>(&'a self, room: Option<&'a str>) -> StoreFuture<'a, Vec<Action>> {
        self.inner.actions(room)
    }
}

#[tokio::test]
async fn mutes_past_their_end_are_looked_for_once_a_minute_per_identity() {
    let store = Arc::new(Counted::default());
    let now = Arc::new(AtomicU64::new(1_000_000));
    let clock = {
        let now = now.clone();
        Clock::from_fn(move || now.load(Ordering::SeqCst))
    };
    // no REST call is made: nobody is muted
    let settings = crate::config::TwilioSettings {
        account_sid: "AC0".into(),
        api_key_sid: "SK0".into(),
        api_key_secret: crate::secret::Secret::new("unused".into()),
        auth_token: None,
        auth_token_missing: String::new(),
        chat_service_sid: "IS0".into(),
        base_url: "http://127.0.0.1:9".into(),
    };
    let rest = ConversationsClient::new(reqwest::Client::new(), &settings, Default::default());
    let moderation = TwilioModeration::new(rest, store.clone(), clock);
    let (ana, bo) = (Identity::parse("ana").unwrap(), Identity::parse("bo").unwrap());
    for _ in 0..3 {
        assert_eq!(moderation.lift_due(&ana).await, Ok(0));
    }
    assert_eq!(moderation.lift_due(&bo).await, Ok(0));
    assert_eq!(store.reads.load(Ordering::SeqCst), 2, "one look each");
    now.fetch_add(60_000, Ordering::SeqCst);
    assert_eq!(moderation.lift_due(&ana).await, Ok(0));
    assert_eq!(store.reads.load(Ordering::SeqCst), 3, "a minute on, another");
}

#[tokio::test]
async fn the_memory_store_passes_the_suite() {
    suite::run(&MemoryModeration::default()).await;
}
