//! Several instances of the token service on one Twilio (the stand-in) and
//! one shared store of aligned room sets (`twilio::aligned`), as Lambda
//! instances share the DynamoDB table: a renewal anywhere skips Twilio when
//! the rooms are the same, a room the token drops goes at once wherever the
//! renewal lands, a room added while another instance aligns is not hidden,
//! a room taken away on one instance and given back is joined again on
//! another, and a store that fails never lets a room stay.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use backend::app::Deps;
use backend::twilio::aligned::{AlignedRecord, AlignedStore, AlignedStoreError, MemoryAligned, StoreFuture};
use tokio::sync::Notify;

use crate::support::*;

/// One instance: its own memory, the given shared store (if any).
fn instance(jwks: &JwksServer, standin: &StandinServer, store: Option<Arc<dyn AlignedStore>>) -> TestApp {
    let mut deps = Deps::new(backend::http_client::build().unwrap());
    deps.policies = fast_policies();
    deps.aligned = store;
    TestApp::with_deps(&twilio_settings(&jwks.url, &standin.url), deps)
}

async fn start() -> (HostKey, JwksServer, StandinServer) {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    (key, jwks, StandinServer::start().await)
}

/// Twilio requests made by `request`.
async fn twilio_calls(standin: &StandinServer, request: impl std::future::Future<Output = Answer>) -> u64 {
    let before = standin.standin.requests();
    let answer = request.await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    standin.standin.requests() - before
}

#[tokio::test]
async fn a_renewal_on_another_instance_skips_twilio_when_the_rooms_are_the_same() {
    let (key, jwks, standin) = start().await;
    let store: Arc<dyn AlignedStore> = Arc::new(MemoryAligned::default());
    let a = instance(&jwks, &standin, Some(store.clone()));
    let b = instance(&jwks, &standin, Some(store));
    let alone = instance(&jwks, &standin, None);
    let token = key.token("alice", &["general", "shipment-1"]);
    assert!(twilio_calls(&standin, a.session(&token, "general")).await > 0);
    assert_eq!(
        twilio_calls(&standin, b.renew(&token)).await,
        0,
        "B read A's alignment from the store"
    );
    // without the store, an instance that never saw alice lists her rooms
    assert_eq!(twilio_calls(&standin, alone.renew(&token)).await, 1);
    // the same rooms in another order are the same set
    assert_eq!(
        twilio_calls(&standin, b.renew(&key.token("alice", &["shipment-1", "general"]))).await,
        0
    );
}

#[tokio::test]
async fn a_room_the_token_drops_goes_at_the_next_renewal_on_any_instance() {
    let (key, jwks, standin) = start().await;
    let store: Arc<dyn AlignedStore> = Arc::new(MemoryAligned::default());
    let a = instance(&jwks, &standin, Some(store.clone()));
    let b = instance(&jwks, &standin, Some(store));
    for room in ["general", "shipment-1"] {
        let answer = a.session(&key.token("alice", &["general", "shipment-1"]), room).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
    }
    assert_eq!(standin.standin.participants_of("shipment-1"), ["alice"]);
    let answer = b.renew(&key.token("alice", &["general"])).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert!(standin.standin.participants_of("shipment-1").is_empty());
    // and A, which aligned alice a moment ago, does not skip the new set either
    standin.standin.seed_participation("alice", "shipment-2");
    let answer = a.renew(&key.token("alice", &["shipment-1"])).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(standin.standin.participants_of("general"), Vec::<String>::new());
    assert!(standin.standin.participants_of("shipment-2").is_empty());
}

/// The shared store, with one `record` held until released (an instance
/// whose alignment is slow to be written down).
#[derive(Debug)]
struct HeldRecord {
    inner: Arc<MemoryAligned>,
    hold: AtomicBool,
    arrived: Notify,
    release: Notify,
}

impl AlignedStore for HeldRecord {
    fn read<'a>(&'a self, identity: &'a str) -> StoreFuture<'a, Option<AlignedRecord>> {
        self.inner.read(identity)
    }

