//! Missed-message digests as e-mails (part of the notifications feature,
//! issue #14): what one e-mail to one person says, in plain text and
//! HTML, with RFC 8058 one-click unsubscribe headers. Pure: no I/O, no
//! clock.
//!
//! By default a digest says only which rooms have how many new messages,
//! with a link back to each: aid chats carry personal data, and an e-mail
//! leaves the operator's control. Every user-controlled string is escaped
//! for HTML, and nothing that could end a header line (CR, LF) reaches a
//! subject or a display name: such input is refused, not cleaned.

use std::fmt::Write as _;

use crate::domain::ContextName;
use crate::notify::email_address::EmailAddress;

/// At most this many rooms are listed; the rest are counted together.
pub const MAX_ROOMS_LISTED: usize = 20;
/// The longest subject or display name accepted (bytes).
pub const MAX_HEADER_TEXT: usize = 200;
/// The longest URL accepted in a link or header.
pub const MAX_URL: usize = 2000;

/// One room's line in a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomLine {
    pub context: ContextName,
    /// Messages the person has not read (at least 1).
    pub unread: u32,
    /// Where the room opens in the host (from the operator's URL template).
    pub link: String,
    /// The signed link that stops e-mail about this room only.
    pub stop: String,
    /// The newest unread messages (author, text), oldest first; empty
    /// unless the operator turned excerpts on.
    pub excerpts: Vec<(String, String)>,
    /// The person's reply address for this room, when reply by e-mail is on.
    pub reply: Option<String>,
}

/// The line above which a reply goes: a digest that can be answered starts
/// with it, and [`crate::notify::reply_text`] cuts a reply there.
pub const REPLY_MARKER: &str = "Write your reply above this line";

/// The most of a message an excerpt shows (characters).
pub const EXCERPT_CHARS: usize = 200;

/// A message as one line of an excerpt: controls and line breaks become
/// spaces, runs of spaces one, at most [`EXCERPT_CHARS`] characters.
pub fn excerpt(text: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        for c in (!out.is_empty()).then_some(' ').into_iter().chain(word.chars()) {
            if chars == EXCERPT_CHARS {
                out.push('…');
                return out;
            }
            out.push(c);
            chars += 1;
        }
    }
    out
}

/// What one digest e-mail is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The verified address.
    pub to: String,
    /// The product name in the subject and sender name, e.g. "Distribute Aid chat".
    pub product: String,
    pub rooms: Vec<RoomLine>,
    /// The signed one-click link that stops every e-mail (RFC 8058 POST target).
    pub unsubscribe_url: String,
    /// A `mailto:` unsubscribe address, where the provider offers one.
    pub unsubscribe_mailto: Option<String>,
}

/// A rendered e-mail, ready for a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Extra headers (name, value): `List-Unsubscribe`, `List-Unsubscribe-Post`.
    pub headers: Vec<(String, String)>,
}

/// Why a digest cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailError {
    /// Text that would go into a header has a line break or control character.
    HeaderInjection(&'static str),
    /// Too long for where it goes.
    TooLong(&'static str),
    /// A link that is not an https URL (or http on loopback, for local mode).
    BadUrl(&'static str),
    /// Not an e-mail address.
    BadAddress,
    /// Nothing unread: no e-mail.
    Empty,
}

impl std::fmt::Display for MailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::HeaderInjection(what) => write!(f, "{what} contains a line break or control character"),
            Self::TooLong(what) => write!(f, "{what} is too long"),
            Self::BadUrl(what) => write!(f, "{what} must be an https URL"),
            Self::BadAddress => write!(f, "not an e-mail address"),
            Self::Empty => write!(f, "nothing unread to tell about"),
        }
    }
}

impl std::error::Error for MailError {}

/// Text that goes into a header: no control characters, bounded.
pub fn header_text(text: &str, what: &'static str) -> Result<String, MailError> {
    if text.chars().any(char::is_control) {
        return Err(MailError::HeaderInjection(what));
    }
    if text.len() > MAX_HEADER_TEXT {
        return Err(MailError::TooLong(what));
    }
    Ok(text.trim().to_owned())
}

