//! The happy paths of every endpoint, with both providers.

use backend::app::{AppState, Deps, LocalProvider, LocalRooms};
use backend::domain::{ContextName, Identity};
use backend::secret::Secret;
use backend::tokens::local_token::LocalTokenKey;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_session_provisions_twilio_and_returns_a_chat_token() {
    let (app, key, _jwks, standin) = twilio_app().await;
    let token = key.token("alice", &["general", "shipment-123"]);
    let before = now();
    let answer = app.session(&token, "shipment-123").await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let body = &answer.json;
    assert_eq!(body["identity"], "alice");
    assert_eq!(body["contexts"], json!(["general", "shipment-123"]));
    assert_eq!(body["context"], "shipment-123");
    assert_eq!(body["provider"], "twilio");
    let sid = body["conversationSid"].as_str().unwrap();
    assert!(sid.starts_with("CH") && sid.len() == 34, "{sid}");
    let expires_at = body["expiresAt"].as_u64().unwrap();
    assert!((before + 3600..=now() + 3600).contains(&expires_at));

    let claims = jwt_payload(body["accessToken"].as_str().unwrap());
    assert_eq!(claims["grants"]["identity"], "alice");
    assert_eq!(claims["grants"]["chat"]["service_sid"], SERVICE_SID);
    assert_eq!(claims["grants"]["chat"]["endpoint_id"], "dachat:alice:test-device");
    assert_eq!(claims["iss"], API_KEY_SID);
    assert_eq!(claims["sub"], ACCOUNT_SID);
    assert_eq!(claims["exp"].as_u64(), Some(expires_at));

    assert_eq!(standin.standin.conversation_names(), ["shipment-123"]);
    assert_eq!(standin.standin.participants_of("shipment-123"), ["alice"]);
}

#[tokio::test]
async fn a_repeat_session_makes_no_rest_call() {
    let (app, key, _jwks, standin) = twilio_app().await;
    let token = key.token("alice", &["general"]);
    assert_eq!(app.session(&token, "general").await.status, 200);
    let calls = standin.standin.requests();
    assert!(calls > 0);
    let again = app.session(&token, "general").await;
    assert_eq!(again.status, 200);
    assert_eq!(
        standin.standin.requests(),
        calls,
        "the second session must be served from memory"
    );
}

#[tokio::test]
async fn a_second_user_joins_the_same_conversation() {
    let (app, key, _jwks, standin) = twilio_app().await;
    let a = app.session(&key.token("alice", &["general"]), "general").await;
    let b = app.session(&key.token("bob", &["general"]), "general").await;
    assert_eq!(a.json["conversationSid"], b.json["conversationSid"]);
    let mut members = standin.standin.participants_of("general");
    members.sort();
    assert_eq!(members, ["alice", "bob"]);
}

#[tokio::test]
async fn token_renewal_verifies_aligns_once_and_mints() {
    let (app, key, _jwks, standin) = twilio_app().await;
    let token = key.token("alice", &["general"]);
    let answer = app.renew(&token).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    let claims = jwt_payload(answer.json["accessToken"].as_str().unwrap());
    assert_eq!(claims["grants"]["chat"]["endpoint_id"], "dachat:alice:web");
    assert_eq!(answer.json["expiresAt"], claims["exp"]);
    assert_eq!(standin.standin.requests(), 1, "one listing of alice's participations");
    // renewed again with the same rooms: no REST call
    assert_eq!(app.renew(&token).await.status, 200);
    assert_eq!(standin.standin.requests(), 1);
}

#[tokio::test]
async fn me_answers_who_the_token_names() {
    let (app, key, _jwks, _standin) = twilio_app().await;
    let token = key.token("alice", &["general", "group-private-7"]);
    let answer = app.get("/v1/me", Some(&token)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json,
        json!({ "identity": "alice", "contexts": ["general", "group-private-7"] })
    );
    let missing = app.get("/v1/me", None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json["error"], "invalid_token");
}

#[tokio::test]
async fn health_and_unknown_routes() {
    let (app, _key, _jwks, _standin) = twilio_app().await;
    let health = app.get("/healthz", None).await;
    assert_eq!(
        (health.status.as_u16(), health.json.clone()),
        (200, json!({ "status": "ok" }))
    );
    let missing = app.get("/v2/nothing", None).await;
    assert_eq!(
        (missing.status.as_u16(), missing.json["error"].clone()),
        (404, json!("not_found"))
    );
    let wrong_method = app.get("/v1/session", None).await;
    assert_eq!(
        (wrong_method.status.as_u16(), wrong_method.json["error"].clone()),
        (405, json!("method_not_allowed"))
    );
    // without a dev key nothing is published
    assert_eq!(app.get("/.well-known/jwks.json", None).await.status, 404);
}

#[tokio::test]
async fn the_legacy_jwks_format_verifies_too() {
    let key = HostKey::new("legacy-kid");
    let jwks = JwksServer::start(vec![key.legacy_jwk()]).await;
    let standin = StandinServer::start().await;
    let app = TestApp::new(&twilio_settings(&jwks.url, &standin.url), fast_policies());
    let answer = app.renew(&key.token("alice", &[])).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
}