    fn record<'a>(&'a self, identity: &'a str, rooms: &'a str, at: u64, seen: u64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            if self.hold.swap(false, Ordering::SeqCst) {
                self.arrived.notify_one();
                self.release.notified().await;
            }
            self.inner.record(identity, rooms, at, seen).await
        })
    }

    fn room_added<'a>(&'a self, identity: &'a str, at: u64) -> StoreFuture<'a, u64> {
        self.inner.room_added(identity, at)
    }

    fn rooms_removed<'a>(&'a self, identity: &'a str, at: u64) -> StoreFuture<'a, ()> {
        self.inner.rooms_removed(identity, at)
    }

    fn forget<'a>(&'a self, identity: &'a str, erase: bool) -> StoreFuture<'a, bool> {
        self.inner.forget(identity, erase)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_added_while_another_instance_aligns_is_not_hidden_by_its_record() {
    let (key, jwks, standin) = start().await;
    let shared = Arc::new(MemoryAligned::default());
    let held = Arc::new(HeldRecord {
        inner: shared.clone(),
        hold: AtomicBool::new(true),
        arrived: Notify::new(),
        release: Notify::new(),
    });
    let a = instance(&jwks, &standin, Some(shared.clone()));
    let b = Arc::new(instance(&jwks, &standin, Some(held.clone())));
    let c = instance(&jwks, &standin, Some(shared));
    standin.standin.seed_participation("alice", "general");
    // B aligns alice to {general} (her newest token) and has listed her
    // rooms, but not yet written the record down ...
    let renewal = {
        let (b, token) = (b.clone(), key.token("alice", &["general"]));
        tokio::spawn(async move { b.renew(&token).await })
    };
    held.arrived.notified().await;
    // ... when a session on A, with an older token still valid, adds shipment-1
    let answer = a
        .session(&key.token("alice", &["general", "shipment-1"]), "shipment-1")
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    held.release.notify_one();
    assert_eq!(renewal.await.unwrap().status, 200);
    // B's record would say {general} while alice is in shipment-1; it was
    // refused, so the next renewal with {general}, on any instance, lists
    // her rooms and takes shipment-1 away
    assert_eq!(standin.standin.participants_of("shipment-1"), ["alice"]);
    assert!(twilio_calls(&standin, c.renew(&key.token("alice", &["general"]))).await > 0);
    assert!(standin.standin.participants_of("shipment-1").is_empty());
}

/// A store that is down.
#[derive(Debug)]
struct Down {
    reads: AtomicBool,
}

impl AlignedStore for Down {
    fn read<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Option<AlignedRecord>> {
        self.reads.store(true, Ordering::SeqCst);
        Box::pin(async { Err(AlignedStoreError("throttled".into())) })
    }

    fn record<'a>(&'a self, _: &'a str, _: &'a str, _: u64, _: u64) -> StoreFuture<'a, bool> {
        Box::pin(async { Err(AlignedStoreError("throttled".into())) })
    }

    fn room_added<'a>(&'a self, _: &'a str, _: u64) -> StoreFuture<'a, u64> {
        Box::pin(async { Err(AlignedStoreError("throttled".into())) })
    }

    fn rooms_removed<'a>(&'a self, _: &'a str, _: u64) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(AlignedStoreError("throttled".into())) })
    }

    fn forget<'a>(&'a self, _: &'a str, _: bool) -> StoreFuture<'a, bool> {
        Box::pin(async { Err(AlignedStoreError("throttled".into())) })
    }
}

#[tokio::test]
async fn a_store_that_fails_means_aligning_on_twilio_and_adding_no_room() {
    let (key, jwks, standin) = start().await;
    let down = Arc::new(Down {
        reads: AtomicBool::new(false),
    });
    let app = instance(&jwks, &standin, Some(down.clone()));
    standin.standin.seed_participation("alice", "general");
    standin.standin.seed_participation("alice", "shipment-1");
    // a renewal still takes away the room the token dropped, through Twilio
    let answer = app.renew(&key.token("alice", &["general"])).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert!(down.reads.load(Ordering::SeqCst));
    assert!(standin.standin.participants_of("shipment-1").is_empty());
    // a room cannot be added while its record cannot be cleared: 503, and
    // the room stays empty
    let answer = app
        .session(&key.token("alice", &["general", "shipment-2"]), "shipment-2")
        .await;
    assert_eq!(answer.status, 503, "{}", answer.json);
    assert!(answer.headers.contains_key("retry-after"));
    assert!(standin.standin.participants_of("shipment-2").is_empty());
}

#[tokio::test]
async fn a_room_given_back_after_another_instance_took_it_away_is_joined_again_wherever_the_session_lands() {
    let (key, jwks, standin) = start().await;
    let store: Arc<dyn AlignedStore> = Arc::new(MemoryAligned::default());
    let a = instance(&jwks, &standin, Some(store.clone()));
    let b = instance(&jwks, &standin, Some(store));
    let both = key.token("alice", &["general", "shipment-1"]);
    let answer = a.session(&both, "shipment-1").await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(standin.standin.participants_of("shipment-1"), ["alice"]);
    // the host takes shipment-1 away; the renewal lands on B
    let answer = b.renew(&key.token("alice", &["general"])).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert!(standin.standin.participants_of("shipment-1").is_empty());
    // and gives it back; the session lands on A, which once added her
    let answer = a.session(&both, "shipment-1").await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(
        standin.standin.participants_of("shipment-1"),
        ["alice"],
        "A did not trust its memory of a participation B removed"
    );
    // a session in a room nobody took away still costs no Twilio call
    assert_eq!(twilio_calls(&standin, a.session(&both, "shipment-1")).await, 0);
}
