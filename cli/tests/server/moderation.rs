//! Moderators named by the host (issue #30) on the real `dachat serve`
//! with the embedded provider: a moderator removes another person's
//! message and every window is told to drop it; a muted member can read
//! and not send or edit, until unmuted; any member reports a message and
//! the room's moderators hear of it; a member who is not a moderator can
//! do none of a moderator's things, nor can a moderator once the host's
//! token stops naming them; and the operator gets an e-mail for each
//! report and lists every action.

use std::process::Command;

use serde_json::{Value, json};
use testkit::ws::WsClient;

use crate::support::{DACHAT, Server, say, serve};

/// A host token of `sub` for general and shipment-1, moderating `moderates`.
async fn token(server: &Server, sub: &str, moderates: &[&str]) -> String {
    let body = json!({ "sub": sub, "contexts": ["general", "shipment-1"], "moderates": moderates });
    let (status, answer) = server.post("/dev/token", body).await;
    assert_eq!(status, 200, "{answer}");
    answer["token"].as_str().unwrap().to_owned()
}

async fn error(socket: &mut WsClient) -> (String, String) {
    let frame = socket.expect("error").await;
    (
        frame["code"].as_str().unwrap().to_owned(),
        frame["message"].as_str().unwrap().to_owned(),
    )
}

async fn done(socket: &mut WsClient, action: &str) {
    let frame = socket.expect("done").await;
    assert_eq!(
        (frame["action"].as_str(), frame["room"].as_str()),
        (Some(action), Some("general"))
    );
}

fn history_of(page: &Value, id: i64) -> Value {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap()
}

/// The operator's one e-mail: `reporter` reported message `id` of general
/// for spam; the message's text is not in it.
async fn report_mailed(server: &Server, reporter: &str, id: i64) {
    let mail = server.inbox_of(1).await.remove(0);
    assert_eq!(
        (mail["to"].as_str(), mail["subject"].as_str()),
        (
            Some("ops@example.org"),
            Some("DAChat: a message in general was reported")
        )
    );
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("{reporter} reported message {id} in general")),
        "{text}"
    );
    assert!(
        text.contains("Reason: spam") && !text.contains("secret cargo detail"),
        "{text}"
    );
}

#[tokio::test]
async fn a_moderator_removes_mutes_and_hears_reports_and_a_member_cannot() {
    let server = serve("moderation", &[("DACHAT_REPORT_ADDRESS", "ops@example.org")]);
    let alice_token = token(&server, "alice", &["general"]).await;
    let mut alice = server.chat(&alice_token).await;
    let mut bob = server.chat(&token(&server, "bob", &[]).await).await;
    let mut carol = server.chat(&token(&server, "carol", &[]).await).await;

    // bob cannot remove alice's message: he moderates nothing
    let hers = say(&mut alice, "general", 1).await;
    bob.send(json!({ "type": "remove", "room": "general", "id": hers }))
        .await;
    assert_eq!(error(&mut bob).await.0, "not_moderator");
    bob.send(json!({ "type": "mute", "room": "general", "identity": "carol", "minutes": 5 }))
        .await;
    assert_eq!(error(&mut bob).await.0, "not_moderator");
    bob.send(json!({ "type": "reports", "room": "general" })).await;
    assert_eq!(error(&mut bob).await.0, "not_moderator");

    // alice removes bob's message; carol's window is told to drop it
    let his = say(&mut bob, "general", 2).await;
    alice
        .send(json!({ "type": "remove", "room": "general", "id": his }))
        .await;
    done(&mut alice, "remove").await;
    let dropped = carol.expect("deleted").await;
    assert_eq!(
        (dropped["room"].as_str(), dropped["id"].as_i64()),
        (Some("general"), Some(his))
    );
    carol.send(json!({ "type": "history", "room": "general" })).await;
    let removed = history_of(&carol.expect("history").await, his);
    assert_eq!(
        (removed["body"].as_str(), removed["deleted"].as_bool()),
        (Some(""), Some(true))
    );
    // not in her other room, where she moderates nothing
    let elsewhere = say(&mut bob, "shipment-1", 3).await;
    alice
        .send(json!({ "type": "remove", "room": "shipment-1", "id": elsewhere }))
        .await;
    assert_eq!(error(&mut alice).await.0, "not_moderator");

    // muted, bob reads and cannot send or edit; unmuted, he sends
    alice
        .send(json!({ "type": "mute", "room": "general", "identity": "bob", "minutes": 10 }))
        .await;
    done(&mut alice, "mute").await;
    bob.send(json!({ "type": "send", "room": "general", "clientId": "m1", "body": "hello?" }))
        .await;
    let refused = bob.expect("error").await;
    assert_eq!(
        (refused["code"].as_str(), refused["clientId"].as_str()),
        (Some("muted"), Some("m1"))
    );
    assert!(refused["message"].as_str().unwrap().contains("you can read, not send"));
    bob.send(json!({ "type": "edit", "room": "general", "id": his, "body": "edited" }))
        .await;
    assert_eq!(error(&mut bob).await.0, "muted");
    bob.send(json!({ "type": "history", "room": "general" })).await;
    assert!(!bob.expect("history").await["messages"].as_array().unwrap().is_empty());
    let still = say(&mut bob, "shipment-1", 4).await;
    assert!(still > 0, "muted in general only");
    alice
        .send(json!({ "type": "mute", "room": "general", "identity": "bob", "minutes": 0 }))
        .await;
    assert_eq!(error(&mut alice).await.0, "bad_frame");
    alice
        .send(json!({ "type": "unmute", "room": "general", "identity": "bob" }))
        .await;
    done(&mut alice, "unmute").await;
    let again = say(&mut bob, "general", 5).await;

    // carol reports it; alice, the room's moderator, hears of it at once
    carol
        .send(json!({ "type": "report", "room": "general", "id": again, "reason": "spam" }))
        .await;
    done(&mut carol, "report").await;
    let heard = alice.expect("reported").await;
    assert_eq!(
        (
            heard["report"]["messageId"].as_i64(),
            heard["report"]["reporter"].as_str(),
            heard["report"]["reason"].as_str()
        ),
        (Some(again), Some("carol"), Some("spam"))
    );
    carol
        .send(json!({ "type": "report", "room": "general", "id": again, "reason": "  " }))
        .await;
    assert_eq!(error(&mut carol).await.0, "bad_frame");
    carol
        .send(json!({ "type": "report", "room": "general", "id": 999_999, "reason": "spam" }))
        .await;
    assert_eq!(error(&mut carol).await.0, "not_found");
    alice.send(json!({ "type": "reports", "room": "general" })).await;
    let list = alice.expect("reportList").await;
    assert_eq!(list["reports"].as_array().unwrap().len(), 1);
    // and the operator gets an e-mail: who, which message, why; not its text
    report_mailed(&server, "carol", again).await;

    // a token that no longer names her takes the role away at the renewal
    let (status, _) = server
        .post("/v1/token", json!({ "token": token(&server, "alice", &[]).await }))
        .await;
    assert_eq!(status, 200);
    alice
        .send(json!({ "type": "remove", "room": "general", "id": again }))
        .await;
    assert_eq!(error(&mut alice).await.0, "not_moderator");
    drop((alice, bob, carol));

    // the operator's record: who, what, when, which message or member
    let log = Command::new(DACHAT)
        .args(["moderation-log", "--room", "general", "--data-dir"])
        .arg(&server.server.data)
        .output()
        .unwrap();
    assert!(log.status.success());
    let log = String::from_utf8(log.stdout).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(
        lines[0].contains(&format!("general  alice  removed message {his} by bob")),
        "{log}"
    );
    assert!(lines[1].contains("general  alice  muted bob until "), "{log}");
    assert!(lines[2].contains("general  alice  unmuted bob"), "{log}");
}

