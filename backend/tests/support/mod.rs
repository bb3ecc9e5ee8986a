//! Test helpers shared by the API and contract test binaries: host keys and
//! tokens, a controllable JWKS server on loopback, the Twilio stand-in, and
//! an app driven through its router without a socket.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use backend::app::{AppState, Deps, LocalProvider, Policies};
use backend::config::{self, RawSettings, Settings, TwilioRequirement};
use backend::http_client::RetryPolicy;
use backend::tokens::es256::{SigningKey, legacy_jwk, standard_jwk};
use backend::tokens::host_jwt;
use backend::tokens::jwks::JwksPolicy;
use backend::twilio::provision::ProvisionPolicy;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const API_KEY_SID: &str = "SK0123456789abcdef0123456789abcdef";
pub const API_KEY_SECRET: &str = "test-api-key-secret-0123456789";
pub const AUTH_TOKEN: &str = "test-auth-token-0123456789";
pub const SERVICE_SID: &str = "IS0123456789abcdef0123456789abcdef";

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A host signing key and its kid.
pub struct HostKey {
    pub kid: String,
    pub key: SigningKey,
}

impl HostKey {
    pub fn new(kid: &str) -> Self {
        Self {
            kid: kid.to_owned(),
            key: SigningKey::generate().unwrap(),
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        host_jwt::sign(&self.key, &self.kid, claims).unwrap()
    }

    pub fn token(&self, sub: &str, contexts: &[&str]) -> String {
        self.sign(&json!({ "sub": sub, "contexts": contexts, "iat": now(), "exp": now() + 600 }))
    }

    pub fn standard_jwk(&self) -> Value {
        serde_json::to_value(standard_jwk(&self.kid, &self.key.public_key())).unwrap()
    }

    pub fn legacy_jwk(&self) -> Value {
        serde_json::to_value(legacy_jwk(&self.kid, &self.key.public_key())).unwrap()
    }
}

/// The host's JWKS endpoint on loopback: what it serves can be changed,
/// it can be taken down and brought back, and it counts fetches.
pub struct JwksServer {
    pub url: String,
    state: Arc<JwksServerState>,
    task: tokio::task::JoinHandle<()>,
}

struct JwksServerState {
    body: std::sync::Mutex<Value>,
    cache_control: std::sync::Mutex<String>,
    down: AtomicBool,
    fetches: AtomicU64,
}

impl JwksServer {
    pub async fn start(keys: Vec<Value>) -> Self {
        let state = Arc::new(JwksServerState {
            body: std::sync::Mutex::new(json!({ "keys": keys })),
            cache_control: std::sync::Mutex::new("max-age=300".into()),
            down: AtomicBool::new(false),
            fetches: AtomicU64::new(0),
        });
        let shared = state.clone();
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let state = shared.clone();
                async move {
                    state.fetches.fetch_add(1, Ordering::SeqCst);
                    if state.down.load(Ordering::SeqCst) {
                        return (StatusCode::SERVICE_UNAVAILABLE, HeaderMap::new(), String::new());
                    }
                    let mut headers = HeaderMap::new();
                    headers.insert("cache-control", state.cache_control.lock().unwrap().parse().unwrap());
                    (StatusCode::OK, headers, state.body.lock().unwrap().to_string())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, state, task }
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.state.body.lock().unwrap() = json!({ "keys": keys });
    }

