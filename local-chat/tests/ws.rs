//! The local provider end to end over real sockets: sessions from the token
//! service's `/v1/session`, then WebSocket clients chatting, misbehaving and
//! being refused.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use backend::clock::Clock;
use backend::tokens::es256::SigningKey;
use local_chat::LocalChat;
use serde_json::{Value, json};
use testkit::http::post_json;
use testkit::ws::WsClient;
use tokio_tungstenite::tungstenite::Message;

#[path = "support/mod.rs"]
mod support;

struct Server {
    base: String,
    key: SigningKey,
    http: reqwest::Client,
}

async fn server() -> Server {
    let served = support::serve(&[], |_| LocalChat::in_memory(Clock::system()).unwrap()).await;
    Server {
        base: served.base,
        key: served.key,
        http: reqwest::Client::new(),
    }
}

type Client = WsClient;

impl Server {
    fn host_token(&self, sub: &str, contexts: &[&str]) -> String {
        support::host_token(&self.key, sub, contexts)
    }

    /// POSTs `body` to the token service's `path`; the JSON answer.
    async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("http://{}{path}", self.base);
        post_json(&self.http, &url, &body).await.unwrap().1
    }

    /// Opens a session for `context` and returns the chat access token.
    async fn session(&self, sub: &str, contexts: &[&str], context: &str) -> String {
        let answer = self
            .post(
                "/v1/session",
                json!({ "token": self.host_token(sub, contexts), "context": context }),
            )
            .await;
        assert_eq!(answer["provider"], "local", "{answer}");
        answer["accessToken"].as_str().unwrap().to_owned()
    }

    async fn connect(&self, access_token: &str) -> Client {
        let mut client = WsClient::connect(&format!("ws://{}/v1/local/ws?token={access_token}", self.base))
            .await
            .unwrap();
        let welcome = client.next().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        client
    }

    /// A user with a session for each of `contexts`, connected and joined to them.
    async fn user(&self, sub: &str, contexts: &[&str]) -> Client {
        let mut token = String::new();
        for context in contexts {
            token = self.session(sub, contexts, context).await;
        }
        let mut client = self.connect(&token).await;
        for context in contexts {
            client.send(json!({ "type": "join", "room": context })).await;
            client.expect("joined").await;
        }
        client
    }
}

#[tokio::test]
async fn two_users_chat_in_real_time() {
    let server = server().await;
    let mut alice = server.user("alice", &["shipment-123"]).await;
    let mut bob = server.user("bob", &["shipment-123"]).await;
    // alice learns that bob came online
    let presence = alice.expect("presence").await;
    assert_eq!(
        (presence["identity"].clone(), presence["online"].clone()),
        (json!("bob"), json!(true))
    );

    bob.send(json!({ "type": "typing", "room": "shipment-123" })).await;
    assert_eq!(alice.expect("typing").await["identity"], "bob");

    alice
        .send(json!({ "type": "send", "room": "shipment-123", "clientId": "c1", "body": "Truck leaves at 9" }))
        .await;
    let ack = alice.expect("ack").await;
    assert_eq!(ack["clientId"], "c1");
    let message = bob.expect("message").await["message"].clone();
    assert_eq!(
        (message["author"].clone(), message["body"].clone()),
        (json!("alice"), json!("Truck leaves at 9"))
    );
    assert_eq!(message["id"], ack["id"]);

    // history has it, for a late reader too
    bob.send(json!({ "type": "history", "room": "shipment-123" })).await;
    let history = bob.expect("history").await;
    assert_eq!(history["messages"][0]["body"], "Truck leaves at 9");
    assert_eq!(history["hasMore"], false);

    // read horizon
    bob.send(json!({ "type": "read", "room": "shipment-123", "upTo": ack["id"] }))
        .await;
    assert_eq!(bob.expect("read").await["upTo"], ack["id"]);
}

