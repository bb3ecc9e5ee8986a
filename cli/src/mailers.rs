//! Where the local server's notification e-mail goes
//! ([`backend::notify::Mailer`]): an SMTP server (`DACHAT_SMTP_URL`,
//! through lettre), or, with none configured, the dev inbox: mail kept in
//! memory (the latest [`INBOX_KEEP`]) and shown at `/dev/inbox`, so
//! `cargo xtask dev` shows the whole loop without a mail server. The inbox
//! page is mounted only with `--dev-keys` (the demo), like the demo page.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use backend::notify::SendError;
use backend::notify::digest_mail::{Email, escape_html};
use backend::notify::{BoxFuture, Mailer, Notify, ReplyOutcome};
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

    /// `/dev/inbox` (a page), `/dev/inbox.json` (for tests and scripts)
    /// and `POST /dev/inbox/reply`: a reply to a digest, written on the
    /// page, as if it came back by e-mail (the same path as the SMTP
    /// listener's).
    pub fn router(&self, replies: Arc<dyn Notify>) -> Router {
        Router::new()
            .route("/dev/inbox", get(page))
            .route("/dev/inbox.json", get(json))
            .route("/dev/inbox/reply", post(reply))
            .with_state(InboxState {
                inbox: self.clone(),
                replies,
            })
    }
}

#[derive(Clone)]
struct InboxState {
    inbox: DevInbox,
    replies: Arc<dyn Notify>,
}

impl axum::extract::FromRef<InboxState> for DevInbox {
    fn from_ref(state: &InboxState) -> Self {
        state.inbox.clone()
    }
}

/// The reply addresses an e-mail offers: its `Reply-To`, or each room's
/// "answer by e-mail" address.
pub fn reply_addresses(email: &Email) -> Vec<String> {
    let mut found: Vec<String> = email
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Reply-To"))
        .map(|(_, value)| value.clone())
        .collect();
    for word in email.text.split_whitespace() {
        let word = word.trim_matches(|c: char| matches!(c, '(' | ')' | '<' | '>' | ','));
        if word.starts_with(backend::notify::reply_address::PREFIX)
            && word.contains('@')
            && !found.iter().any(|f| f == word)
        {
            found.push(word.to_owned());
        }
    }
    found
}

#[derive(serde::Deserialize)]
struct ReplyForm {
    from: String,
    to: String,
    text: String,
}

