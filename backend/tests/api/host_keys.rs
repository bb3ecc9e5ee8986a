//! The host's JWKS as the service sees it: fetched on demand, cached,
//! refetched for a new kid at most once per interval, shared by concurrent
//! requests, and survived when the host is down.

use std::time::Duration;

use backend::tokens::jwks::JwksPolicy;
use serde_json::json;

use crate::support::*;

async fn app_with(jwks: &JwksServer, policy: JwksPolicy) -> (TestApp, StandinServer) {
    let standin = StandinServer::start().await;
    let mut policies = fast_policies();
    policies.jwks = policy;
    (
        TestApp::new(&twilio_settings(&jwks.url, &standin.url), policies),
        standin,
    )
}

async fn renew(app: &TestApp, token: &str) -> Answer {
    app.renew(token).await
}

#[tokio::test]
async fn keys_are_fetched_once_and_cached() {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let (app, _standin) = app_with(&jwks, fast_policies().jwks).await;
    assert_eq!(jwks.fetches(), 0, "nothing is fetched before it is needed");
    for user in ["a", "b", "c"] {
        assert_eq!(renew(&app, &key.token(user, &[])).await.status, 200);
    }
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_fetch() {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let (app, _standin) = app_with(&jwks, fast_policies().jwks).await;
    let app = std::sync::Arc::new(app);
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..32 {
        let (app, token) = (app.clone(), key.token(&format!("user{i}"), &[]));
        requests.spawn(async move { renew(&app, &token).await.status });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn a_new_kid_triggers_one_refetch_per_interval() {
    let old = HostKey::new("old");
    let new = HostKey::new("new");
    let jwks = JwksServer::start(vec![old.standard_jwk()]).await;
    let policy = JwksPolicy {
        unknown_kid_interval: Duration::from_secs(3600),
        ..fast_policies().jwks
    };
    let (app, _standin) = app_with(&jwks, policy).await;
    assert_eq!(renew(&app, &old.token("a", &[])).await.status, 200);
    assert_eq!(jwks.fetches(), 1);

    // The host rotates: the new key is published, a token signed with it arrives.
    jwks.set_keys(vec![old.standard_jwk(), new.standard_jwk()]);
    // The first fetch was just now, so the interval has not passed: no refetch yet.
    assert_eq!(renew(&app, &new.token("a", &[])).await.status, 401);
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn key_rotation_is_picked_up_with_a_single_refetch() {
    let old = HostKey::new("old");
    let new = HostKey::new("new");
    let jwks = JwksServer::start(vec![old.standard_jwk()]).await;
    let policy = JwksPolicy {
        unknown_kid_interval: Duration::ZERO,
        ..fast_policies().jwks
    };
    let (app, _standin) = app_with(&jwks, policy).await;
    assert_eq!(renew(&app, &old.token("a", &[])).await.status, 200);
    jwks.set_keys(vec![old.standard_jwk(), new.standard_jwk()]);
    assert_eq!(renew(&app, &new.token("a", &[])).await.status, 200);
    assert_eq!(jwks.fetches(), 2);
    // An unknown kid still costs at most one fetch per request, and is refused.
    let stranger = HostKey::new("stranger");
    assert_eq!(renew(&app, &stranger.token("a", &[])).await.status, 401);
    assert_eq!(jwks.fetches(), 3);
}

#[tokio::test]
async fn host_down_gives_503_then_recovers_without_restart() {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    jwks.set_down(true);
    let (app, _standin) = app_with(&jwks, fast_policies().jwks).await;
    let down = app.session(&key.token("a", &["general"]), "general").await;
    assert_eq!(down.status, 503, "{}", down.json);
    assert_eq!(down.json["error"], "keys_unavailable");
    assert_eq!(down.headers["retry-after"], "5");
    // a failure is not cached: the next request tries again and succeeds
    jwks.set_down(false);
    let up = app.renew(&key.token("a", &["general"])).await;
    assert_eq!(up.status, 200, "{}", up.json);
}

#[tokio::test]
async fn the_last_good_keys_serve_while_the_host_is_down() {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    // keys go stale at once, so every request wants a refresh
    jwks.set_cache_control("max-age=0");
    let policy = JwksPolicy {
        min_ttl: Duration::ZERO,
        ..fast_policies().jwks
    };
    let (app, _standin) = app_with(&jwks, policy).await;
    assert_eq!(renew(&app, &key.token("a", &[])).await.status, 200);
    jwks.set_down(true);
    let answer = renew(&app, &key.token("b", &[])).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(jwks.fetches(), 2, "the refresh was tried");
}

#[tokio::test]
async fn an_unusable_jwks_is_a_503_not_a_401() {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![json!({ "kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB" })]).await;
    let (app, _standin) = app_with(&jwks, fast_policies().jwks).await;
    let answer = renew(&app, &key.token("a", &[])).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.json["error"], "keys_unavailable");
}
