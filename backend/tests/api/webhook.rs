//! `POST /v1/webhooks/twilio`: Twilio's post-event webhooks are taken only
//! with Twilio's signature over the URL the webhook is registered at
//! (`chat/publicUrl` + the path), never a URL rebuilt from the request's
//! headers; a service without the auth token or the public URL says which
//! setting to set; the local provider has no such endpoint.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use backend::secret::Secret;

use crate::support::*;

const FORM: &str = "application/x-www-form-urlencoded";

fn event() -> Vec<(String, String)> {
    [
        ("EventType", "onMessageAdded"),
        ("ConversationSid", "CH00000000000000000000000000000001"),
        ("Body", "the truck left Calais & is on time"),
        ("Author", "alice"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

async fn post(app: &TestApp, headers: &[(&str, &str)], content_type: &str, params: &[(String, String)]) -> Answer {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/v1/webhooks/twilio?source=conversations")
        .header("content-type", content_type);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(
        request
            .body(Body::from(serde_urlencoded::to_string(params).unwrap()))
            .unwrap(),
    )
    .await
}

/// A Twilio app whose settings lack `setting` (with the servers it talks to).
async fn twilio_app_without(setting: backend::config::Setting) -> (TestApp, JwksServer, StandinServer) {
    let jwks = JwksServer::start(vec![]).await;
    let standin = StandinServer::start().await;
    let mut raw = twilio_settings(&jwks.url, &standin.url);
    raw.remove(setting);
    (TestApp::new(&raw, fast_policies()), jwks, standin)
}

#[tokio::test]
async fn only_requests_signed_by_twilio_for_the_registered_url_are_taken() {
    let (app, _key, _jwks, _standin) = twilio_app().await;
    let token = Secret::new(AUTH_TOKEN.into());
    // Twilio signs the URL it was given: chat/publicUrl + the path, with the query
    let url = format!("{PUBLIC_URL}/v1/webhooks/twilio?source=conversations");
    let signature = backend::twilio::signature::sign(&token, &url, &event());
    // what the request's headers say about its URL does not matter
    for headers in [
        vec![("x-twilio-signature", signature.as_str())],
        vec![
            ("host", "abc.execute-api.eu-west-1.amazonaws.com"),
            ("x-forwarded-proto", "https"),
            ("x-twilio-signature", signature.as_str()),
        ],
        vec![("host", "10.0.0.7:3000"), ("x-twilio-signature", signature.as_str())],
    ] {
        let taken = post(&app, &headers, FORM, &event()).await;
        assert_eq!(taken.status, StatusCode::OK, "{headers:?}: {:?}", taken.json);
    }
    // Twilio's validators take the URL with and without the default port
    let with_port = format!("{PUBLIC_URL}:443/v1/webhooks/twilio?source=conversations");
    let port_signature = backend::twilio::signature::sign(&token, &with_port, &event());
    let taken = post(&app, &[("x-twilio-signature", port_signature.as_str())], FORM, &event()).await;
    assert_eq!(taken.status, StatusCode::OK);

    let signed = [("x-twilio-signature", signature.as_str())];
    let mut tampered = event();
    tampered[2].1 = "the truck is late".into();
    let refused = post(&app, &signed, FORM, &tampered).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json["error"], "invalid_signature");
    let unsigned = post(&app, &[], FORM, &event()).await;
    assert_eq!(unsigned.status, StatusCode::FORBIDDEN);
    let text = post(&app, &signed, "text/plain", &event()).await;
    assert_eq!(text.status, StatusCode::BAD_REQUEST);
    assert!(text.json["message"].as_str().unwrap().contains("form-encoded or JSON"));
}

#[tokio::test]
async fn a_webhook_signed_for_another_endpoint_of_the_account_is_refused_whatever_the_headers_say() {
    let (app, _key, _jwks, _standin) = twilio_app().await;
    let token = Secret::new(AUTH_TOKEN.into());
    // the account's auth token signs every webhook it sends, to any URL: a
    // request signed for another host, scheme or path of the account must
    // not pass here, even with Host and X-Forwarded-Proto set to match it
    for (other, host, proto) in [
        (
            "https://other.example/v1/webhooks/twilio?source=conversations",
            "other.example",
            "https",
        ),
        (
            "http://abc.execute-api.eu-west-1.amazonaws.com/v1/webhooks/twilio?source=conversations",
            "abc.execute-api.eu-west-1.amazonaws.com",
            "http",
        ),
        (
            "https://abc.execute-api.eu-west-1.amazonaws.com/sms/incoming?source=conversations",
            "abc.execute-api.eu-west-1.amazonaws.com",
            "https",
        ),
    ] {
        let signature = backend::twilio::signature::sign(&token, other, &event());
        let headers = [
            ("host", host),
            ("x-forwarded-proto", proto),
            ("x-twilio-signature", signature.as_str()),
        ];
        let answer = post(&app, &headers, FORM, &event()).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{other}");
        assert_eq!(answer.json["error"], "invalid_signature", "{other}");
    }
}

#[tokio::test]
async fn without_the_public_url_the_answer_names_the_setting() {
    let (app, _jwks, _standin) = twilio_app_without(backend::config::PUBLIC_URL).await;
    let token = Secret::new(AUTH_TOKEN.into());
    let url = format!("{PUBLIC_URL}/v1/webhooks/twilio?source=conversations");
    let signature = backend::twilio::signature::sign(&token, &url, &event());
    let answer = post(&app, &[("x-twilio-signature", signature.as_str())], FORM, &event()).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json["error"], "not_configured");
    assert!(
        answer.json["message"]
            .as_str()
            .unwrap()
            .contains("DACHAT_PUBLIC_URL is missing"),
        "{}",
        answer.json
    );
}

#[tokio::test]
async fn a_json_webhook_is_covered_by_the_body_hash_in_its_signed_url() {
    let (app, _key, _jwks, _standin) = twilio_app().await;
    let token = Secret::new(AUTH_TOKEN.into());
    let body = br#"{"EventType":"onMessageAdded","Body":"hello"}"#;
    let hash = backend::twilio::signature::body_sha256(body);
    let path = format!("/v1/webhooks/twilio?bodySHA256={hash}");
    let signature = backend::twilio::signature::sign(&token, &format!("{PUBLIC_URL}{path}"), &[]);
    let send = |body: &'static [u8]| {
        let request = Request::builder()
            .method(Method::POST)
            .uri(&path)
            .header("content-type", "application/json")
            .header("x-twilio-signature", &signature)
            .body(Body::from(body))
            .unwrap();
        app.send(request)
    };
    assert_eq!(send(body).await.status, StatusCode::OK);
    let other = send(br#"{"EventType":"onMessageAdded","Body":"hellO"}"#).await;
    assert_eq!(
        other.status,
        StatusCode::FORBIDDEN,
        "a body that does not match its hash"
    );
}

#[tokio::test]
async fn without_the_auth_token_the_answer_names_the_setting() {
    let (app, _jwks, _standin) = twilio_app_without(backend::config::TWILIO_AUTH_TOKEN).await;
    // tokens and sessions do not need it: the service starts
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    let answer = post(&app, &[("host", "api.example")], FORM, &event()).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json["error"], "not_configured");
    assert!(
        answer.json["message"]
            .as_str()
            .unwrap()
            .contains("DACHAT_TWILIO_AUTH_TOKEN: is missing"),
        "{}",
        answer.json
    );
}

#[tokio::test]
async fn the_local_provider_has_no_twilio_webhook() {
    let jwks = JwksServer::start(vec![]).await;
    let mut raw = backend::config::RawSettings::env_named();
    raw.set(backend::config::JWKS_URL, jwks.url.clone());
    let provider = backend::app::LocalProvider {
        rooms: std::sync::Arc::new(crate::sessions::RecordingRooms::default()),
        tokens: backend::tokens::local_token::LocalTokenKey::new(&Secret::new("local-secret".into())).unwrap(),
    };
    let app = TestApp::with_local(&raw, fast_policies(), Some(provider));
    let answer = post(&app, &[("host", "127.0.0.1")], FORM, &event()).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}
