//! The router behind the Lambda runtime: API Gateway HTTP API (payload v2)
//! events, as kept in `tests/fixtures`, decoded by `lambda_http` and served.

use base64::Engine as _;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::support::*;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn serve_event(app: &TestApp, event: &str) -> (u16, Value) {
    let request = lambda_http::request::from_str(event).expect("a valid API Gateway v2 event");
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_token_request_event_is_served() {
    let (app, key, _jwks, _standin) = twilio_app().await;
    let event = fixture("apigw-v2-token.json").replace("TOKEN_PLACEHOLDER", &key.token("alice", &["general"]));
    let (status, body) = serve_event(&app, &event).await;
    assert_eq!(status, 200, "{body}");
    let claims = jwt_payload(body["accessToken"].as_str().unwrap());
    assert_eq!(claims["grants"]["chat"]["endpoint_id"], "dachat:alice:lambda-device");
}

#[tokio::test]
async fn a_base64_session_event_is_served() {
    let (app, key, _jwks, standin) = twilio_app().await;
    let body = json!({ "token": key.token("alice", &["shipment-5"]), "context": "shipment-5" }).to_string();
    let event = fixture("apigw-v2-session-base64.json").replace(
        "BODY_BASE64_PLACEHOLDER",
        &base64::engine::general_purpose::STANDARD.encode(body),
    );
    let (status, body) = serve_event(&app, &event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["context"], "shipment-5");
    assert_eq!(standin.standin.participants_of("shipment-5"), ["alice"]);
}

#[tokio::test]
async fn a_me_event_with_a_bad_token_is_a_401() {
    let (app, key, _jwks, _standin) = twilio_app().await;
    let good = fixture("apigw-v2-me.json").replace("TOKEN_PLACEHOLDER", &key.token("alice", &["general"]));
    let (status, body) = serve_event(&app, &good).await;
    assert_eq!((status, body["identity"].clone()), (200, json!("alice")));
    let bad = fixture("apigw-v2-me.json").replace("TOKEN_PLACEHOLDER", "not-a-token");
    let (status, body) = serve_event(&app, &bad).await;
    assert_eq!((status, body["error"].clone()), (401, json!("invalid_token")));
}

/// A Twilio webhook as API Gateway hands it to the Lambda, with `host`.
fn webhook_event(host: &str, signature: &str, form: &str) -> String {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/v1/webhooks/twilio",
        "rawQueryString": "source=conversations",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "host": host,
            "x-forwarded-proto": "https",
            "x-twilio-signature": signature,
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc",
            "domainName": host,
            "http": { "method": "POST", "path": "/v1/webhooks/twilio", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "TwilioProxy/1.1" },
            "requestId": "wh-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "28/Nov/2026:14:00:00 +0000",
            "timeEpoch": 1795874400000u64
        },
        "body": form,
        "isBase64Encoded": false
    })
    .to_string()
}

#[tokio::test]
async fn a_webhook_event_is_checked_against_the_public_url_as_on_the_local_server() {
    let (app, _key, _jwks, _standin) = twilio_app().await;
    let token = backend::secret::Secret::new(AUTH_TOKEN.into());
    let params = vec![("EventType".to_owned(), "onConversationUpdated".to_owned())];
    let form = serde_urlencoded::to_string(&params).unwrap();
    let ours = backend::twilio::signature::sign(
        &token,
        &format!("{PUBLIC_URL}/v1/webhooks/twilio?source=conversations"),
        &params,
    );
    let host = PUBLIC_URL.trim_start_matches("https://");
    let (status, body) = serve_event(&app, &webhook_event(host, &ours, &form)).await;
    assert_eq!(status, 200, "{body}");
    // a webhook the account signed for another host, sent with that Host
    let theirs = backend::twilio::signature::sign(
        &token,
        "https://other.example/v1/webhooks/twilio?source=conversations",
        &params,
    );
    let (status, body) = serve_event(&app, &webhook_event("other.example", &theirs, &form)).await;
    assert_eq!((status, body["error"].clone()), (403, json!("invalid_signature")));
}
