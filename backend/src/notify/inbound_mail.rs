//! An incoming e-mail as reply by e-mail needs it (issue #14): where it was
//! delivered, who wrote it, its reply text, whether a program wrote it, and
//! whether the sender's domain vouched for it. Two sources, one shape:
//!
//! - a raw MIME message (the local SMTP listener, SendGrid's "POST the
//!   raw, full MIME message"), parsed by `mail-parser`;
//! - SendGrid Inbound Parse's default form fields (`from`, `to`,
//!   `envelope`, `headers`, `text`, `html`).
//!
//! SendGrid adds its `SPF` and `dkim` results in both; a sender counts as
//! authenticated only when DKIM passed for the From address's domain or SPF
//! passed for an envelope sender of that domain (DMARC's alignment, with
//! parent and child domains aligned). A post without either result, or
//! with results that do not pass, is not authenticated: a pass is
//! required, never merely the absence of a failure. The local path has no
//! such results: it trusts the mail server that relays to it, and says so
//! ([`Authentication::TrustedRelay`]). Pure.

use mail_parser::{Address, MessageParser};
use ring::digest;

use crate::notify::reply_text;

/// The largest mail taken (bytes): replies are short; attachments are not
/// carried into the chat.
pub const MAX_INBOUND_BYTES: usize = 5 * 1024 * 1024;

/// One incoming e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Where it was delivered: the SMTP envelope's recipients, else To and Cc.
    pub recipients: Vec<String>,
    /// The From header's address.
    pub from: Option<String>,
    /// Stands for this mail in the de-duplication claims: its Message-ID
    /// hashed, or a hash of the mail when it has none (hex SHA-256).
    pub id: String,
    /// The reply: the plain-text body (or the HTML as text) without the
    /// quoted digest and signature.
    pub reply: String,
    /// Written by a program: an auto-reply, a bounce, a list's mail.
    pub automatic: bool,
    /// Whether the sender's domain vouched for it.
    pub authentication: Authentication,
}

/// What vouches for an e-mail's sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// The receiving side (SendGrid) saw DKIM or SPF pass, aligned with the
    /// From domain.
    Passed,
    /// The receiving side gave no passing, aligned result (a failure, or no
    /// result at all).
    NotPassed,
    /// The local SMTP listener: the operator's own mail server relays to it
    /// and has done its checks; there are no results to read.
    TrustedRelay,
}

/// Why an e-mail cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundError {
    TooLarge,
    Unreadable(&'static str),
}

impl std::fmt::Display for InboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge => write!(f, "the e-mail is larger than {MAX_INBOUND_BYTES} bytes"),
            Self::Unreadable(what) => write!(f, "the e-mail cannot be read: {what}"),
        }
    }
}

impl std::error::Error for InboundError {}

fn hex_sha256(data: &[u8]) -> String {
    digest::digest(&digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn addresses(address: Option<&Address<'_>>) -> Vec<String> {
    address
        .map(|a| a.clone().into_list())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| a.address.map(|s| s.trim().to_ascii_lowercase()))
        .collect()
}

/// The headers of `message` as (name, value) text.
fn header_pairs<'a>(message: &'a mail_parser::Message<'a>) -> impl Iterator<Item = (&'a str, &'a str)> {
    message.headers().iter().filter_map(|h| {
        let raw = message
            .raw_message
            .get(h.offset_start as usize..h.offset_end as usize)?;
        Some((h.name.as_str(), std::str::from_utf8(raw).ok()?))
    })
}

/// A raw MIME message delivered to `envelope_to` (the SMTP `RCPT TO`s;
/// empty: read To and Cc).
pub fn from_mime(raw: &[u8], envelope_to: &[String]) -> Result<Inbound, InboundError> {
    if raw.len() > MAX_INBOUND_BYTES {
        return Err(InboundError::TooLarge);
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(InboundError::Unreadable("not a MIME message"))?;
    let from = addresses(message.from()).into_iter().next();
    let mut recipients: Vec<String> = envelope_to.iter().map(|a| a.trim().to_ascii_lowercase()).collect();
    if recipients.is_empty() {
        recipients = addresses(message.to());
        recipients.extend(addresses(message.cc()));
    }
    let id = match message.message_id() {
        Some(id) => hex_sha256(id.trim().as_bytes()),
        None => hex_sha256(raw),
    };
    let text = match message.text_part(0).map(|p| &p.body) {
        Some(mail_parser::PartType::Html(html)) => html_text(html),
        _ => message.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
    };
    let automatic = reply_text::is_automatic(header_pairs(&message));
    Ok(Inbound {
        recipients,
        from,
        id,
        reply: reply_text::strip(&text),
        automatic,
        authentication: Authentication::TrustedRelay,
    })
}

/// Block elements: a line break before each, so quotes and attributions
/// stay lines of their own in the text.
const BLOCKS: &[&str] = &[
    "div",
    "p",
    "blockquote",
    "li",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "pre",
];

/// An HTML body as plain text, one line per block.
pub fn html_text(html: &str) -> String {
    let mut marked = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        marked.push_str(&rest[..at]);
        let tag = rest[at + 1..].trim_start_matches('/');
        let name: String = tag
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if BLOCKS.contains(&name.as_str()) {
            marked.push_str("<br>");
        }
        marked.push('<');
        rest = &rest[at + 1..];
    }
    marked.push_str(rest);
    mail_parser::decoders::html::html_to_text(&marked)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn domain_of(address: &str) -> Option<String> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim().trim_end_matches('>').to_ascii_lowercase())
}

