//! Twilio failing the ways networks fail (issue #28), through
//! `testkit::fault::FaultProxy` in front of the Twilio stand-in: a write
//! that took effect but lost its answer, a Twilio slower than the request's
//! deadline. Each test ends with the figures the promise is about: what
//! was answered, what exists on Twilio (nothing doubled), what was kept.

use std::time::Duration;

use testkit::fault::{Fault, FaultProxy};

use crate::support::*;

/// An app whose Twilio calls go through a fault proxy to the stand-in.
async fn app_behind_proxy(
    policies: backend::app::Policies,
) -> (TestApp, HostKey, JwksServer, StandinServer, FaultProxy) {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let standin = StandinServer::start().await;
    let proxy = FaultProxy::start(&standin.url).await.unwrap();
    let app = TestApp::new(&twilio_settings(&jwks.url, &proxy.url), policies);
    (app, key, jwks, standin, proxy)
}

#[tokio::test]
async fn a_write_that_took_effect_but_lost_its_answer_is_not_made_twice() {
    for (step, path) in [
        ("user", "/Users"),
        ("conversation", "/Conversations"),
        ("participant", "/Participants"),
    ] {
        let (app, key, _jwks, standin, proxy) = app_behind_proxy(fast_policies()).await;
        // Twilio does the write, then the connection drops before its answer
        proxy.inject("POST", path, Fault::ResetAfterForward, 1);
        let answer = app.session(&key.token("alice", &["general"]), "general").await;
        assert_eq!(answer.status, 200, "{step}: {}", answer.json);
        assert_eq!(proxy.faults(), 1, "{step}: the fault was met");
        let posts = proxy
            .seen()
            .iter()
            .filter(|s| s.method == "POST" && s.path.ends_with(path))
            .count();
        assert_eq!(posts, 2, "{step}: the write was sent again");
        // figures: answered 1, lost 0, doubled 0
        assert_eq!(standin.standin.user_identities(), ["alice"], "{step}");
        assert_eq!(standin.standin.conversation_names(), ["general"], "{step}");
        assert_eq!(standin.standin.participants_of("general"), ["alice"], "{step}");
    }
}

/// Fast retries, a deadline far shorter than three attempts' timeouts.
fn short_deadline() -> backend::app::Policies {
    let mut policies = fast_policies();
    policies.retry.timeout = Duration::from_secs(5);
    policies.provision.deadline = Duration::from_millis(300);
    policies
}

#[tokio::test]
async fn twilio_slower_than_the_deadline_is_a_503_with_retry_after_not_a_hang() {
    let (app, key, _jwks, standin, proxy) = app_behind_proxy(short_deadline()).await;
    proxy.inject("*", "/v1/", Fault::Delay(Duration::from_secs(2)), u32::MAX);
    let token = key.token("alice", &["general"]);
    let slow = app.session(&token, "general").await;
    assert_eq!(slow.status, 503, "{}", slow.json);
    assert_eq!(slow.json["error"], "chat_unavailable");
    assert_eq!(slow.headers["retry-after"], "5");
    assert!(slow.json.get("accessToken").is_none());
    // the deadline cut the request short while its first call waited:
    // no retry was started (5 s timeouts, 3 attempts, would be 15 s)
    assert_eq!(proxy.seen().len(), 1, "{:?}", proxy.seen());

    proxy.heal();
    let healed = app.session(&token, "general").await;
    assert_eq!(healed.status, 200, "{}", healed.json);
    assert_eq!(standin.standin.participants_of("general"), ["alice"]);
}

#[tokio::test]
async fn an_alignment_cut_short_by_the_deadline_is_done_again_before_a_token() {
    let (app, key, _jwks, standin, proxy) = app_behind_proxy(short_deadline()).await;
    // alice still takes part in a room her token no longer lists
    standin.standin.seed_participation("alice", "shipment-9");
    let token = key.token("alice", &["general"]);
    // the alignment's first call (listing her rooms) outlasts the deadline
    proxy.inject("*", "/v1/", Fault::Delay(Duration::from_secs(2)), 1);
    let slow = app.renew(&token).await;
    assert_eq!(slow.status, 503, "{}", slow.json);
    assert!(
        slow.json.get("accessToken").is_none(),
        "no token while the room may still be reachable"
    );

    proxy.heal();
    let renewed = app.renew(&token).await;
    assert_eq!(renewed.status, 200, "{}", renewed.json);
    assert_eq!(
        standin.standin.participants_of("shipment-9"),
        Vec::<String>::new(),
        "the renewal after the cut-short one aligned again"
    );
}