/// On Twilio the same frames go to `POST /v1/moderation`: a member's report
/// reaches the moderators' list and the operator's mailbox (through the
/// local server's mailer, as the API's SendGrid in production), a member
/// cannot list or remove, and the record is the one `moderation-log` reads.
#[tokio::test]
async fn on_twilio_a_report_reaches_the_moderators_and_the_operator() {
    let twilio = crate::twilio_webhook::standin().await;
    let server = crate::twilio_webhook::twilio_server_with(
        "moderation-twilio",
        &twilio,
        &[("DACHAT_REPORT_ADDRESS", "ops@example.org")],
    );
    let alice = token(&server, "alice", &["general"]).await;
    let bob = token(&server, "bob", &[]).await;
    for who in [&alice, &bob] {
        let (status, answer) = server
            .post("/v1/session", json!({ "token": who, "context": "general" }))
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let posted: Value = server
        .http
        .post(format!("{twilio}/_standin/message"))
        .json(&json!({ "conversation": "general", "author": "alice", "body": "secret cargo detail" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let index = posted["index"].as_i64().unwrap();
    let moderate = |token: &str, frame: Value| server.post("/v1/moderation", json!({ "token": token, "frame": frame }));

    let (status, answer) = moderate(
        &bob,
        json!({ "type": "report", "room": "general", "id": index, "reason": "spam" }),
    )
    .await;
    assert_eq!((status, answer["type"].as_str()), (200, Some("done")), "{answer}");
    report_mailed(&server, "bob", index).await;

    let (status, answer) = moderate(&bob, json!({ "type": "reports", "room": "general" })).await;
    assert_eq!((status, answer["error"].as_str()), (403, Some("not_moderator")));
    let (status, answer) = moderate(&alice, json!({ "type": "reports", "room": "general" })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["reports"][0]["reason"], "spam");
    // without the muted role (`dachat configure` was not run): the reason, and nothing recorded
    let (status, answer) = moderate(
        &alice,
        json!({ "type": "mute", "room": "general", "identity": "bob", "minutes": 60 }),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (503, Some("not_configured")),
        "{answer}"
    );
    assert!(
        answer["message"].as_str().unwrap().contains("dachat configure"),
        "{answer}"
    );
    let (status, answer) = moderate(&alice, json!({ "type": "remove", "room": "general", "id": index })).await;
    assert_eq!(status, 200, "{answer}");

    let log = Command::new(DACHAT)
        .args(["moderation-log", "--data-dir"])
        .arg(&server.server.data)
        .output()
        .unwrap();
    assert!(log.status.success());
    let log = String::from_utf8(log.stdout).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(
        log.contains(&format!("general  alice  removed message {index} by alice")),
        "{log}"
    );
}

/// A member makes at most 20 reports an hour (each may e-mail the
/// operator); the 21st is refused with the reason, and nothing is kept.
#[tokio::test]
async fn reports_are_limited_per_person() {
    let server = serve("moderation-limit", &[]);
    let mut carol = server.chat(&token(&server, "carol", &[]).await).await;
    let id = say(&mut carol, "general", 1).await;
    for n in 1..=20 {
        carol
            .send(json!({ "type": "report", "room": "general", "id": id, "reason": format!("spam {n}") }))
            .await;
        done(&mut carol, "report").await;
    }
    carol
        .send(json!({ "type": "report", "room": "general", "id": id, "reason": "one more" }))
        .await;
    let (code, message) = error(&mut carol).await;
    assert_eq!(code, "rate_limited");
    assert!(message.contains("20 reports an hour"), "{message}");
}
