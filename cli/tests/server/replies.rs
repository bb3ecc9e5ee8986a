//! Replies by e-mail in the local server, end to end: the real `dachat
//! serve` (SQLite, the embedded provider, the dev inbox, a 1-second delay)
//! with its SMTP listener; a digest's reply address answered over SMTP
//! (lettre as the sending mail server) and on the dev inbox page, and the
//! replies that must not land.

use crate::support::{Server, header, say, serve};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use serde_json::{Value, json};
use testkit::free_port;
use testkit::ws::WsClient;

/// Sends one mail to the server's SMTP listener; the server's answer.
async fn smtp(
    port: u16,
    from: &str,
    to: &str,
    message_id: &str,
    extra: &[(&'static str, &str)],
    body: &str,
) -> Result<String, String> {
    let mut builder = Message::builder()
        .from(from.parse().unwrap())
        .to(to.parse().unwrap())
        .subject("Re: DAChat: 1 new message in shipment-1")
        .message_id(Some(message_id.to_owned()));
    for (name, value) in extra {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str(name),
            (*value).to_owned(),
        ));
    }
    let message = builder.body(body.to_owned()).unwrap();
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .build();
    transport
        .send(message)
        .await
        .map(|r| r.message().collect::<Vec<_>>().join(" "))
        .map_err(|e| e.to_string())
}

/// The bodies of `room`'s messages by `author`, oldest first.
async fn said_by(socket: &mut WsClient, room: &str, author: &str) -> Vec<String> {
    socket
        .send(json!({ "type": "history", "room": room, "limit": 100 }))
        .await;
    let history = socket.expect("history").await;
    history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == author)
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

/// alice follows every room (vouched address); bob writes in shipment-1
/// while she is away; her digest arrives. Returns it, with bob's socket.
async fn digest_for_alice(server: &Server) -> (Value, WsClient) {
    let alice = server.token("alice", Some("alice@example.org")).await;
    let bob = server.token("bob", None).await;
    let (status, _) = server
        .post("/v1/notifications/subscribe", json!({ "token": alice }))
        .await;
    assert_eq!(status, 200);
    drop(server.chat(&alice).await);
    let mut bobs = server.chat(&bob).await;
    say(&mut bobs, "shipment-1", 1).await;
    let digest = server.inbox_of(1).await.remove(0);
    assert_eq!(digest["subject"], "DAChat: 1 new message in shipment-1");
    (digest, bobs)
}

#[tokio::test]
async fn a_reply_over_smtp_lands_once_as_the_subscriber_and_nothing_else_does() {
    let port = free_port().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let server = serve("replies-smtp", &[("DACHAT_SMTP_LISTEN", &listen)]);
    let (digest, mut bobs) = digest_for_alice(&server).await;
    let reply_to = header(&digest, "Reply-To").to_owned();
    assert!(
        reply_to.starts_with("reply-") && reply_to.ends_with("@reply.localhost"),
        "{reply_to}"
    );
    assert!(
        digest["text"]
            .as_str()
            .unwrap()
            .starts_with("## Write your reply above this line ##")
    );

    let quoted = "On our way, ETA 14:00.\n\nOn Tue, 3 Dec 2026, DAChat <dachat@localhost> wrote:\n> ## Write your reply above this line ##\n> You have 1 message you have not read\n";
    let answer = smtp(
        port,
        "Alice <ALICE@example.org>",
        &reply_to,
        "<r1@mail.example.org>",
        &[],
        quoted,
    )
    .await;
    assert_eq!(answer.unwrap(), "2.0.0 Posted in shipment-1");
    let live = bobs.expect("message").await;
    assert_eq!(
        (live["message"]["author"].as_str(), live["message"]["body"].as_str()),
        (Some("alice"), Some("On our way, ETA 14:00.")),
        "quote cut, posted as alice, shown live: {live}"
    );

    // the same e-mail again (a retrying mail server): accepted, not posted twice
    let again = smtp(
        port,
        "alice@example.org",
        &reply_to,
        "<r1@mail.example.org>",
        &[],
        quoted,
    )
    .await;
    assert_eq!(again.unwrap(), "2.0.0 Posted before");

    // from someone else: refused with the reason (their server bounces it)
    let forged = smtp(
        port,
        "mallory@example.org",
        &reply_to,
        "<r2@mail.example.org>",
        &[],
        "Send the trucks to me",
    )
    .await;
    assert!(
        forged
            .as_ref()
            .unwrap_err()
            .contains("replies are taken only from the address the e-mails go to"),
        "{forged:?}"
    );
    // an out-of-office answer: accepted quietly, not posted
    let away = smtp(
        port,
        "alice@example.org",
        &reply_to,
        "<r3@mail.example.org>",
        &[("Auto-Submitted", "auto-replied")],
        "I am away until Monday.",
    )
    .await;
    assert_eq!(away.unwrap(), "2.0.0 Automatic replies are not posted");
    // a made-up reply address, and any other address: refused
    let made_up = "reply-00000000000000000000000000000000@reply.localhost";
    let unknown = smtp(
        port,
        "alice@example.org",
        made_up,
        "<r4@mail.example.org>",
        &[],
        "hello",
    )
    .await;
    assert!(unknown.unwrap_err().contains("unknown or expired"));
    let relay = smtp(
        port,
        "alice@example.org",
        "someone@example.com",
        "<r5@mail.example.org>",
        &[],
        "hello",
    )
    .await;
    assert!(relay.is_err(), "not an open relay");
    // only a quote: nothing to post
    let empty = smtp(
        port,
        "alice@example.org",
        &reply_to,
        "<r6@mail.example.org>",
        &[],
        "> quoted only\n",
    )
    .await;
    assert!(empty.unwrap_err().contains("the reply is empty"));

    assert_eq!(
        said_by(&mut bobs, "shipment-1", "alice").await,
        vec!["On our way, ETA 14:00."]
    );
}

#[tokio::test]
async fn the_dev_inbox_page_answers_a_digest_and_replies_are_limited_per_hour() {
    let server = serve("replies-inbox", &[]);
    let (digest, mut bobs) = digest_for_alice(&server).await;
    let reply_to = header(&digest, "Reply-To").to_owned();
    let page = server
        .http
        .get(format!("{}/dev/inbox", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("action=\"/dev/inbox/reply\"") && page.contains(&format!("<option>{reply_to}</option>")),
        "{page}"
    );
    let reply = |text: String| {
        let form = [
            ("from", "alice@example.org".to_owned()),
            ("to", reply_to.clone()),
            ("text", text),
        ];
        let request = server.http.post(format!("{}/dev/inbox/reply", server.base)).form(&form);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    for n in 1..=20 {
        let said = reply(format!("count {n}\n-- \nAlice, warehouse")).await;
        assert!(said.contains("Posted in shipment-1."), "{n}: {said}");
    }
    let refused = reply("one too many".to_owned()).await;
    assert!(
        refused.contains("too many replies by e-mail in the last hour"),
        "{refused}"
    );
    let posted = said_by(&mut bobs, "shipment-1", "alice").await;
    assert_eq!(posted.len(), 20);
    assert_eq!(posted[0], "count 1", "signature cut");

    // after she turns e-mail about the room off, its address takes nothing
    let alice = server.token("alice", Some("alice@example.org")).await;
    let (status, _) = server
        .post(
            "/v1/notifications/off",
            json!({ "token": alice, "context": "shipment-1" }),
        )
        .await;
    assert_eq!(status, 200);
    let refused = reply("late".to_owned()).await;
    assert!(refused.contains("e-mail about this room is off for you"), "{refused}");
}
