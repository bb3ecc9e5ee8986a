//! The dev-extras token API: the seed's `POST /token?identity=…&context=…`
//! answers only callers with its API key, and signs a host JWT with an
//! issuer of its own that the token service refuses unless the stage
//! accepts dev tokens; bad input is a 400 naming the field; the key's
//! parameters are named when missing.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend::api::dev_token::{self, DevTokenKey};
use backend::clock::Clock;
use backend::tokens::es256::{KeySet, SigningKey};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::support::*;

const API_KEY: &str = "dev-extras-api-key-0123456789abcdef";

async fn call(router: &axum::Router, method: &str, uri: &str, api_key: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(key) = api_key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn dev_key(key: &SigningKey, kid: &str) -> DevTokenKey {
    DevTokenKey::from_parameters(
        "/s-dev-extras/chat-development/",
        Some(&key.to_pem()),
        Some(kid),
        Some(API_KEY),
    )
    .unwrap()
}

#[tokio::test]
async fn the_seeds_request_with_the_api_key_gets_a_dev_token() {
    let key = SigningKey::generate().unwrap();
    let public = key.public_key();
    let router = dev_token::router(dev_key(&key, "kid-1"), Clock::system());

    let (status, body) = call(
        &router,
        "POST",
        "/token?identity=alex&context=general,random",
        Some(API_KEY),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut keys = KeySet::default();
    keys.insert("kid-1".to_owned(), public);
    let now = Clock::system().now_secs();
    let accepting = backend::tokens::host_jwt::VerifyOptions {
        accept_dev_tokens: true,
        ..Default::default()
    };
    let token = body["token"].as_str().unwrap();
    let claims = backend::tokens::host_jwt::verify(token, &keys, &accepting, now).unwrap();
    assert_eq!(claims.identity.as_str(), "alex");
    assert_eq!(
        claims.contexts.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        ["general", "random"]
    );
    assert_eq!(jwt_payload(token)["iss"], backend::tokens::host_jwt::DEV_TOKEN_ISSUER);
    assert_eq!(body["expiresAt"].as_u64().unwrap(), now + dev_token::TTL_SECS);
    // by default a verifier refuses it, whatever key signed it
    assert_eq!(
        backend::tokens::host_jwt::verify(token, &keys, &Default::default(), now).unwrap_err(),
        backend::tokens::host_jwt::HostTokenError::DevTokenRefused
    );

    for (uri, field) in [
        ("/token?context=general", "identity is required"),
        ("/token?identity=alex", "context is required"),
        ("/token?identity=al%20ex&context=general", "identity:"),
        ("/token?identity=alex&context=General", "context \"General\""),
    ] {
        let (status, body) = call(&router, "POST", uri, Some(API_KEY)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(body["message"].as_str().unwrap().contains(field), "{uri}: {body}");
    }
    assert_eq!(
        call(&router, "GET", "/token?identity=a&context=b", Some(API_KEY))
            .await
            .0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        call(&router, "POST", "/v1/session", None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn without_the_api_key_nothing_is_signed() {
    let key = SigningKey::generate().unwrap();
    let router = dev_token::router(dev_key(&key, "kid-1"), Clock::system());
    let wrong = format!("{API_KEY}x");
    for presented in [None, Some(""), Some("dev-extras"), Some(wrong.as_str())] {
        let (status, body) = call(&router, "POST", "/token?identity=alex&context=general", presented).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{presented:?}");
        assert_eq!(body["error"], "invalid_token");
        assert!(body.get("token").is_none());
    }
}

#[tokio::test]
async fn the_token_service_takes_dev_tokens_only_where_the_stage_accepts_them() {
    let host = HostKey::new("dev-kid");
    let jwks = JwksServer::start(vec![host.standard_jwk()]).await;
    let standin = StandinServer::start().await;
    let router = dev_token::router(
        DevTokenKey {
            kid: host.kid.clone(),
            key: SigningKey::from_pem(&host.key.to_pem()).unwrap(),
            api_key: backend::secret::Secret::new(API_KEY.into()),
        },
        Clock::system(),
    );
    let (_, body) = call(&router, "POST", "/token?identity=alex&context=general", Some(API_KEY)).await;
    let dev_token = body["token"].as_str().unwrap().to_owned();

    // the key is one the stage's JWKS trusts, yet the token is refused by default
    let mut raw = twilio_settings(&jwks.url, &standin.url);
    let strict = TestApp::new(&raw, fast_policies());
    let answer = strict.session(&dev_token, "general").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{:?}", answer.json);
    assert!(
        answer.json["message"].as_str().unwrap().contains("dev token"),
        "{}",
        answer.json
    );
    // a host token from the same key, without the dev issuer, is fine
    assert_eq!(
        strict
            .session(&host.token("alex", &["general"]), "general")
            .await
            .status,
        StatusCode::OK
    );

    raw.set(backend::config::ACCEPT_DEV_TOKENS, "on");
    // with an issuer set for the host's own tokens, dev tokens still pass there
    raw.set(backend::config::JWT_ISSUER, "https://toolbox.example");
    let accepting = TestApp::new(&raw, fast_policies());
    let answer = accepting.session(&dev_token, "general").await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);

    raw.set(backend::config::ACCEPT_DEV_TOKENS, "yes");
    let settings = backend::config::Settings::parse(&raw, backend::config::TwilioRequirement::Optional);
    assert!(
        settings
            .unwrap_err()
            .to_string()
            .contains("DACHAT_ACCEPT_DEV_TOKENS: must be on or off")
    );
}

#[test]
fn missing_or_bad_parameters_are_named_with_the_command_that_sets_them() {
    let path = dev_token::parameter_path("twilio-integration-dev");
    assert_eq!(path, "/twilio-integration-dev-dev-extras/chat-development/");
    let error = DevTokenKey::from_parameters(&path, None, Some("k"), Some(API_KEY))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("/twilio-integration-dev-dev-extras/chat-development/privateKey"),
        "{error}"
    );
    assert!(error.contains("aws ssm put-parameter"), "{error}");
    let pem = SigningKey::generate().unwrap().to_pem();
    let error = DevTokenKey::from_parameters(&path, Some(&pem), Some(" "), Some(API_KEY))
        .unwrap_err()
        .to_string();
    assert!(error.contains("keyId: is missing"), "{error}");
    let error = DevTokenKey::from_parameters(&path, Some("nonsense"), Some("k"), Some(API_KEY))
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a PEM private key"), "{error}");
    let error = DevTokenKey::from_parameters(&path, Some(&pem), Some("k"), None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("apiKey: is missing") && error.contains("SecureString"),
        "{error}"
    );
    let error = DevTokenKey::from_parameters(&path, Some(&pem), Some("k"), Some("short"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("at least 32 characters"), "{error}");
}
