//! Notification e-mail over SMTP: `dachat serve` with `DACHAT_SMTP_URL`
//! pointing at a real SMTP server (aiosmtpd, started here by PID from the
//! test tools' Python, writing a Maildir): the code e-mail and a digest as
//! a mail client receives them, and an outage that neither loses nor
//! doubles a digest.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use backend::notify::address_codes::CODES_PER_HOUR_PER_ADDRESS;
use serde_json::json;
use testkit::{Supervised, free_port};

use crate::service;
use crate::support::{Server, code_in, say, serve, until};
use crate::temp_dir;

struct Smtpd {
    _process: Supervised,
    maildir: PathBuf,
}

/// aiosmtpd on `port`, delivering into `maildir` (kept across restarts).
fn smtpd(port: u16, maildir: &Path) -> Smtpd {
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let mut process = Supervised::spawn(
        "aiosmtpd",
        Command::new(service("DACHAT_TEST_PYTHON"))
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir),
        None,
    )
    .unwrap();
    process.wait_for_port(port, Duration::from_secs(30)).unwrap();
    Smtpd {
        _process: process,
        maildir: maildir.to_owned(),
    }
}

/// The messages delivered so far, oldest first (Maildir names start with
/// the delivery time).
fn delivered(maildir: &Path) -> Vec<String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(maildir.join("new"))
        .map(|dir| dir.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    names.sort();
    names.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

async fn delivered_n(maildir: &Path, n: usize) -> Vec<String> {
    until(&format!("{n} messages delivered over SMTP"), || async {
        let messages = delivered(maildir);
        (messages.len() >= n).then_some(messages)
    })
    .await
}

fn smtp_server(name: &str, port: u16) -> Server {
    serve(name, &[("DACHAT_SMTP_URL", &format!("smtp://127.0.0.1:{port}"))])
}

/// The value of header `name` in a raw message (unfolded).
fn header_of(message: &str, name: &str) -> String {
    let head = message
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ");
    head.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} header in {message}"))
        .to_owned()
}

#[tokio::test]
async fn the_code_goes_out_over_smtp_and_an_outage_is_a_clear_error() {
    let port = free_port().unwrap();
    let maildir = temp_dir("maildir-code");
    let server = smtp_server("smtp-code", port);
    let alice = server.token("alice", None).await;
    let ask = json!({ "token": alice, "address": "alice@example.org" });

    // no SMTP server yet: asked more often than the hour's limit for one
    // address (3), each a clear error, none counted (no code was sent)
    for _ in 0..=CODES_PER_HOUR_PER_ADDRESS {
        let (status, answer) = server.post("/v1/notifications/subscribe", ask.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (503, Some("mail_unavailable")),
            "{answer}"
        );
        assert_eq!(
            answer["message"],
            "E-mail cannot be sent right now. Try again in a few minutes."
        );
    }

    let smtp = smtpd(port, &maildir);
    let (status, answer) = server.post("/v1/notifications/subscribe", ask).await;
    assert_eq!((status, &answer["state"]), (200, &json!("code_sent")), "{answer}");
    let mut sent = delivered_n(&smtp.maildir, 1).await;
    assert_eq!(sent.len(), 1, "one code after the outage, none stale from it");
    let message = sent.remove(0);
    assert_eq!(header_of(&message, "To"), "alice@example.org");
    assert_eq!(header_of(&message, "From"), "DAChat <dachat@localhost>");
    assert!(header_of(&message, "Content-Type").starts_with("multipart/alternative"));
    let subject = header_of(&message, "Subject");
    let code = code_in(&json!({ "subject": subject }));
    assert!(message.contains(&format!("Your code is {code}")), "{message}");
    let (status, answer) = server
        .post(
            "/v1/notifications/confirm",
            json!({ "token": alice, "address": "alice@example.org", "code": code }),
        )
        .await;
    assert_eq!((status, &answer["state"]), (200, &json!("on")), "{answer}");
}

#[tokio::test]
async fn a_digest_waits_out_an_smtp_outage_and_goes_once() {
    let port = free_port().unwrap();
    let maildir = temp_dir("maildir-digest");
    let server = smtp_server("smtp-digest", port);
    let alice = server.token("alice", Some("alice@example.org")).await;
    let bob = server.token("bob", None).await;
    let (_, answer) = server
        .post("/v1/notifications/subscribe", json!({ "token": alice }))
        .await;
    assert_eq!(answer["state"], "on", "a vouched address: no code, so no SMTP needed");

    let alices = server.chat(&alice).await;
    let mut bobs = server.chat(&bob).await;
    say(&mut bobs, "general", 1).await;
    drop(alices);
    // the SMTP server is down: the sweep keeps the digest for the next one
    server.logged("digests wait for the next sweep", 2).await;

    let smtp = smtpd(port, &maildir);
    let message = delivered_n(&smtp.maildir, 1).await.remove(0);
    assert_eq!(header_of(&message, "Subject"), "DAChat: 1 new message in general");
    assert_eq!(
        header_of(&message, "List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    assert!(
        header_of(&message, "List-Unsubscribe").starts_with(&format!("<{}/v1/notifications/unsubscribe?", server.base))
    );

    // a later sweep looks at alice again (bob wrote more) and sends nothing twice
    let looked = server.log_count("people=1 emails=0");
    say(&mut bobs, "general", 2).await;
    server.logged("people=1 emails=0", looked + 1).await;
    assert_eq!(delivered(&smtp.maildir).len(), 1, "the digest went once");
}
