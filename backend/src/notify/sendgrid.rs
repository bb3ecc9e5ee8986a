//! A client for SendGrid's v3 Mail Send (`POST /v3/mail/send`), the only
//! caller of SendGrid (part of the notifications feature, issue #14).
//!
//! Digests differ per person, yet go out in one request per up to 1,000:
//! each e-mail is one personalization (its own recipient, subject,
//! unsubscribe headers) whose substitutions carry its text and HTML into
//! the shared content. An e-mail whose parts exceed SendGrid's 10,000
//! bytes of substitutions per personalization goes in a request of its
//! own. A digest that can be answered by e-mail (a `Reply-To` header)
//! comes *from* its reply address instead: SendGrid takes `Reply-To` only
//! once per request, but a sender per personalization, so the batch stays
//! one request (the reply domain must be authenticated in SendGrid, which
//! Inbound Parse asks anyway). Click and open tracking are off: links stay as written (signed
//! unsubscribe links among them) and nobody is tracked.
//!
//! 429 and 5xx answers and connection failures are retried with
//! exponential backoff (honouring a short `Retry-After`); any other 4xx is
//! reported at once with SendGrid's own message, never retried.

use serde_json::{Value, json};

use crate::config::SendgridSettings;
use crate::http_client::{self, RetryPolicy};
use crate::notify::chat_view::BoxFuture;
use crate::notify::digest_mail::Email;
use crate::notify::mailer::{Mailer, SendError};
use crate::secret::Secret;

/// SendGrid's limit of personalizations per request.
pub const MAX_BATCH: usize = 1000;
/// SendGrid's limit on the substitutions of one personalization (bytes).
pub const MAX_SUBSTITUTION_BYTES: usize = 10_000;

/// Substitution keys: characters no context name, count or URL we write contains.
const TEXT_KEY: &str = "[%dachat-text%]";
const HTML_KEY: &str = "[%dachat-html%]";

#[derive(Debug, Clone)]
pub struct SendgridClient {
    http: reqwest::Client,
    url: String,
    api_key: Secret,
    from: String,
    from_name: String,
    retry: RetryPolicy,
}

impl SendgridClient {
    /// Mail goes out from `notifications@<sendgrid/domain>` as `from_name`.
    pub fn new(http: reqwest::Client, settings: &SendgridSettings, from_name: &str, retry: RetryPolicy) -> Self {
        Self {
            http,
            url: format!("{}/v3/mail/send", settings.base_url),
            api_key: settings.api_key.clone(),
            from: format!("notifications@{}", settings.domain),
            from_name: from_name.to_owned(),
            retry,
        }
    }

    /// The request bodies that send `emails`, in as few requests as SendGrid allows.
    pub fn bodies(&self, emails: &[Email]) -> Vec<Value> {
        let (shared, alone): (Vec<&Email>, Vec<&Email>) = emails
            .iter()
            .partition(|e| e.text.len() + e.html.len() + TEXT_KEY.len() + HTML_KEY.len() <= MAX_SUBSTITUTION_BYTES);
        let mut bodies: Vec<Value> = shared.chunks(MAX_BATCH).map(|batch| self.batch_body(batch)).collect();
        bodies.extend(alone.into_iter().map(|email| self.single_body(email)));
        bodies
    }

    fn envelope(&self, email: &Email) -> Value {
        let is_reply_to = |name: &str| name.eq_ignore_ascii_case("Reply-To");
        let headers: serde_json::Map<String, Value> = email
            .headers
            .iter()
            .filter(|(name, _)| !is_reply_to(name))
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        let mut envelope = json!({ "to": [{ "email": email.to }], "subject": email.subject, "headers": headers });
        // SendGrid keeps Reply-To per request; a personalization's sender is its own
        if let Some((_, reply)) = email.headers.iter().find(|(name, _)| is_reply_to(name)) {
            envelope["from"] = json!({ "email": reply, "name": self.from_name });
        }
        envelope
    }

    fn common(&self, personalizations: Vec<Value>, text: &str, html: &str) -> Value {
        json!({
            "personalizations": personalizations,
            "from": { "email": self.from, "name": self.from_name },
            "content": [
                { "type": "text/plain", "value": text },
                { "type": "text/html", "value": html },
            ],
            "tracking_settings": {
                "click_tracking": { "enable": false, "enable_text": false },
                "open_tracking": { "enable": false },
            },
        })
    }

    fn batch_body(&self, batch: &[&Email]) -> Value {
        let personalizations = batch
            .iter()
            .map(|email| {
                let mut envelope = self.envelope(email);
                envelope["substitutions"] = json!({ TEXT_KEY: email.text, HTML_KEY: email.html });
                envelope
            })
            .collect();
        self.common(personalizations, TEXT_KEY, HTML_KEY)
    }

    fn single_body(&self, email: &Email) -> Value {
        self.common(vec![self.envelope(email)], &email.text, &email.html)
    }

