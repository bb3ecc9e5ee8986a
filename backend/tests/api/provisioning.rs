//! Provisioning against the Twilio stand-in: races, revocation, rate
//! limits, and Twilio failing in each way it can.

use std::sync::Arc;

use crate::support::*;
use backend::twilio::provision::ProvisionPolicy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_first_sessions_for_a_new_context_both_succeed() {
    let (app, key, _jwks, standin) = twilio_app_with(fast_policies()).await;
    // Both sessions look the conversation up before either creates it, so
    // both try to create it and one meets "already exists".
    standin.standin.hold("GET", "/Conversations/shipment-9", 2);
    let app = Arc::new(app);
    let mut sessions = tokio::task::JoinSet::new();
    for user in ["alice", "bob"] {
        let (app, token) = (app.clone(), key.token(user, &["shipment-9"]));
        sessions.spawn(async move { app.session(&token, "shipment-9").await });
    }
    let mut sids = Vec::new();
    while let Some(answer) = sessions.join_next().await {
        let answer = answer.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.json);
        sids.push(answer.json["conversationSid"].as_str().unwrap().to_owned());
    }
    assert_eq!(sids[0], sids[1]);
    assert_eq!(standin.standin.conversation_names(), ["shipment-9"]);
    let mut members = standin.standin.participants_of("shipment-9");
    members.sort();
    assert_eq!(members, ["alice", "bob"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_user_twice_at_once_is_fine_too() {
    let (app, key, _jwks, standin) = twilio_app_with(fast_policies()).await;
    standin.standin.hold("GET", "/Participants/alice", 2);
    let app = Arc::new(app);
    let token = key.token("alice", &["general"]);
    let mut sessions = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let (app, token) = (app.clone(), token.clone());
        sessions.spawn(async move { app.session(&token, "general").await.status });
    }
    while let Some(status) = sessions.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(standin.standin.participants_of("general"), ["alice"]);
}

/// Policies whose revocation interval outlasts the test: only the token decides.
fn long_interval() -> backend::app::Policies {
    let mut policies = fast_policies();
    policies.provision = ProvisionPolicy {
        revocation_interval: std::time::Duration::from_secs(3600),
        ..Default::default()
    };
    policies
}

#[tokio::test]
async fn contexts_dropped_from_the_token_are_revoked() {
    let (app, key, _jwks, standin) = twilio_app_with(long_interval()).await;
    // Earlier tokens let alice into two rooms, and a room DAChat did not make.
    standin.standin.seed_participation("alice", "shipment-1");
    standin.standin.seed_participation("alice", "group-private-3");
    standin.standin.seed_participation("bob", "shipment-1");
    let answer = app
        .session(&key.token("alice", &["general", "group-private-3"]), "general")
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(
        standin.standin.participants_of("shipment-1"),
        ["bob"],
        "alice lost shipment-1"
    );
    assert_eq!(
        standin.standin.participants_of("group-private-3"),
        ["alice"],
        "allowed rooms stay"
    );
    assert_eq!(standin.standin.participants_of("general"), ["alice"]);

    // Within the interval, a token that still allows everything granted
    // since does not list again (a room added behind our back waits for the interval).
    standin.standin.seed_participation("alice", "shipment-1");
    let calls = standin.standin.requests();
    assert_eq!(
        app.session(&key.token("alice", &["general", "group-private-3"]), "general")
            .await
            .status,
        200
    );
    assert_eq!(standin.standin.requests(), calls);
    // A token that drops a room granted here aligns at once, even within the interval.
    let answer = app.session(&key.token("alice", &["general"]), "general").await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(standin.standin.participants_of("group-private-3"), Vec::<String>::new());
    assert_eq!(standin.standin.participants_of("shipment-1"), ["bob"]);
}

#[tokio::test]
async fn a_renewal_takes_away_the_rooms_its_token_dropped() {
    let (app, key, _jwks, standin) = twilio_app_with(long_interval()).await;
    let both = key.token("alice", &["general", "shipment-1"]);
    assert_eq!(app.session(&both, "general").await.status, 200);
    assert_eq!(app.session(&both, "shipment-1").await.status, 200);
    assert_eq!(standin.standin.participants_of("shipment-1"), ["alice"]);

    // the same token renewed: nothing to align, no REST call
    let calls = standin.standin.requests();
    let renewal = app.renew(&both).await;
    assert_eq!(renewal.status, 200, "{}", renewal.json);
    assert_eq!(standin.standin.requests(), calls);

    // the host removed alice from the shipment: the next renewal takes it away
    let renewal = app.renew(&key.token("alice", &["general"])).await;
    assert_eq!(renewal.status, 200, "{}", renewal.json);
    assert_eq!(standin.standin.participants_of("shipment-1"), Vec::<String>::new());
    assert_eq!(standin.standin.participants_of("general"), ["alice"]);
}

#[tokio::test]
async fn a_renewal_on_an_instance_that_never_saw_the_user_lists_first() {
    // another instance (or this one before a restart) granted the room
    let (app, key, _jwks, standin) = twilio_app().await;
    standin.standin.seed_participation("alice", "shipment-1");
    let renewal = app.renew(&key.token("alice", &["general"])).await;
    assert_eq!(renewal.status, 200, "{}", renewal.json);
    assert_eq!(standin.standin.participants_of("shipment-1"), Vec::<String>::new());
}

#[tokio::test]
async fn no_token_is_handed_out_while_a_dropped_room_cannot_be_taken_away() {
    let (app, key, _jwks, standin) = twilio_app().await;
    standin.standin.seed_participation("alice", "shipment-1");
    standin.standin.fail_next(503, 100);
    let renewal = app.renew(&key.token("alice", &["general"])).await;
    assert_eq!(renewal.status, 503, "{}", renewal.json);
    assert_eq!(renewal.json["error"], "chat_unavailable");
    assert!(renewal.json.get("accessToken").is_none());
    standin.standin.fail_next(503, 0);
    let renewal = app.renew(&key.token("alice", &["general"])).await;
    assert_eq!(renewal.status, 200, "{}", renewal.json);
    assert_eq!(standin.standin.participants_of("shipment-1"), Vec::<String>::new());
}

#[tokio::test]
async fn twilio_down_is_a_503_with_retry_after_and_recovers() {
    let (app, key, _jwks, standin) = twilio_app_with(fast_policies()).await;
    standin.standin.fail_next(503, 100);
    let token = key.token("alice", &["general"]);
    let down = app.session(&token, "general").await;
    assert_eq!(down.status, 503, "{}", down.json);
    assert_eq!(down.json["error"], "chat_unavailable");
    assert_eq!(down.headers["retry-after"], "5");
    assert_eq!(standin.standin.requests(), 3, "three attempts, then give up");
    standin.standin.reset();
    assert_eq!(app.session(&token, "general").await.status, 200);
}

#[tokio::test]
async fn a_passing_429_or_500_is_retried() {
    let (app, key, _jwks, standin) = twilio_app_with(fast_policies()).await;
    standin.standin.fail_next(429, 1);
    assert_eq!(
        app.session(&key.token("alice", &["general"]), "general").await.status,
        200
    );
    standin.standin.fail_next(500, 2);
    assert_eq!(
        app.session(&key.token("bob", &["general"]), "general").await.status,
        200
    );
}

#[tokio::test]
async fn twilio_refusing_our_credentials_is_a_502() {
    let (app, key, _jwks, standin) = twilio_app_with(fast_policies()).await;
    standin.standin.fail_next(401, 1);
    let answer = app.session(&key.token("alice", &["general"]), "general").await;
    assert_eq!(answer.status, 502, "{}", answer.json);
    assert_eq!(answer.json["error"], "chat_error");
    assert_eq!(standin.standin.requests(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn twilio_unreachable_is_a_503() {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    // a port nothing listens on
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = TestApp::new(
        &twilio_settings(&jwks.url, &format!("http://{closed}")),
        fast_policies(),
    );
    let answer = app.session(&key.token("alice", &["general"]), "general").await;
    assert_eq!(answer.status, 503, "{}", answer.json);
    assert_eq!(answer.json["error"], "chat_unavailable");
}

#[tokio::test]
async fn sessions_that_cost_rest_calls_are_rate_limited_per_identity() {
    let mut policies = fast_policies();
    policies.provision.sessions_per_minute = 2;
    let (app, key, _jwks, _standin) = twilio_app_with(policies).await;
    let token = key.token("alice", &["c1", "c2", "c3"]);
    assert_eq!(app.session(&token, "c1").await.status, 200);
    assert_eq!(app.session(&token, "c2").await.status, 200);
    let limited = app.session(&token, "c3").await;
    assert_eq!(limited.status, 429, "{}", limited.json);
    assert_eq!(limited.json["error"], "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
    // remembered sessions cost nothing and are not limited
    assert_eq!(app.session(&token, "c1").await.status, 200);
    // other users are not affected
    assert_eq!(app.session(&key.token("bob", &["c3"]), "c3").await.status, 200);
}

#[tokio::test]
async fn a_room_granted_behind_this_instance_goes_within_one_interval() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let standin = StandinServer::start().await;
    let now_ms = Arc::new(AtomicU64::new(now() * 1000));
    let clock_ms = now_ms.clone();
    let mut deps = backend::app::Deps::new(backend::http_client::build().unwrap());
    deps.policies = fast_policies();
    deps.clock = backend::clock::Clock::from_fn(move || clock_ms.load(Ordering::SeqCst));
    let interval = deps.policies.provision.revocation_interval;
    assert_eq!(
        interval.as_secs(),
        120,
        "the default the README's worst case is stated with"
    );
    let app = TestApp::with_deps(&twilio_settings(&jwks.url, &standin.url), deps);

    let token = key.token("alice", &["general"]);
    assert_eq!(app.session(&token, "general").await.status, 200);
    // another instance let alice into shipment-1 with a token the host has since replaced
    standin.standin.seed_participation("alice", "shipment-1");
    now_ms.fetch_add(interval.as_millis() as u64 - 1_000, Ordering::SeqCst);
    assert_eq!(app.renew(&token).await.status, 200);
    assert_eq!(
        standin.standin.participants_of("shipment-1"),
        ["alice"],
        "within the interval"
    );
    now_ms.fetch_add(1_000, Ordering::SeqCst);
    assert_eq!(app.renew(&token).await.status, 200);
    assert_eq!(
        standin.standin.participants_of("shipment-1"),
        Vec::<String>::new(),
        "gone at the first renewal after the interval"
    );
}
