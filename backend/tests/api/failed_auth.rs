//! The failed-verification limit per client address: an address whose
//! requests keep failing verification is answered 429 before its tokens
//! cost a signature check, and no other address (and no valid request)
//! is slowed by it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use backend::app::Deps;
use backend::clock::Clock;
use backend::config;

use crate::support::*;

const LIMIT: u32 = 5;

struct Fixture {
    app: TestApp,
    key: HostKey,
    _jwks: JwksServer,
    _standin: StandinServer,
    now_ms: Arc<AtomicU64>,
}

async fn fixture() -> Fixture {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let standin = StandinServer::start().await;
    let mut raw = twilio_settings(&jwks.url, &standin.url);
    raw.set(config::FAILED_AUTH_PER_MINUTE, LIMIT.to_string());
    let now_ms = Arc::new(AtomicU64::new(now() * 1000));
    let mut deps = Deps::new(backend::http_client::build().unwrap());
    deps.policies = fast_policies();
    let clock_ms = now_ms.clone();
    deps.clock = Clock::from_fn(move || clock_ms.load(Ordering::SeqCst));
    Fixture {
        app: TestApp::with_deps(&raw, deps),
        key,
        _jwks: jwks,
        _standin: standin,
        now_ms,
    }
}

/// `GET /v1/me` (verification only) from `from`.
async fn me_from(app: &TestApp, from: &str, token: &str) -> Answer {
    let peer: SocketAddr = from.parse().unwrap();
    let mut request = Request::builder()
        .method(Method::GET)
        .uri("/v1/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    app.send(request).await
}

fn junk(f: &Fixture) -> String {
    // a real token with its signature swapped for another token's: costs a verification
    let good = f.key.token("mallory", &["general"]);
    let other = f.key.token("alice", &["general"]);
    let (input, _) = good.rsplit_once('.').unwrap();
    let (_, signature) = other.rsplit_once('.').unwrap();
    format!("{input}.{signature}")
}

#[tokio::test]
async fn an_address_that_keeps_failing_is_answered_429_before_verification() {
    let f = fixture().await;
    let junk = junk(&f);
    for i in 0..LIMIT {
        let answer = me_from(&f.app, "192.0.2.7:5000", &junk).await;
        assert_eq!(answer.status, 401, "failure {i} is still verified: {}", answer.json);
    }
    let refused = me_from(&f.app, "192.0.2.7:5001", &junk).await;
    assert_eq!(refused.status, 429, "{}", refused.json);
    assert_eq!(refused.json["error"], "rate_limited");
    assert_eq!(refused.headers["retry-after"], "60");
    assert!(
        refused.json["message"]
            .as_str()
            .unwrap()
            .contains("invalid tokens from this address")
    );
    // refused before verification: even a valid token from that address waits
    let valid_from_junk_address = me_from(&f.app, "192.0.2.7:5002", &f.key.token("alice", &["general"])).await;
    assert_eq!(valid_from_junk_address.status, 429);
    // the same address written as IPv4-mapped IPv6 is the same address
    assert_eq!(me_from(&f.app, "[::ffff:192.0.2.7]:5003", &junk).await.status, 429);

    // another address is not slowed, with a valid token or a bad one
    let valid = me_from(&f.app, "198.51.100.1:6000", &f.key.token("alice", &["general"])).await;
    assert_eq!(valid.status, 200, "{}", valid.json);
    assert_eq!(me_from(&f.app, "198.51.100.2:6000", &junk).await.status, 401);

    // the window ends: the address is verified again
    f.now_ms.fetch_add(30_000, Ordering::SeqCst);
    let half_way = me_from(&f.app, "192.0.2.7:5004", &junk).await;
    assert_eq!(half_way.status, 429);
    assert_eq!(half_way.headers["retry-after"], "30");
    f.now_ms.fetch_add(30_000, Ordering::SeqCst);
    assert_eq!(me_from(&f.app, "192.0.2.7:5005", &junk).await.status, 401);
}

#[tokio::test]
async fn valid_requests_never_count() {
    let f = fixture().await;
    let token = f.key.token("alice", &["general"]);
    for _ in 0..(LIMIT * 20) {
        assert_eq!(me_from(&f.app, "203.0.113.9:7000", &token).await.status, 200);
    }
    let junk = junk(&f);
    for _ in 0..LIMIT {
        assert_eq!(me_from(&f.app, "203.0.113.9:7000", &junk).await.status, 401);
    }
    assert_eq!(me_from(&f.app, "203.0.113.9:7000", &token).await.status, 429);
}

#[tokio::test]
async fn without_a_client_address_the_limit_does_not_apply() {
    // the Lambda: API Gateway's throttling protects it; oneshot requests carry no ConnectInfo
    let f = fixture().await;
    let junk = junk(&f);
    for _ in 0..(LIMIT * 3) {
        assert_eq!(f.app.get("/v1/me", Some(&junk)).await.status, 401);
    }
}

#[tokio::test]
async fn one_ipv6_link_is_one_client_however_it_spells_its_address() {
    let f = fixture().await;
    let token = junk(&f);
    // a /64 is one subscriber's: rotating through it buys no new budget
    for n in 0..LIMIT {
        let answer = me_from(&f.app, &format!("[2001:db8:7:7::{n:x}]:4000"), &token).await;
        assert_eq!(answer.status.as_u16(), 401);
    }
    let answer = me_from(&f.app, "[2001:db8:7:7:abcd::1]:4000", &token).await;
    assert_eq!(answer.status.as_u16(), 429, "{:?}", answer.json);
    // the next /64 is someone else
    let answer = me_from(&f.app, "[2001:db8:7:8::1]:4000", &token).await;
    assert_eq!(answer.status.as_u16(), 401);
}