    pub fn set_cache_control(&self, value: &str) {
        *self.state.cache_control.lock().unwrap() = value.to_owned();
    }

    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    pub fn fetches(&self) -> u64 {
        self.state.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The Twilio stand-in on loopback.
pub struct StandinServer {
    pub url: String,
    pub standin: twilio_standin::Standin,
    task: tokio::task::JoinHandle<()>,
}

impl StandinServer {
    pub async fn start() -> Self {
        let standin = twilio_standin::Standin::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = twilio_standin::router(standin.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, standin, task }
    }
}

impl Drop for StandinServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Policies with short waits, so failure paths run fast.
pub fn fast_policies() -> Policies {
    Policies {
        jwks: JwksPolicy {
            failure_backoff: Duration::ZERO,
            timeout: Duration::from_secs(2),
            ..JwksPolicy::default()
        },
        retry: RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            timeout: Duration::from_secs(2),
        },
        provision: ProvisionPolicy::default(),
    }
}

/// Settings for a Twilio-backed app whose REST calls go to `twilio_url`.
pub fn twilio_settings(jwks_url: &str, twilio_url: &str) -> RawSettings {
    let mut raw = RawSettings::env_named();
    raw.set(config::JWKS_URL, jwks_url)
        .set(config::TWILIO_ACCOUNT_SID, ACCOUNT_SID)
        .set(config::TWILIO_API_KEY, API_KEY_SID)
        .set(config::TWILIO_API_SECRET, API_KEY_SECRET)
        .set(config::TWILIO_AUTH_TOKEN, AUTH_TOKEN)
        .set(config::TWILIO_CHAT_SERVICE_SID, SERVICE_SID)
        .set(config::TWILIO_BASE_URL, twilio_url)
        .set(config::PUBLIC_URL, PUBLIC_URL);
    raw
}

/// The API's public URL in [`twilio_settings`]: where Twilio's webhook is
/// registered (`<this>/v1/webhooks/twilio`), so what its signatures cover.
pub const PUBLIC_URL: &str = "https://abc.execute-api.eu-west-1.amazonaws.com";

/// The app, driven through its router with `oneshot` (no socket).
pub struct TestApp {
    pub router: axum::Router,
    pub state: Arc<AppState>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub raw: Vec<u8>,
    pub json: Value,
}

impl TestApp {
    pub fn new(raw: &RawSettings, policies: Policies) -> Self {
        Self::with_local(raw, policies, None)
    }

    /// An app whose settings name no Twilio service, with this local provider.
    pub fn with_local(raw: &RawSettings, policies: Policies, local: Option<LocalProvider>) -> Self {
        let mut deps = Deps::new(backend::http_client::build().unwrap());
        deps.policies = policies;
        deps.local = local;
        Self::with_deps(raw, deps)
    }

    /// An app built from these settings and dependencies (e.g. a test clock).
    pub fn with_deps(raw: &RawSettings, deps: Deps) -> Self {
        let settings = Settings::parse(raw, TwilioRequirement::Optional).unwrap();
        let state = Arc::new(AppState::new(&settings, deps).unwrap());
        Self {
            router: backend::api::router(state.clone(), backend::api::HttpOptions::from_settings(&settings)),
            state,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        let json = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            raw,
            json,
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_raw(path, "application/json", body.to_string().into_bytes())
            .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Answer {
        let mut request = Request::builder().method(Method::GET).uri(path);
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// `POST /v1/token` with the host token, as the widget renews.
    pub async fn renew(&self, token: &str) -> Answer {
        self.post("/v1/token", &json!({ "token": token })).await
    }

    pub async fn session(&self, token: &str, context: &str) -> Answer {
        self.post(
            "/v1/session",
            &json!({ "token": token, "context": context, "deviceId": "test-device" }),
        )
        .await
    }
}

/// An app on Twilio (the stand-in) with a host key and its JWKS server.
pub async fn twilio_app_with(policies: Policies) -> (TestApp, HostKey, JwksServer, StandinServer) {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let standin = StandinServer::start().await;
    let app = TestApp::new(&twilio_settings(&jwks.url, &standin.url), policies);
    (app, key, jwks, standin)
}

pub async fn twilio_app() -> (TestApp, HostKey, JwksServer, StandinServer) {
    twilio_app_with(fast_policies()).await
}

/// Decodes the payload of a JWT without verifying it.
pub fn jwt_payload(jwt: &str) -> Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}
