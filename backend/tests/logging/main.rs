//! What the service logs: errors once, with their internal detail, and
//! never a token, a key or a secret.
//!
//! A test binary of its own, with this one test: `tracing` caches per call
//! site whether anyone listens, and a call site another test's thread
//! registers while this test installs its subscriber can keep "nobody"
//! (seen twice in the API binary, once the route-walking test made 4xx
//! answers on every thread). Alone in its process, nothing races it.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_errors_but_never_tokens_or_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // a call site registered before this subscriber existed (none should
    // be, alone in this binary) is asked again
    tracing::callsite::rebuild_interest_cache();

    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let standin = StandinServer::start().await;
    let app = TestApp::new(&twilio_settings(&jwks.url, &standin.url), fast_policies());
    let good = key.token("alice", &["general"]);
    let expired = key.sign(&json!({ "sub": "alice", "contexts": ["general"], "exp": now() - 3600 }));

    let session = app.session(&good, "general").await;
    assert_eq!(session.status, 200);
    let access_token = session.json["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(app.session(&expired, "general").await.status, 401);
    assert_eq!(app.session(&good, "shipment-1").await.status, 403);
    standin.standin.fail_next(503, 10);
    assert_eq!(
        app.session(&key.token("bob", &["general"]), "general").await.status,
        503
    );
    // a second instance that starts while the host's JWKS is down
    jwks.set_down(true);
    let cold = TestApp::new(&twilio_settings(&jwks.url, &standin.url), fast_policies());
    assert_eq!(cold.renew(&good).await.status, 503);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // the errors are there, once each, with their detail
    assert_eq!(logs.matches("invalid_token: token has expired").count(), 1, "{logs}");
    assert_eq!(logs.matches("context_not_allowed").count(), 1, "{logs}");
    assert!(logs.contains("chat_unavailable") && logs.contains("HTTP 503"), "{logs}");
    assert!(logs.contains("keys_unavailable"), "{logs}");
    // and nothing secret is
    for secret in [
        &good,
        &expired,
        &access_token,
        &API_KEY_SECRET.to_owned(),
        &AUTH_TOKEN.to_owned(),
    ] {
        let probe = &secret[secret.len().saturating_sub(24)..];
        assert!(!logs.contains(probe), "a secret or token reached the log:\n{logs}");
    }
}