/// A single address as [`EmailAddress`] takes it, lowercased; the
/// one definition of an address (deliverability is proved by the code).
pub fn address(text: &str) -> Result<String, MailError> {
    EmailAddress::parse(text)
        .map(EmailAddress::into_string)
        .map_err(|_| MailError::BadAddress)
}

fn url(text: &str, what: &'static str) -> Result<String, MailError> {
    if text
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | '"'))
    {
        return Err(MailError::HeaderInjection(what));
    }
    if text.len() > MAX_URL {
        return Err(MailError::TooLong(what));
    }
    let loopback = text.starts_with("http://127.0.0.1") || text.starts_with("http://localhost");
    if !(text.starts_with("https://") || loopback || (what == "the mailto address" && text.starts_with("mailto:"))) {
        return Err(MailError::BadUrl(what));
    }
    Ok(text.to_owned())
}

/// `<`, `>`, `&`, `"` and `'` as entities.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Renders a digest.
pub fn render(digest: &Digest) -> Result<Email, MailError> {
    if digest.rooms.is_empty() || digest.rooms.iter().all(|r| r.unread == 0) {
        return Err(MailError::Empty);
    }
    let to = address(&digest.to)?;
    let product = header_text(&digest.product, "the product name")?;
    let unsubscribe = url(&digest.unsubscribe_url, "the unsubscribe link")?;
    let mailto = digest
        .unsubscribe_mailto
        .as_deref()
        .map(|m| url(m, "the mailto address"))
        .transpose()?;
    let rooms: Vec<&RoomLine> = digest.rooms.iter().filter(|r| r.unread > 0).collect();
    let links = rooms
        .iter()
        .map(|r| Ok((url(&r.link, "a room link")?, url(&r.stop, "a room's unsubscribe link")?)))
        .collect::<Result<Vec<_>, MailError>>()?;
    let replies = rooms
        .iter()
        .map(|r| r.reply.as_deref().map(address).transpose())
        .collect::<Result<Vec<_>, MailError>>()?;
    // one room: answering the e-mail answers the room
    let reply_to = match replies.as_slice() {
        [Some(only)] => Some(only.clone()),
        _ => None,
    };
    let total: u32 = rooms.iter().map(|r| r.unread).fold(0, u32::saturating_add);
    let subject = if rooms.len() == 1 {
        format!(
            "{product}: {} in {}",
            plural(total, "new message", "new messages"),
            rooms[0].context
        )
    } else {
        format!(
            "{product}: {} in {} rooms",
            plural(total, "new message", "new messages"),
            rooms.len()
        )
    };
    let subject = header_text(&subject, "the subject")?;

    let (mut text, mut html) = match &reply_to {
        Some(_) => (
            format!("## {REPLY_MARKER} ##\n\n"),
            format!(
                "<!doctype html><html><body style=\"font-family:sans-serif\">\
                 <p style=\"color:#555;font-size:small\">## {REPLY_MARKER} ##</p>"
            ),
        ),
        None => (
            String::new(),
            "<!doctype html><html><body style=\"font-family:sans-serif\">".to_owned(),
        ),
    };
    let _ = write!(
        text,
        "You have {} you have not read:\n\n",
        plural(total, "message", "messages")
    );
    let _ = write!(
        html,
        "<p>You have {} you have not read:</p><ul>",
        escape_html(&plural(total, "message", "messages"))
    );
    for ((room, (link, stop)), reply) in rooms.iter().zip(&links).zip(&replies).take(MAX_ROOMS_LISTED) {
        let count = plural(room.unread, "new message", "new messages");
        let _ = writeln!(text, "- {}: {count}", room.context);
        for (author, said) in &room.excerpts {
            let _ = writeln!(text, "  {}: {}", excerpt(author), excerpt(said));
        }
        let _ = writeln!(text, "  {link}");
        // several rooms: each has its own address to answer it by e-mail
        let mailto = reply.as_deref().filter(|_| reply_to.is_none());
        if let Some(mailto) = mailto {
            let _ = writeln!(text, "  (answer by e-mail: {mailto})");
        }
        let _ = writeln!(text, "  (no more e-mail about this room: {stop})");
        let _ = write!(
            html,
            "<li><a href=\"{}\">{}</a>: {} <small>(",
            escape_html(link),
            escape_html(room.context.as_str()),
            escape_html(&count),
        );
        if let Some(mailto) = mailto {
            let _ = write!(
                html,
                "<a href=\"mailto:{}\">answer by e-mail</a> · ",
                escape_html(mailto)
            );
        }
        let _ = write!(
            html,
            "<a href=\"{}\">no more e-mail about this room</a>)</small>",
            escape_html(stop)
        );
        if !room.excerpts.is_empty() {
            html.push_str("<blockquote style=\"margin:4px 0 8px 12px;color:#333\">");
            for (author, said) in &room.excerpts {
                let _ = write!(
                    html,
                    "<div><b>{}</b>: {}</div>",
                    escape_html(&excerpt(author)),
                    escape_html(&excerpt(said))
                );
            }
            html.push_str("</blockquote>");
        }
        html.push_str("</li>");
    }
    if rooms.len() > MAX_ROOMS_LISTED {
        let more = rooms.len() - MAX_ROOMS_LISTED;
        let _ = writeln!(text, "- and {more} more rooms");
        let _ = write!(html, "<li>and {more} more rooms</li>");
    }
    let _ = write!(
        text,
        "\nYou get this because you asked to be e-mailed about messages you miss.\nStop these e-mails: {unsubscribe}\n"
    );
    let _ = write!(
        html,
        "</ul><p style=\"color:#555;font-size:small\">You get this because you asked to be e-mailed about messages you miss. \
         <a href=\"{}\">Stop these e-mails</a>.</p></body></html>",
        escape_html(&unsubscribe)
    );
    let list_unsubscribe = match &mailto {
        Some(mailto) => format!("<{unsubscribe}>, <{mailto}>"),
        None => format!("<{unsubscribe}>"),
    };
    let mut headers = vec![
        ("List-Unsubscribe".to_owned(), list_unsubscribe),
        // RFC 8058: the link above unsubscribes on a POST of this body
        (
            "List-Unsubscribe-Post".to_owned(),
            "List-Unsubscribe=One-Click".to_owned(),
        ),
    ];
    if let Some(reply_to) = reply_to {
        headers.push(("Reply-To".to_owned(), reply_to));
    }
    Ok(Email {
        to,
        subject,
        text,
        html,
        headers,
    })
}

