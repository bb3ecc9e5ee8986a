//! The tests of [`super`]: mail read from raw MIME and from SendGrid Inbound Parse's fields.

use super::*;

const REPLY: &str = "reply-0123456789abcdef0123456789abcdef@reply.chat.example";

fn raw(extra_headers: &str, body: &str) -> String {
    format!(
        "From: Alice Example <Alice@Example.org>\r\nTo: {REPLY}\r\nSubject: Re: DAChat: 3 new messages\r\n\
         Message-ID: <abc@mail.example.org>\r\n{extra_headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn a_plain_reply_reads_as_its_sender_recipient_and_words() {
    let mail = raw(
        "",
        "On our way.\r\n\r\nOn Tue, DAChat <n@example.org> wrote:\r\n> old\r\n",
    );
    let inbound = from_mime(mail.as_bytes(), &[]).unwrap();
    assert_eq!(inbound.from.as_deref(), Some("alice@example.org"));
    assert_eq!(inbound.recipients, vec![REPLY.to_owned()]);
    assert_eq!(inbound.reply, "On our way.");
    assert!(!inbound.automatic);
    assert_eq!(inbound.authentication, Authentication::TrustedRelay);
    assert_eq!(inbound.id.len(), 64);
    // the envelope wins over the headers
    let other = from_mime(mail.as_bytes(), &["X@Y.example".to_owned()]).unwrap();
    assert_eq!(other.recipients, vec!["x@y.example".to_owned()]);
    assert_eq!(other.id, inbound.id, "one Message-ID, one claim");
}

#[test]
fn html_only_and_encoded_replies_are_read_as_text() {
    let mail = format!(
        "From: alice@example.org\r\nTo: {REPLY}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         <div>Re=C3=A7u, merci</div><div class=3D\"gmail_quote\">Le mar. 3 d=C3=A9c. 2026, DAChat a =C3=A9crit=C2=A0:<blockquote>old</blockquote></div>\r\n--b--\r\n"
    );
    let inbound = from_mime(mail.as_bytes(), &[]).unwrap();
    assert_eq!(inbound.reply, "Reçu, merci");
    assert_eq!(inbound.id.len(), 64, "no Message-ID: the mail's hash");
}

#[test]
fn auto_replies_are_marked() {
    let mail = raw("Auto-Submitted: auto-replied\r\n", "I am out of the office.");
    assert!(from_mime(mail.as_bytes(), &[]).unwrap().automatic);
}

#[test]
fn oversized_and_broken_mail_is_refused() {
    let big = vec![b'a'; MAX_INBOUND_BYTES + 1];
    assert_eq!(from_mime(&big, &[]), Err(InboundError::TooLarge));
    assert!(from_sendgrid(&pairs(&[("envelope", "{not json")])).is_err());
}

#[test]
fn sendgrid_parsed_fields_read_the_same() {
    let fields = pairs(&[
        (
            "headers",
            "From: Alice <alice@example.org>\nTo: x\nMessage-ID: <abc@mail.example.org>\nSubject: Re: x\n",
        ),
        ("from", "Alice <alice@example.org>"),
        ("to", REPLY),
        (
            "envelope",
            &format!("{{\"to\":[\"{REPLY}\"],\"from\":\"bounces@mail.example.org\"}}"),
        ),
        ("text", "Yes.\n\nSent from my phone\n"),
        ("SPF", "pass"),
        ("dkim", "{@other.example : pass}"),
    ]);
    let inbound = from_sendgrid(&fields).unwrap();
    assert_eq!(inbound.from.as_deref(), Some("alice@example.org"));
    assert_eq!(inbound.recipients, vec![REPLY.to_owned()]);
    assert_eq!(inbound.reply, "Yes.");
    assert_eq!(
        inbound.authentication,
        Authentication::Passed,
        "SPF passed for a subdomain of the sender's"
    );
    let raw_mode = from_mime(raw("", "x").as_bytes(), &[]).unwrap();
    assert_eq!(inbound.id, raw_mode.id, "the same Message-ID makes the same claim");
}

#[test]
fn sendgrid_raw_mode_reads_the_mime_message() {
    let mail = raw("", "Noted.\n-- \nAlice");
    let fields = pairs(&[
        ("email", &mail),
        (
            "envelope",
            &format!("{{\"to\":[\"{REPLY}\"],\"from\":\"alice@example.org\"}}"),
        ),
        ("SPF", "softfail"),
        ("dkim", "{@example.org : pass}"),
    ]);
    let inbound = from_sendgrid(&fields).unwrap();
    assert_eq!(inbound.reply, "Noted.");
    assert_eq!(
        inbound.authentication,
        Authentication::Passed,
        "DKIM passed for the From domain"
    );
}

#[test]
fn a_sender_nobody_vouched_for_is_not_authenticated() {
    let mail = raw("", "Send the trucks to my address instead.");
    for (spf, dkim, envelope_from) in [
        (Some("fail"), Some("none"), "alice@example.org"),
        (Some("pass"), Some("{@attacker.example : pass}"), "x@attacker.example"),
        (Some("softfail"), Some("{@example.org : fail}"), "alice@example.org"),
        (Some("pass"), Some("none"), "x@notexample.org"),
        // no results at all: nobody vouched, so it is not authenticated
        (None, None, "alice@example.org"),
        (Some(""), None, "alice@example.org"),
        (None, Some("{}"), "alice@example.org"),
        (Some("neutral"), None, "alice@example.org"),
    ] {
        let envelope = format!("{{\"to\":[\"{REPLY}\"],\"from\":\"{envelope_from}\"}}");
        let mut fields = vec![("email", mail.as_str()), ("envelope", envelope.as_str())];
        fields.extend(spf.map(|v| ("SPF", v)));
        fields.extend(dkim.map(|v| ("dkim", v)));
        assert_eq!(
            from_sendgrid(&pairs(&fields)).unwrap().authentication,
            Authentication::NotPassed,
            "{spf:?} {dkim:?}"
        );
    }
    // the parsed mode without results, too
    let parsed = pairs(&[
        ("headers", "From: alice@example.org\nTo: x\n"),
        ("from", "alice@example.org"),
        ("to", REPLY),
        ("text", "Send the trucks to my address instead."),
    ]);
    assert_eq!(
        from_sendgrid(&parsed).unwrap().authentication,
        Authentication::NotPassed
    );
}