/// A reply written on the inbox page, handed on as the e-mail it stands for.
async fn reply(State(state): State<InboxState>, axum::Form(form): axum::Form<ReplyForm>) -> Response {
    let page = |status: StatusCode, said: &str| {
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Reply</title></head>\
             <body style=\"font-family:sans-serif;max-width:48rem;margin:2rem auto\"><p role=\"status\">{}</p>\
             <p><a href=\"/dev/inbox\">Back to the inbox</a></p></body></html>",
            escape_html(said)
        );
        no_store((status, Html(body)).into_response())
    };
    let (Ok(from), Ok(to)) = (
        backend::notify::digest_mail::address(&form.from),
        backend::notify::digest_mail::address(&form.to),
    ) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not sent: the addresses are not e-mail addresses.",
        );
    };
    let mut id = [0u8; 16];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).is_err() {
        return page(StatusCode::SERVICE_UNAVAILABLE, "Not sent: no random source.");
    }
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let raw = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: your messages\r\nMessage-ID: <{id}@dev-inbox.localhost>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{}",
        form.text.replace("\r\n", "\n").replace('\n', "\r\n")
    );
    let inbound = match backend::notify::inbound_mail::from_mime(raw.as_bytes(), std::slice::from_ref(&to)) {
        Ok(inbound) => inbound,
        Err(e) => return page(StatusCode::BAD_REQUEST, &format!("Not sent: {e}")),
    };
    match state.replies.on_reply(&inbound).await {
        Ok(ReplyOutcome::Posted { context, .. }) => page(StatusCode::OK, &format!("Posted in {context}.")),
        Ok(ReplyOutcome::Repeat) => page(StatusCode::OK, "Posted before."),
        Ok(ReplyOutcome::Dropped(why)) => page(StatusCode::OK, &format!("Not posted: {why}.")),
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("Not posted now ({e}); try again."),
        ),
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
         <code>DACHAT_SMTP_URL</code> to send for real). Newest first; reload to see new mail. A digest that can be \
         answered has a reply form: the reply takes the path a real e-mail reply takes.</p>",
    );
    let emails = inbox.emails();
    if emails.is_empty() {
        html.push_str("<p><em>Nothing yet.</em></p>");
    }
    for (n, email) in emails.iter().enumerate() {
        html.push_str(&format!(
            "<article style=\"border-top:1px solid #ccc;padding:.5rem 0\"><p><b>{}</b><br>To: {}</p><pre style=\"white-space:pre-wrap\">{}</pre>",
            escape_html(&email.subject),
            escape_html(&email.to),
            escape_html(&email.text)
        ));
        let addresses = reply_addresses(email);
        if !addresses.is_empty() {
            let options: String = addresses
                .iter()
                .map(|a| format!("<option>{}</option>", escape_html(a)))
                .collect();
            html.push_str(&format!(
                "<form method=\"post\" action=\"/dev/inbox/reply\" aria-label=\"Reply by e-mail\">\
                 <input type=\"hidden\" name=\"from\" value=\"{}\">\
                 <p><label for=\"to{n}\">Reply to</label> <select id=\"to{n}\" name=\"to\">{options}</select></p>\
                 <p><label for=\"text{n}\">Your reply (lands in the room as you)</label><br>\
                 <textarea id=\"text{n}\" name=\"text\" rows=\"3\" cols=\"60\" required></textarea></p>\
                 <p><button>Send reply</button></p></form>",
                escape_html(&email.to)
            ));
        }
        html.push_str("</article>");
    }
    html.push_str("</body></html>");
    no_store(Html(html).into_response())
}

#[cfg(test)]
mod tests {
    use backend::notify::email_address::EmailAddress;
    use lettre::message::Mailbox;
    use proptest::prelude::*;

    /// Whether lettre, the SMTP path's mail library, takes `address` as
    /// the message's recipient ([`SmtpMailer`] parses it as a mailbox).
    fn lettre_takes(address: &str) -> bool {
        address.parse::<lettre::Address>().is_ok() && address.parse::<Mailbox>().is_ok()
    }

    #[test]
    fn what_lettre_refuses_is_refused_before_anything_is_counted() {
        // the outside tests' findings (issue #32), and their kin
        let long_local = format!("{}@x.org", "a".repeat(65));
        for bad in [
            "a..b@x.org",
            ".a@x.org",
            "a.@x.org",
            "a(b)@x.org",
            "a:b@x.org",
            "a@[127.0.0.1]",
            "a@x.org.",
            long_local.as_str(),
        ] {
            assert!(!lettre_takes(bad), "lettre refuses {bad}");
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

        /// Everything DAChat takes as an address, lettre takes too: one
        /// definition, stricter than the library's, so a client's address
        /// never reaches the mailer to be refused there.
        #[test]
        fn every_address_taken_here_is_taken_by_lettre(
            local in "[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~()\\[\\]:;,\" -]{1,70}",
            domain in "[a-zA-Z0-9.\\[\\]_-]{1,40}",
        ) {
            let address = format!("{local}@{domain}");
            if let Ok(parsed) = EmailAddress::parse(&address) {
                prop_assert!(lettre_takes(parsed.as_str()), "taken here, refused by lettre: {address:?}");
            }
        }

        #[test]
        fn plausible_addresses_are_taken_by_both(
            local in "[a-z0-9]{1,10}([.+_-][a-z0-9]{1,10}){0,3}",
            domain in "[a-z0-9]{1,12}(-[a-z0-9]{1,5})?(\\.[a-z]{2,6}){1,3}",
        ) {
            let address = format!("{local}@{domain}");
            let parsed = EmailAddress::parse(&address);
            prop_assert!(parsed.is_ok(), "{address:?}");
            prop_assert!(lettre_takes(&address), "{address:?}");
        }
    }
}
