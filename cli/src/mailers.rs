//! Where the local server's notification e-mail goes
//! ([`backend::notifier::Mailer`]): an SMTP server (`DACHAT_SMTP_URL`,
//! through lettre), or, with none configured, the dev inbox: mail kept in
//! memory (the latest [`INBOX_KEEP`]) and shown at `/dev/inbox`, so
//! `cargo xtask dev` shows the whole loop without a mail server. The inbox
//! page is mounted only with `--dev-keys` (the demo), like the demo page.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use backend::mail::{Email, escape_html};
use backend::notifier::{BoxFuture, Mailer};
use backend::sendgrid::SendError;
use lettre::message::header::{HeaderName, HeaderValue as MailHeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

/// How many e-mails the dev inbox keeps.
pub const INBOX_KEEP: usize = 200;

/// Mail to an SMTP server, one message per e-mail over a pooled connection.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// `url`: `smtp://host:port` (plain, e.g. a relay on the same machine)
    /// or `smtps://user:password@host:port` (lettre's connection URL).
    pub fn new(url: &str, from: &str, product: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("DACHAT_SMTP_URL: {e}"))?
            .build();
        let from = Mailbox::new(
            Some(product.to_owned()),
            from.parse()
                .map_err(|e| anyhow::anyhow!("DACHAT_MAIL_FROM {from:?} is not an address: {e}"))?,
        );
        Ok(Self { transport, from })
    }

    fn message(&self, email: &Email) -> Result<Message, SendError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| SendError::Rejected(format!("the address cannot be used: {e}")))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone());
        for (name, value) in &email.headers {
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|_| SendError::Rejected(format!("header {name:?} is not a header name")))?;
            builder = builder.raw_header(MailHeaderValue::new(name, value.clone()));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::Rejected(e.to_string()))
    }
}

impl Mailer for SmtpMailer {
    fn batch_size(&self) -> usize {
        100
    }

    fn send<'a>(&'a self, emails: &'a [Email]) -> BoxFuture<'a, Result<usize, SendError>> {
        Box::pin(async move {
            for email in emails {
                let message = self.message(email)?;
                self.transport.send(message).await.map_err(|e| {
                    if e.is_permanent() {
                        SendError::Rejected(format!("SMTP: {e}"))
                    } else {
                        SendError::Unavailable(format!("SMTP: {e}"))
                    }
                })?;
            }
            Ok(emails.len())
        })
    }
}

/// Mail kept for the dev inbox page.
#[derive(Debug, Clone, Default)]
pub struct DevInbox {
    kept: Arc<Mutex<VecDeque<Email>>>,
}

impl DevInbox {
    /// What was sent, newest first.
    pub fn emails(&self) -> Vec<Email> {
        self.kept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .rev()
            .cloned()
            .collect()
    }

    /// `/dev/inbox` (a page) and `/dev/inbox.json` (for tests and scripts).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/dev/inbox", get(page))
            .route("/dev/inbox.json", get(json))
            .with_state(self.clone())
    }
}

impl Mailer for DevInbox {
    fn batch_size(&self) -> usize {
        1000
    }

    fn send<'a>(&'a self, emails: &'a [Email]) -> BoxFuture<'a, Result<usize, SendError>> {
        Box::pin(async move {
            let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            for email in emails {
                tracing::info!(subject = %email.subject, "e-mail kept in the dev inbox (/dev/inbox)");
                kept.push_back(email.clone());
                while kept.len() > INBOX_KEEP {
                    kept.pop_front();
                }
            }
            Ok(1)
        })
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn json(State(inbox): State<DevInbox>) -> Response {
    let emails: Vec<serde_json::Value> = inbox
        .emails()
        .iter()
        .map(|e| {
            serde_json::json!({
                "to": e.to, "subject": e.subject, "text": e.text, "html": e.html,
                "headers": e.headers.iter().map(|(n, v)| serde_json::json!([n, v])).collect::<Vec<_>>(),
            })
        })
        .collect();
    no_store(axum::Json(emails).into_response())
}

/// The inbox as a page: the plain-text part of each e-mail (links as
/// text, nothing of the mail rendered as HTML).
async fn page(State(inbox): State<DevInbox>) -> Response {
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>DAChat dev inbox</title></head>\
         <body style=\"font-family:sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem\">\
         <h1>Dev inbox</h1><p>E-mail the local server would have sent (no SMTP server is configured; set \
         <code>DACHAT_SMTP_URL</code> to send for real). Newest first; reload to see new mail.</p>",
    );
    let emails = inbox.emails();
    if emails.is_empty() {
        html.push_str("<p><em>Nothing yet.</em></p>");
    }
    for email in emails {
        html.push_str(&format!(
            "<article style=\"border-top:1px solid #ccc;padding:.5rem 0\"><p><b>{}</b><br>To: {}</p><pre style=\"white-space:pre-wrap\">{}</pre></article>",
            escape_html(&email.subject),
            escape_html(&email.to),
            escape_html(&email.text)
        ));
    }
    html.push_str("</body></html>");
    no_store(Html(html).into_response())
}