/// Relaxed alignment: the same domain, or one a subdomain of the other.
fn aligned(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

/// SendGrid's `dkim` field (`{@example.org : pass, @other.example : fail}`):
/// whether a passing signature aligns with `from_domain`.
fn dkim_passes(dkim: &str, from_domain: &str) -> bool {
    dkim.trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .filter_map(|result| result.split_once(':'))
        .any(|(domain, verdict)| {
            let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
            verdict.trim().eq_ignore_ascii_case("pass") && aligned(&domain, from_domain)
        })
}

/// SendGrid Inbound Parse's form fields (either mode).
pub fn from_sendgrid(fields: &[(String, String)]) -> Result<Inbound, InboundError> {
    if fields.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>() > MAX_INBOUND_BYTES {
        return Err(InboundError::TooLarge);
    }
    #[derive(serde::Deserialize, Default)]
    struct Envelope {
        #[serde(default)]
        to: Vec<String>,
        from: Option<String>,
    }
    let envelope: Envelope = field(fields, "envelope")
        .map(serde_json::from_str)
        .transpose()
        .map_err(|_| InboundError::Unreadable("the envelope field is not JSON"))?
        .unwrap_or_default();
    let mut inbound = if let Some(raw) = field(fields, "email") {
        from_mime(raw.as_bytes(), &envelope.to)?
    } else {
        // the parsed mode: headers as text, bodies apart
        let headers = field(fields, "headers").unwrap_or_default();
        let head = format!("{}\r\n\r\n", headers.trim_end());
        let message = MessageParser::default()
            .parse_headers(head.as_bytes())
            .ok_or(InboundError::Unreadable("the headers field"))?;
        let from_field = format!("From: {}\r\n\r\n", field(fields, "from").unwrap_or_default());
        let from = addresses(message.from()).into_iter().next().or_else(|| {
            let parsed = MessageParser::default().parse_headers(from_field.as_bytes())?;
            addresses(parsed.from()).into_iter().next()
        });
        let mut recipients: Vec<String> = envelope.to.iter().map(|a| a.trim().to_ascii_lowercase()).collect();
        if recipients.is_empty() {
            recipients = addresses(message.to());
        }
        let text = match (field(fields, "text"), field(fields, "html")) {
            (Some(text), _) if !text.trim().is_empty() => text.to_owned(),
            (_, Some(html)) => html_text(html),
            _ => String::new(),
        };
        let id = match message.message_id() {
            Some(id) => hex_sha256(id.trim().as_bytes()),
            None => hex_sha256(format!("{headers}\n{text}").as_bytes()),
        };
        Inbound {
            recipients,
            from,
            id,
            reply: reply_text::strip(&text),
            automatic: reply_text::is_automatic(header_pairs(&message)),
            authentication: Authentication::TrustedRelay,
        }
    };
    // over HTTP only SendGrid's results vouch for the sender: a pass is required
    let spf = field(fields, "SPF");
    let dkim = field(fields, "dkim");
    let from_domain = inbound.from.as_deref().and_then(domain_of).unwrap_or_default();
    let by_dkim = dkim.is_some_and(|d| dkim_passes(d, &from_domain));
    let by_spf = spf.is_some_and(|s| s.trim().eq_ignore_ascii_case("pass"))
        && envelope
            .from
            .as_deref()
            .and_then(domain_of)
            .is_some_and(|d| aligned(&d, &from_domain));
    inbound.authentication = if !from_domain.is_empty() && (by_dkim || by_spf) {
        Authentication::Passed
    } else {
        Authentication::NotPassed
    };
    Ok(inbound)
}

#[cfg(test)]
mod tests;
