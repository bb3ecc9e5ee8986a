//! The dev-extras token API: the seed's `POST /token?identity=…&context=…`
//! signs a host JWT that the token service accepts; bad input is a 400
//! naming the field; the key's parameters are named when missing.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend::clock::Clock;
use backend::dev_token::{self, DevTokenKey};
use backend::keys::{KeySet, SigningKey};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

async fn call(router: &axum::Router, method: &str, uri: &str) -> (StatusCode, Value) {
    let request = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_seeds_request_gets_a_token_the_service_accepts() {
    let key = SigningKey::generate().unwrap();
    let public = key.public_key();
    let dev =
        DevTokenKey::from_parameters("/s-dev-extras/chat-development/", Some(&key.to_pem()), Some("kid-1")).unwrap();
    let router = dev_token::router(dev, Clock::system());

    let (status, body) = call(&router, "POST", "/token?identity=alex&context=general,random").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut keys = KeySet::default();
    keys.insert("kid-1".to_owned(), public);
    let now = Clock::system().now_secs();
    let claims = backend::host_jwt::verify(body["token"].as_str().unwrap(), &keys, &Default::default(), now).unwrap();
    assert_eq!(claims.identity.as_str(), "alex");
    assert_eq!(
        claims.contexts.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        ["general", "random"]
    );
    assert_eq!(body["expiresAt"].as_u64().unwrap(), now + dev_token::TTL_SECS);

    for (uri, field) in [
        ("/token?context=general", "identity is required"),
        ("/token?identity=alex", "context is required"),
        ("/token?identity=al%20ex&context=general", "identity:"),
        ("/token?identity=alex&context=General", "context \"General\""),
    ] {
        let (status, body) = call(&router, "POST", uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(body["message"].as_str().unwrap().contains(field), "{uri}: {body}");
    }
    assert_eq!(
        call(&router, "GET", "/token?identity=a&context=b").await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(call(&router, "POST", "/v1/session").await.0, StatusCode::NOT_FOUND);
}

#[test]
fn missing_or_bad_parameters_are_named_with_the_command_that_sets_them() {
    let path = dev_token::parameter_path("twilio-integration-dev");
    assert_eq!(path, "/twilio-integration-dev-dev-extras/chat-development/");
    let error = DevTokenKey::from_parameters(&path, None, Some("k"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("/twilio-integration-dev-dev-extras/chat-development/privateKey"),
        "{error}"
    );
    assert!(error.contains("aws ssm put-parameter"), "{error}");
    let pem = SigningKey::generate().unwrap().to_pem();
    let error = DevTokenKey::from_parameters(&path, Some(&pem), Some(" "))
        .unwrap_err()
        .to_string();
    assert!(error.contains("keyId: is missing"), "{error}");
    let error = DevTokenKey::from_parameters(&path, Some("nonsense"), Some("k"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a PEM private key"), "{error}");
}
