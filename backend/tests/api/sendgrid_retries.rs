//! How the SendGrid client meets an outage and a refusal, against a
//! scripted server on loopback: 5xx and 429 are retried with backoff
//! until it answers, a 4xx is reported at once with SendGrid's message,
//! and an outage that outlasts the retries is reported as such.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use backend::config::SendgridSettings;
use backend::http_client::RetryPolicy;
use backend::notify::SendError;
use backend::notify::digest_mail::Email;
use backend::notify::sendgrid::SendgridClient;
use backend::secret::Secret;

/// Answers each request with the next status of its script (202 when the
/// script is used up) and counts them.
async fn scripted(statuses: &[u16]) -> (String, Arc<Mutex<Vec<u16>>>) {
    let script = Arc::new(Mutex::new(statuses.to_vec()));
    let answered = Arc::new(Mutex::new(Vec::new()));
    let (s, a) = (script.clone(), answered.clone());
    let app = axum::Router::new().route(
        "/v3/mail/send",
        axum::routing::post(move || {
            let (script, answered) = (s.clone(), a.clone());
            async move {
                let status = {
                    let mut script = script.lock().unwrap();
                    if script.is_empty() { 202 } else { script.remove(0) }
                };
                answered.lock().unwrap().push(status);
                let body =
                    r#"{"errors":[{"field":"from.email","message":"does not match a verified Sender Identity"}]}"#;
                (StatusCode::from_u16(status).unwrap(), body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, answered)
}

fn client(base_url: String) -> SendgridClient {
    let settings = SendgridSettings {
        api_key: Secret::new("SG.test".into()),
        domain: "example.org".into(),
        base_url,
    };
    let retry = RetryPolicy {
        attempts: 4,
        first_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        timeout: Duration::from_secs(5),
    };
    SendgridClient::new(reqwest::Client::new(), &settings, "Chat", retry)
}

fn email() -> Email {
    Email {
        to: "alice@example.org".into(),
        subject: "Chat: 1 new message in general".into(),
        text: "text".into(),
        html: "<p>html</p>".into(),
        headers: vec![],
    }
}

#[tokio::test]
async fn an_outage_is_retried_until_sendgrid_answers() {
    let (url, answered) = scripted(&[503, 429, 500]).await;
    assert_eq!(client(url).send(&[email()]).await, Ok(1));
    assert_eq!(*answered.lock().unwrap(), [503, 429, 500, 202]);
}

#[tokio::test]
async fn a_refusal_is_reported_at_once_with_sendgrids_message() {
    let (url, answered) = scripted(&[403]).await;
    let error = client(url).send(&[email()]).await.unwrap_err();
    assert_eq!(
        error,
        SendError::Rejected("SendGrid answered HTTP 403: from.email: does not match a verified Sender Identity".into())
    );
    assert_eq!(*answered.lock().unwrap(), [403], "no retry storm");
}

#[tokio::test]
async fn an_outage_longer_than_the_retries_is_reported() {
    let (url, answered) = scripted(&[500, 500, 500, 500, 500]).await;
    let error = client(url).send(&[email()]).await.unwrap_err();
    assert_eq!(error, SendError::Unavailable("SendGrid answered HTTP 500".into()));
    assert_eq!(answered.lock().unwrap().len(), 4, "the configured attempts, then stop");
}
