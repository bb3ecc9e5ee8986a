//! What the local provider's socket tests share: the local server (the
//! token service's router and the provider's own routes) on a loopback
//! port, trusting one host key, and host tokens signed with it.
#![allow(dead_code)] // each test binary uses what it needs

use std::sync::Arc;

use backend::api::HttpOptions;
use backend::app::{AppState, Deps};
use backend::config::{self, RawSettings, Settings, TwilioRequirement};
use backend::http_client;
use backend::tokens::es256::{KeySet, SigningKey};
use backend::tokens::host_jwt;
use local_chat::LocalChat;
use serde_json::json;

/// A running local server.
pub struct Served {
    /// `127.0.0.1:<port>`
    pub base: String,
    /// The host key its `/v1/session` trusts (kid `k1`).
    pub key: SigningKey,
    /// Its router, for requests a socket cannot make (a body that fails half way).
    pub router: axum::Router,
}

/// Starts the server with `extra` settings and the provider `open` makes
/// from the parsed settings; refusals are the API's JSON on every route.
pub async fn serve(extra: &[(config::Setting, &str)], open: impl FnOnce(&Settings) -> LocalChat) -> Served {
    let key = SigningKey::generate().unwrap();
    let mut keys = KeySet::default();
    keys.insert("k1", key.public_key());
    let mut raw = RawSettings::env_named();
    raw.set(config::JWKS_URL, "http://127.0.0.1:9/unused");
    for (setting, value) in extra {
        raw.set(*setting, *value);
    }
    let settings = Settings::parse(&raw, TwilioRequirement::Optional).unwrap();
    let chat = open(&settings);
    let mut deps = Deps::new(http_client::build().unwrap());
    deps.fixed_keys = Some(keys);
    deps.local = Some(chat.provider());
    let state = AppState::new(&settings, deps).unwrap();
    let router = chat
        .router()
        .layer(axum::middleware::from_fn(backend::api::json_errors))
        .merge(backend::api::router(
            Arc::new(state),
            HttpOptions::from_settings(&settings),
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let serving = router.clone();
    tokio::spawn(async move { axum::serve(listener, serving).await.unwrap() });
    Served { base, key, router }
}

/// A host token for `sub` listing `contexts`, valid 10 minutes.
pub fn host_token(key: &SigningKey, sub: &str, contexts: &[&str]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    host_jwt::sign(
        key,
        "k1",
        &json!({ "sub": sub, "contexts": contexts, "exp": now + 600 }),
    )
    .unwrap()
}