#[tokio::test]
async fn a_resent_message_is_acknowledged_again_but_delivered_once() {
    let server = server().await;
    let mut alice = server.user("alice", &["general"]).await;
    let mut bob = server.user("bob", &["general"]).await;
    let frame = json!({ "type": "send", "room": "general", "clientId": "same", "body": "once" });
    alice.send(frame.clone()).await;
    let first = alice.expect("ack").await;
    alice.send(frame).await;
    let second = alice.expect("ack").await;
    assert_eq!(first["id"], second["id"]);
    assert_eq!(bob.expect("message").await["message"]["body"], "once");
    bob.send(json!({ "type": "history", "room": "general" })).await;
    assert_eq!(bob.expect("history").await["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_the_author_edits_or_deletes() {
    let server = server().await;
    let mut alice = server.user("alice", &["general"]).await;
    let mut bob = server.user("bob", &["general"]).await;
    alice
        .send(json!({ "type": "send", "room": "general", "clientId": "c1", "body": "hello" }))
        .await;
    let id = alice.expect("ack").await["id"].clone();
    bob.expect("message").await;

    bob.send(json!({ "type": "edit", "room": "general", "id": id, "body": "hijacked" }))
        .await;
    assert_eq!(bob.expect("error").await["code"], "not_yours");
    bob.send(json!({ "type": "delete", "room": "general", "id": id })).await;
    assert_eq!(bob.expect("error").await["code"], "not_yours");

    alice
        .send(json!({ "type": "edit", "room": "general", "id": id, "body": "hello, all" }))
        .await;
    assert_eq!(bob.expect("edited").await["message"]["body"], "hello, all");
    alice
        .send(json!({ "type": "delete", "room": "general", "id": id }))
        .await;
    assert_eq!(bob.expect("deleted").await["id"], id);
}

#[tokio::test]
async fn nicknames_are_announced() {
    let server = server().await;
    let mut alice = server.user("alice", &["general"]).await;
    let mut bob = server.user("bob", &["general"]).await;
    alice
        .send(json!({ "type": "nick", "nick": "Alice from the depot" }))
        .await;
    let nick = bob.expect("nick").await;
    assert_eq!(
        (nick["identity"].clone(), nick["nick"].clone()),
        (json!("alice"), json!("Alice from the depot"))
    );
    alice.send(json!({ "type": "nick", "nick": "x".repeat(33) })).await;
    assert_eq!(alice.expect("error").await["code"], "bad_nick");
}

#[tokio::test]
async fn rooms_outside_the_sessions_are_refused() {
    let server = server().await;
    let mut alice = server.user("alice", &["general"]).await;
    for frame in [
        json!({ "type": "join", "room": "shipment-999" }),
        json!({ "type": "history", "room": "shipment-999" }),
        json!({ "type": "send", "room": "shipment-999", "clientId": "c9", "body": "let me in" }),
    ] {
        alice.send(frame).await;
        let error = alice.expect("error").await;
        assert_eq!(error["code"], "not_a_member", "{error}");
    }
    // and the connection still works
    alice
        .send(json!({ "type": "send", "room": "general", "clientId": "c2", "body": "still here" }))
        .await;
    assert_eq!(alice.expect("ack").await["clientId"], "c2");
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_harm_no_one() {
    let server = server().await;
    let mut alice = server.user("alice", &["general"]).await;
    let mut bob = server.user("bob", &["general"]).await;
    let cases = [
        (Message::text("not json"), "bad_frame"),
        (Message::text(r#"{"type":"shout","room":"general"}"#), "bad_frame"),
        (Message::text(r#"{"type":"send","room":"general"}"#), "bad_frame"),
        (Message::binary(vec![1u8, 2, 3]), "bad_frame"),
        // serde reads an internally tagged enum from an array whose first item is the tag
        (Message::text(r#"["typing","general"]"#), "bad_frame"),
        (
            Message::text(format!(
                r#"{{"type":"typing","room":"general","x":{}1{}}}"#,
                "[".repeat(1_000),
                "]".repeat(1_000)
            )),
            "bad_frame",
        ),
        (
            Message::text(format!(
                r#"{{"type":"send","room":"general","clientId":"x","body":"{}"}}"#,
                "a".repeat(20_000)
            )),
            "too_large",
        ),
        (
            Message::text(format!(
                r#"{{"type":"send","room":"general","clientId":"x","body":"{}"}}"#,
                "a".repeat(5000)
            )),
            "bad_message",
        ),
        (
            Message::text(r#"{"type":"send","room":"general","clientId":"x","body":"   "}"#),
            "bad_message",
        ),
        (
            Message::text(r#"{"type":"typing","room":"shipment-1"}"#),
            "not_a_member",
        ),
    ];
    for (frame, code) in cases {
        alice.send_raw(frame).await;
        let error = alice.expect("error").await;
        assert_eq!(error["code"], code, "{error}");
    }
    // a frame far over the limit ends only that connection
    alice.send_raw(Message::text("x".repeat(200_000))).await;
    assert!(
        alice.try_next().await.is_none(),
        "the oversized frame closes the connection"
    );
    bob.send(json!({ "type": "send", "room": "general", "clientId": "b1", "body": "unaffected" }))
        .await;
    assert_eq!(bob.expect("ack").await["clientId"], "b1");
}

#[tokio::test]
async fn the_socket_needs_a_valid_chat_token() {
    let server = server().await;
    for query in ["", "?token=", "?token=garbage", "?token=eyJhbGciOiJIUzI1NiJ9.e30.AAAA"] {
        let err = WsClient::connect(&format!("ws://{}/v1/local/ws{query}", server.base))
            .await
            .unwrap_err();
        let tokio_tungstenite::tungstenite::Error::Http(response) = err else {
            panic!("expected an HTTP refusal")
        };
        assert_eq!(response.status(), 401, "{query}");
    }
}

#[tokio::test]
async fn revocation_takes_effect_on_open_connections() {
    let server = server().await;
    let mut alice = server.user("alice", &["general", "shipment-1"]).await;
    // a new session whose token no longer lists shipment-1
    server.session("alice", &["general"], "general").await;
    let bye = alice.expect("error").await;
    assert_eq!(bye["code"], "reconnect");
    let token = server.session("alice", &["general"], "general").await;
    let mut again = server.connect(&token).await;
    again.send(json!({ "type": "join", "room": "shipment-1" })).await;
    assert_eq!(again.expect("error").await["code"], "not_a_member");
}

/// The server reads sockets 4 KiB at a time; the longest message allowed
/// (its frame over 4 KiB) still arrives whole.
#[tokio::test]
async fn the_longest_message_arrives_whole() {
    let server = server().await;
    let mut alice = server.user("alice", &["general"]).await;
    let mut bob = server.user("bob", &["general"]).await;
    // the most characters, each as many bytes as one can be
    let body = "€".repeat(protocol::MAX_MESSAGE_UNITS);
    assert_eq!(body.len(), protocol::local::MAX_BODY_BYTES);
    alice
        .send(json!({ "type": "send", "room": "general", "clientId": "long", "body": body }))
        .await;
    assert_eq!(alice.expect("ack").await["clientId"], "long");
    let message = bob.expect("message").await;
    assert_eq!(message["message"]["body"], body.as_str());
}

/// `joined` in a big room: every member counted, at most 200 listed, those
/// online first, then the rest, each part by identity, with nicknames.
#[tokio::test]
async fn joined_lists_online_members_first_and_counts_all() {
    let server = server().await;
    for n in 0..205 {
        server.session(&format!("u-{n:03}"), &["big"], "big").await;
    }
    let mut online = Vec::new();
    for name in ["u-150", "u-204"] {
        online.push(server.user(name, &["big"]).await);
    }
    online[1].send(json!({ "type": "nick", "nick": "Last" })).await;
    online[1].expect("nick").await;
    let mut zed = server.user("zed", &["big"]).await;
    zed.send(json!({ "type": "join", "room": "big" })).await;
    let joined = zed.expect("joined").await;
    assert_eq!(joined["memberCount"], 206);
    let members = joined["members"].as_array().unwrap();
    assert_eq!(members.len(), 200);
    let listed: Vec<(&str, bool)> = members
        .iter()
        .map(|m| (m["identity"].as_str().unwrap(), m["online"].as_bool().unwrap()))
        .collect();
    assert_eq!(&listed[..3], [("u-150", true), ("u-204", true), ("zed", true)]);
    assert_eq!(&listed[3..5], [("u-000", false), ("u-001", false)]);
    assert!(listed[3..].iter().all(|(id, on)| !on && *id != "u-150"));
    assert_eq!(listed[199], ("u-197", false));
    assert_eq!(members[1]["nick"], "Last");
    assert!(members[0].get("nick").is_none());
}

#[tokio::test]
async fn a_renewal_whose_token_dropped_a_room_takes_it_away_at_once() {
    let server = server().await;
    let mut alice = server.user("alice", &["general", "shipment-1"]).await;
    // the host removed alice from the shipment; the window renews its access token
    let renewal = server
        .post(
            "/v1/token",
            json!({ "token": server.host_token("alice", &["general"]) }),
        )
        .await;
    let access_token = renewal["accessToken"].as_str().expect("a renewed token").to_owned();
    // the open connection is told to reconnect ...
    let bye = alice.expect("error").await;
    assert_eq!(bye["code"], "reconnect", "{bye}");
    // ... and after it, the shipment is no longer hers, the rest is
    let mut alice = server.connect(&access_token).await;
    alice.send(json!({ "type": "join", "room": "shipment-1" })).await;
    assert_eq!(alice.expect("error").await["code"], "not_a_member");
    alice.send(json!({ "type": "join", "room": "general" })).await;
    alice.expect("joined").await;
}