/// Records what the token service asks of the local provider (the
/// granted context; none for a renewal's revocation).
#[derive(Default)]
pub(crate) struct RecordingRooms(
    std::sync::Mutex<Vec<Asked>>,
    std::sync::Mutex<Vec<(String, Vec<String>)>>,
);

/// (identity, granted context, allowed contexts)
type Asked = (String, Option<String>, Vec<String>);

impl RecordingRooms {
    fn record(&self, identity: &Identity, context: Option<&ContextName>, allowed: &[ContextName]) {
        let allowed = allowed.iter().map(ToString::to_string).collect();
        self.0
            .lock()
            .unwrap()
            .push((identity.to_string(), context.map(ToString::to_string), allowed));
    }
}

impl LocalRooms for RecordingRooms {
    fn grant(&self, identity: &Identity, context: &ContextName, allowed: &[ContextName]) -> Result<(), String> {
        self.record(identity, Some(context), allowed);
        Ok(())
    }

    fn revoke_except(&self, identity: &Identity, allowed: &[ContextName]) -> Result<(), String> {
        self.record(identity, None, allowed);
        Ok(())
    }

    fn moderate(&self, identity: &Identity, rooms: &[ContextName]) -> Result<(), String> {
        let rooms = rooms.iter().map(ToString::to_string).collect();
        self.1.lock().unwrap().push((identity.to_string(), rooms));
        Ok(())
    }
}

#[tokio::test]
async fn the_local_provider_grants_the_room_and_signs_with_its_own_key() {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let mut raw = backend::config::RawSettings::env_named();
    raw.set(backend::config::JWKS_URL, jwks.url.clone());
    let rooms = std::sync::Arc::new(RecordingRooms::default());
    let secret = Secret::new("local-secret".into());
    let provider = LocalProvider {
        rooms: rooms.clone(),
        tokens: LocalTokenKey::new(&secret).unwrap(),
    };
    let app = TestApp::with_local(&raw, fast_policies(), Some(provider));
    let answer = app
        .session(&key.token("alice", &["general", "shipment-1"]), "general")
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["provider"], "local");
    assert_eq!(answer.json["conversationSid"], "general");
    let token = answer.json["accessToken"].as_str().unwrap();
    let identity = LocalTokenKey::new(&secret).unwrap().verify(token, now()).unwrap();
    assert!(
        LocalTokenKey::new(&Secret::new("other".into()))
            .unwrap()
            .verify(token, now())
            .is_none()
    );
    assert_eq!(identity.as_str(), "alice");
    // a renewal with a token that dropped shipment-1 takes it away
    let renewal = app.renew(&key.token("alice", &["general"])).await;
    assert_eq!(renewal.status, 200, "{}", renewal.json);
    assert_eq!(
        *rooms.0.lock().unwrap(),
        [
            (
                "alice".to_owned(),
                Some("general".to_owned()),
                vec!["general".to_owned(), "shipment-1".to_owned()]
            ),
            ("alice".to_owned(), None, vec!["general".to_owned()])
        ]
    );
    // the rooms she moderates follow the token on both paths: none here
    assert_eq!(
        *rooms.1.lock().unwrap(),
        [
            ("alice".to_owned(), Vec::<String>::new()),
            ("alice".to_owned(), Vec::new())
        ]
    );
    // a token naming her a moderator makes her one at the session, and one
    // that no longer does takes it away at the next renewal
    let moderator = key.sign(&serde_json::json!({
        "sub": "alice", "contexts": ["general"], "moderates": ["general"],
        "iat": now(), "exp": now() + 600,
    }));
    assert_eq!(app.session(&moderator, "general").await.status, 200);
    assert_eq!(app.renew(&key.token("alice", &["general"])).await.status, 200);
    assert_eq!(
        rooms.1.lock().unwrap()[2..],
        [
            ("alice".to_owned(), vec!["general".to_owned()]),
            ("alice".to_owned(), Vec::new())
        ]
    );
}

#[test]
fn without_twilio_settings_a_local_provider_is_required() {
    let mut raw = backend::config::RawSettings::env_named();
    raw.set(backend::config::JWKS_URL, "http://127.0.0.1:9/jwks.json");
    let settings = backend::config::Settings::parse(&raw, backend::config::TwilioRequirement::Optional).unwrap();
    let err = AppState::new(&settings, Deps::new(backend::http_client::build().unwrap())).unwrap_err();
    assert_eq!(err.name, "DACHAT_TWILIO_ACCOUNT_SID");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let standin = StandinServer::start().await;
    let mut raw = twilio_settings(&jwks.url, &standin.url);
    raw.set(
        backend::config::CORS_ORIGINS,
        "https://toolbox.example, http://localhost:3000",
    );
    let app = TestApp::new(&raw, fast_policies());
    let preflight = |origin: &str| {
        axum::http::Request::builder()
            .method("OPTIONS")
            .uri("/v1/session")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let allowed = app.send(preflight("https://toolbox.example")).await;
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://toolbox.example"
    );
    assert!(allowed.headers.get("access-control-allow-credentials").is_none());
    let denied = app.send(preflight("https://evil.example")).await;
    assert!(denied.headers.get("access-control-allow-origin").is_none());
    let lookalike = app.send(preflight("https://toolbox.example.evil.example")).await;
    assert!(lookalike.headers.get("access-control-allow-origin").is_none());
}