    /// Sends every e-mail; stops at the first request that fails for good.
    /// Returns how many requests were made.
    pub async fn send(&self, emails: &[Email]) -> Result<usize, SendError> {
        let bodies = self.bodies(emails);
        for body in &bodies {
            self.post(body).await?;
        }
        Ok(bodies.len())
    }

    async fn post(&self, body: &Value) -> Result<(), SendError> {
        let answer = http_client::send_with_retry(&self.retry, "SendGrid", 64 * 1024, || {
            self.http.post(&self.url).bearer_auth(self.api_key.expose()).json(body)
        })
        .await
        .map_err(SendError::Unavailable)?;
        if (200..300).contains(&answer.status) {
            return Ok(());
        }
        Err(SendError::Rejected(format!(
            "SendGrid answered HTTP {}: {}",
            answer.status,
            sendgrid_messages(&answer.body.unwrap_or_default())
        )))
    }
}

impl Mailer for SendgridClient {
    fn batch_size(&self) -> usize {
        MAX_BATCH
    }

    fn send<'a>(&'a self, emails: &'a [Email]) -> BoxFuture<'a, Result<usize, SendError>> {
        Box::pin(SendgridClient::send(self, emails))
    }
}

/// SendGrid's `{"errors": [{"message", "field"}]}`, as one line.
fn sendgrid_messages(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let messages: Vec<String> = parsed
        .as_ref()
        .and_then(|v| v["errors"].as_array())
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| {
                    let message = e["message"].as_str()?;
                    Some(match e["field"].as_str() {
                        Some(field) => format!("{field}: {message}"),
                        None => message.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if messages.is_empty() {
        "no error message".to_owned()
    } else {
        messages.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> SendgridClient {
        let settings = SendgridSettings {
            api_key: Secret::new("SG.test".into()),
            domain: "example.org".into(),
            base_url: "http://127.0.0.1:9".into(),
        };
        SendgridClient::new(
            reqwest::Client::new(),
            &settings,
            "Distribute Aid chat",
            RetryPolicy::default(),
        )
    }

    fn email(n: usize, size: usize) -> Email {
        Email {
            to: format!("user{n}@example.org"),
            subject: format!("subject {n}"),
            text: "t".repeat(size),
            html: "<p>h</p>".into(),
            headers: vec![("List-Unsubscribe".into(), format!("<https://api.example/u?{n}>"))],
        }
    }

    #[test]
    fn an_answerable_digest_comes_from_its_reply_address_in_the_same_batch() {
        let mut answerable = email(1, 100);
        answerable
            .headers
            .push(("Reply-To".into(), "reply-0123@reply.example.org".into()));
        let bodies = client().bodies(&[email(0, 100), answerable]);
        assert_eq!(bodies.len(), 1);
        let people = &bodies[0]["personalizations"];
        assert!(people[0].get("from").is_none());
        assert_eq!(people[1]["from"]["email"], "reply-0123@reply.example.org");
        assert_eq!(people[1]["from"]["name"], "Distribute Aid chat");
        assert!(
            people[1]["headers"].get("Reply-To").is_none(),
            "SendGrid refuses it there"
        );
    }

    #[test]
    fn digests_share_one_request_per_thousand_and_big_ones_go_alone() {
        let mut emails: Vec<Email> = (0..1001).map(|n| email(n, 100)).collect();
        emails.push(email(2000, MAX_SUBSTITUTION_BYTES));
        let bodies = client().bodies(&emails);
        assert_eq!(bodies.len(), 3, "1000 + 1 batched, 1 alone");
        assert_eq!(bodies[0]["personalizations"].as_array().unwrap().len(), 1000);
        assert_eq!(bodies[1]["personalizations"].as_array().unwrap().len(), 1);
        let first = &bodies[0]["personalizations"][0];
        assert_eq!(first["to"][0]["email"], "user0@example.org");
        assert_eq!(first["subject"], "subject 0");
        assert_eq!(first["headers"]["List-Unsubscribe"], "<https://api.example/u?0>");
        assert_eq!(first["substitutions"][TEXT_KEY], "t".repeat(100));
        assert_eq!(bodies[0]["content"][0]["value"], TEXT_KEY);
        assert_eq!(bodies[0]["from"]["email"], "notifications@example.org");
        assert_eq!(bodies[0]["tracking_settings"]["click_tracking"]["enable"], false);
        let alone = &bodies[2];
        assert!(alone["personalizations"][0].get("substitutions").is_none());
        assert_eq!(
            alone["content"][0]["value"].as_str().unwrap().len(),
            MAX_SUBSTITUTION_BYTES
        );
    }

    #[test]
    fn sendgrid_errors_read_as_one_line() {
        let body = br#"{"errors":[{"field":"from.email","message":"does not match a verified Sender Identity"},{"message":"x"}]}"#;
        assert_eq!(
            sendgrid_messages(body),
            "from.email: does not match a verified Sender Identity; x"
        );
        assert_eq!(sendgrid_messages(b"<html>"), "no error message");
    }
}