/// The e-mail that carries an address confirmation code.
pub fn render_code(to: &str, product: &str, code: &str) -> Result<Email, MailError> {
    let to = address(to)?;
    let product = header_text(product, "the product name")?;
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MailError::HeaderInjection("the code"));
    }
    let subject = header_text(&format!("{product}: your code is {code}"), "the subject")?;
    let text = format!(
        "Your code is {code}\n\nType it in the chat window to get e-mail about messages you miss. \
         It works once, for 10 minutes.\nIf you did not ask for it, ignore this e-mail: nothing happens without the code.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Your code is</p>\
         <p style=\"font-size:2em;letter-spacing:.2em\"><b>{code}</b></p>\
         <p>Type it in the chat window to get e-mail about messages you miss. It works once, for 10 minutes.</p>\
         <p style=\"color:#555;font-size:small\">If you did not ask for it, ignore this e-mail: nothing happens without the code.</p>\
         </body></html>"
    );
    Ok(Email {
        to,
        subject,
        text,
        html,
        headers: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(rooms: &[(&str, u32)]) -> Digest {
        Digest {
            to: "alice@example.org".into(),
            product: "Distribute Aid chat".into(),
            rooms: rooms
                .iter()
                .map(|(c, n)| RoomLine {
                    context: ContextName::parse(c).unwrap(),
                    unread: *n,
                    link: format!("https://toolbox.example/chat?context={c}"),
                    stop: format!("https://api.example/v1/notifications/unsubscribe?c={c}"),
                    excerpts: Vec::new(),
                    reply: None,
                })
                .collect(),
            unsubscribe_url: "https://api.example/v1/notifications/unsubscribe?t=abc".into(),
            unsubscribe_mailto: None,
        }
    }

    #[test]
    fn a_one_room_digest_is_answered_by_replying_and_a_many_room_one_per_room() {
        let mut one = digest(&[("shipment-1", 2)]);
        one.rooms[0].reply = Some("reply-aa@reply.example".into());
        let email = render(&one).unwrap();
        assert!(
            email
                .headers
                .contains(&("Reply-To".into(), "reply-aa@reply.example".into()))
        );
        assert!(email.text.starts_with(&format!("## {REPLY_MARKER} ##")));
        assert!(email.html.contains(REPLY_MARKER));
        assert!(!email.text.contains("answer by e-mail"));

        let mut many = digest(&[("shipment-1", 2), ("general", 1)]);
        many.rooms[0].reply = Some("reply-aa@reply.example".into());
        many.rooms[1].reply = Some("reply-bb@reply.example".into());
        let email = render(&many).unwrap();
        assert!(!email.headers.iter().any(|(n, _)| n == "Reply-To"));
        assert!(email.text.contains("(answer by e-mail: reply-bb@reply.example)"));
        assert!(email.html.contains("href=\"mailto:reply-aa@reply.example\""));
        assert!(!email.text.contains(REPLY_MARKER));

        // a reply address that would break a header is refused
        one.rooms[0].reply = Some("reply-aa@reply.example\r\nBcc: x@y.example".into());
        assert_eq!(render(&one), Err(MailError::BadAddress));
        // no reply address: nothing changes
        let plain = render(&digest(&[("shipment-1", 2)])).unwrap();
        assert!(!plain.headers.iter().any(|(n, _)| n == "Reply-To"));
        assert!(!plain.text.contains(REPLY_MARKER));
    }

    #[test]
    fn a_digest_names_rooms_and_counts_and_carries_one_click_unsubscribe() {
        let email = render(&digest(&[("shipment-1", 2), ("general", 1), ("quiet", 0)])).unwrap();
        assert_eq!(email.subject, "Distribute Aid chat: 3 new messages in 2 rooms");
        assert!(
            email
                .text
                .contains("- shipment-1: 2 new messages\n  https://toolbox.example/chat?context=shipment-1")
        );
        assert!(email.text.contains("- general: 1 new message"));
        assert!(!email.text.contains("quiet"), "rooms with nothing unread are left out");
        assert!(
            email
                .html
                .contains("<a href=\"https://toolbox.example/chat?context=general\">general</a>: 1 new message")
        );
        assert_eq!(
            email.headers,
            [
                (
                    "List-Unsubscribe".to_owned(),
                    "<https://api.example/v1/notifications/unsubscribe?t=abc>".to_owned()
                ),
                (
                    "List-Unsubscribe-Post".to_owned(),
                    "List-Unsubscribe=One-Click".to_owned()
                ),
            ]
        );
        let one = render(&digest(&[("shipment-1", 1)])).unwrap();
        assert_eq!(one.subject, "Distribute Aid chat: 1 new message in shipment-1");
    }

    #[test]
    fn excerpts_are_one_escaped_bounded_line_each() {
        let mut d = digest(&[("shipment-1", 2)]);
        d.rooms[0].excerpts = vec![
            ("bob".into(), "Pallet 4\r\nis <b>damaged</b>".into()),
            ("<script>".into(), "x".repeat(300)),
        ];
        let email = render(&d).unwrap();
        assert!(
            email.text.contains("  bob: Pallet 4 is <b>damaged</b>\n"),
            "{}",
            email.text
        );
        assert!(
            email
                .html
                .contains("<b>bob</b>: Pallet 4 is &lt;b&gt;damaged&lt;/b&gt;"),
            "{}",
            email.html
        );
        assert!(email.html.contains("<b>&lt;script&gt;</b>"));
        assert!(!email.html.contains("<script>"));
        assert!(email.text.contains(&format!("{}…", "x".repeat(EXCERPT_CHARS))));
        assert!(!email.text.contains(&"x".repeat(EXCERPT_CHARS + 1)));
        assert_eq!(excerpt("  a\u{0}b \t c  "), "a b c");
    }

    #[test]
    fn each_room_has_its_own_stop_link() {
        let email = render(&digest(&[("shipment-1", 2)])).unwrap();
        assert!(email.text.contains(
            "(no more e-mail about this room: https://api.example/v1/notifications/unsubscribe?c=shipment-1)"
        ));
        assert!(
            email
                .html
                .contains("<a href=\"https://api.example/v1/notifications/unsubscribe?c=shipment-1\">no more e-mail")
        );
    }

    #[test]
    fn a_code_email_carries_only_the_code() {
        let email = render_code("alice@example.org", "Distribute Aid chat", "012345").unwrap();
        assert_eq!(email.subject, "Distribute Aid chat: your code is 012345");
        assert!(email.text.starts_with("Your code is 012345\n"));
        assert!(email.html.contains("<b>012345</b>"));
        assert_eq!(email.headers, []);
        assert_eq!(
            render_code("alice@example.org\r\nBcc: x@evil.example", "p", "012345"),
            Err(MailError::BadAddress)
        );
        assert!(render_code("alice@example.org", "p", "12345\n").is_err());
    }

    #[test]
    fn user_controlled_text_is_escaped_and_header_breaks_are_refused() {
        let mut d = digest(&[("general", 1)]);
        d.rooms[0].link = "https://toolbox.example/chat?a=1&b=\"x\"".into();
        assert_eq!(render(&d), Err(MailError::HeaderInjection("a room link")));
        d.rooms[0].link = "https://toolbox.example/chat?a=1&b=2".into();
        assert!(
            render(&d)
                .unwrap()
                .html
                .contains("href=\"https://toolbox.example/chat?a=1&amp;b=2\"")
        );
        d.product = "Chat\r\nBcc: everyone@example.org".into();
        assert_eq!(render(&d), Err(MailError::HeaderInjection("the product name")));
        d.product = "Chat".into();
        d.to = "alice@example.org\r\nBcc: x@example.org".into();
        assert_eq!(render(&d), Err(MailError::BadAddress));
        d.to = "alice@example.org".into();
        d.unsubscribe_url = "javascript:alert(1)".into();
        assert_eq!(render(&d), Err(MailError::BadUrl("the unsubscribe link")));
        assert_eq!(escape_html("<b a='1'>&</b>"), "&lt;b a=&#39;1&#39;&gt;&amp;&lt;/b&gt;");
        assert_eq!(
            header_text(&"x".repeat(MAX_HEADER_TEXT + 1), "s"),
            Err(MailError::TooLong("s"))
        );
    }

    #[test]
    fn many_rooms_are_listed_up_to_a_limit_and_nothing_unread_is_no_email() {
        let names: Vec<String> = (0..25).map(|n| format!("room-{n}")).collect();
        let rooms: Vec<(&str, u32)> = names.iter().map(|n| (n.as_str(), 1)).collect();
        let email = render(&digest(&rooms)).unwrap();
        assert!(email.text.contains("- and 5 more rooms"));
        assert_eq!(email.subject, "Distribute Aid chat: 25 new messages in 25 rooms");
        assert_eq!(render(&digest(&[("general", 0)])), Err(MailError::Empty));
        assert_eq!(render(&digest(&[])), Err(MailError::Empty));
    }

    #[test]
    fn addresses_are_single_and_plain() {
        assert_eq!(address(" bob@example.org ").unwrap(), "bob@example.org");
        for bad in [
            "bob",
            "bob@",
            "@example.org",
            "bob@example",
            "a b@example.org",
            "a@b@example.org",
            "<a@example.org>",
            "a@example.org,b@example.org",
        ] {
            assert_eq!(address(bad), Err(MailError::BadAddress), "{bad}");
        }
    }
}
