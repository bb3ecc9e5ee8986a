//! `dachat forget` (issue #30), run as an operator runs it: on the local
//! server's data folder (the embedded provider and the notifications'
//! SQLite), and on Twilio (the stand-in behind the fault proxy) with a
//! failure halfway, then run again to finish.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::fault::{Fault, FaultProxy};
use testkit::free_port;
use testkit::serve::Serve;
use testkit::ws::WsClient;

use crate::support::{DACHAT, client, say};
use crate::twilio_webhook::{latest_messages, standin, twilio_env};

/// `dachat forget` as an operator runs it.
async fn forget(args: &[&str], env: &[(&str, String)], ok: bool) -> String {
    crate::support::operator("forget", args, env, ok).await
}

/// `room`'s history as `socket`'s person sees it: (author, body, deleted).
async fn history(socket: &mut WsClient, room: &str) -> Vec<(String, String, bool)> {
    socket
        .send(json!({ "type": "history", "room": room, "limit": 100 }))
        .await;
    let page = socket.expect("history").await;
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m: &Value| {
            (
                m["author"].as_str().unwrap().to_owned(),
                m["body"].as_str().unwrap().to_owned(),
                m["deleted"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[tokio::test]
async fn on_the_local_server_a_person_is_found_erased_once_and_no_one_else() {
    let dir = testkit::serve::temp_dir("forget-local").unwrap();
    let (keys, data) = (dir.join("keys"), dir.join("data"));
    testkit::serve::keygen(std::path::Path::new(DACHAT), &keys).unwrap();
    let port = free_port().unwrap();
    let start = || {
        let serve = Serve::new(DACHAT, "forget-local")
            .folders(&keys, &data)
            .port(port)
            .env("DACHAT_NOTIFY_DELAY", "1");
        client(serve.start().unwrap())
    };
    let server = start();
    let alice = server.token("alice", Some("alice@example.org")).await;
    let bob = server.token("bob", Some("bob@example.org")).await;
    for token in [&alice, &bob] {
        let (_, on) = server
            .post("/v1/notifications/subscribe", json!({ "token": token }))
            .await;
        assert_eq!(on["state"], "on");
    }
    let mut alices = server.chat(&alice).await;
    let mut bobs = server.chat(&bob).await;
    say(&mut alices, "general", 1).await;
    say(&mut bobs, "general", 2).await;
    say(&mut alices, "shipment-1", 3).await;
    drop((alices, bobs));
    let data_dir = data.to_str().unwrap();

    // without a choice for the messages, nothing happens, and it says why
    let refused = forget(&["--identity", "alice", "--data-dir", data_dir], &[], false).await;
    assert!(refused.contains("--messages delete"), "{refused}");
    let looked = forget(&["--identity", "alice", "--data-dir", data_dir, "--dry-run"], &[], true).await;
    assert!(looked.contains("messages: 2 found"), "{looked}");
    assert!(looked.contains("memberships: 2 found"), "{looked}");
    assert!(looked.contains("subscriptions: 1 found"), "{looked}");
    assert!(looked.contains("run without --dry-run"), "{looked}");
    let done = forget(
        &["--identity", "alice", "--data-dir", data_dir, "--messages", "delete"],
        &[],
        true,
    )
    .await;
    assert!(done.contains("messages: 2 deleted"), "{done}");
    assert!(done.contains("subscriptions: 1 removed"), "{done}");
    assert!(done.contains("Done:"), "{done}");
    let again = forget(
        &["--identity", "alice", "--data-dir", data_dir, "--messages", "delete"],
        &[],
        true,
    )
    .await;
    assert!(again.contains("Nothing is kept about alice."), "{again}");

    // the running server's history: alice's messages are placeholders by
    // nobody in particular; bob's is whole, and bob is still subscribed
    let mut bobs = server.chat(&bob).await;
    let general = history(&mut bobs, "general").await;
    assert_eq!(
        general,
        [
            ("former-member".to_owned(), String::new(), true),
            ("bob".to_owned(), "secret cargo detail 2".to_owned(), false),
        ]
    );
    assert!(history(&mut bobs, "shipment-1").await.iter().all(|m| m.0 != "alice"));
    let bobs_kept = forget(&["--identity", "bob", "--data-dir", data_dir, "--dry-run"], &[], true).await;
    assert!(bobs_kept.contains("subscriptions: 1 found"), "{bobs_kept}");
    assert!(bobs_kept.contains("messages: 1 found"), "{bobs_kept}");
    drop((bobs, server));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes a message into the stand-in as the SDK would.
async fn write(http: &reqwest::Client, twilio: &str, room: &str, author: &str, body: &str) {
    let answer = http
        .post(format!("{twilio}/_standin/message"))
        .json(&json!({ "conversation": room, "author": author, "body": body }))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
}

/// Who wrote `room`'s messages, oldest first, on the stand-in.
async fn authors(http: &reqwest::Client, twilio: &str, room: &str) -> Vec<String> {
    let page = latest_messages(http, twilio, room).await;
    let mut authors: Vec<String> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap().to_owned())
        .collect();
    authors.reverse();
    authors
}

#[tokio::test]
async fn on_twilio_a_run_cut_short_halfway_is_finished_by_running_it_again() {
    let twilio = standin().await;
    let http = reqwest::Client::new();
    // alice is in general; she left shipment-1, where her messages stay
    let seed = |identity: &str, room: &str| {
        let request = http
            .post(format!("{twilio}/_standin/seed-participation"))
            .json(&json!({ "identity": identity, "context": room }));
        async move { assert!(request.send().await.unwrap().status().is_success()) }
    };
    seed("alice", "general").await;
    seed("bob", "general").await;
    seed("bob", "shipment-1").await;
    for (room, author, body) in [
        ("general", "alice", "a1"),
        ("general", "bob", "b1"),
        ("general", "alice", "a2"),
        ("shipment-1", "alice", "a3"),
        ("shipment-1", "bob", "b2"),
    ] {
        write(&http, &twilio, room, author, body).await;
    }
    let proxy = FaultProxy::start(&twilio).await.unwrap();
    let env: Vec<(&str, String)> = twilio_env(&proxy.url);
    let empty = testkit::serve::temp_dir("forget-twilio").unwrap();
    let args = [
        "--identity",
        "alice",
        "--data-dir",
        empty.to_str().unwrap(),
        "--messages",
        "anonymise",
    ];

    let looked = forget(&[&args[..4], &["--dry-run"]].concat(), &env, true).await;
    assert!(looked.contains("messages by alice: 3 found"), "{looked}");
    assert!(looked.contains("participations: 1 found"), "{looked}");
    assert!(looked.contains("user: 1 found"), "{looked}");
    assert_eq!(authors(&http, &twilio, "general").await, ["alice", "bob", "alice"]);

    // Twilio fails the second message's update, through every retry (3
    // attempts): the run stops there, says so, and leaves the rest
    proxy.inject("POST", "/Messages/", Fault::Delay(Duration::ZERO), 1);
    proxy.inject("POST", "/Messages/", Fault::status(500, &[]), 3);
    let cut = forget(&args, &env, false).await;
    assert!(cut.contains("run again to finish"), "{cut}");
    assert_eq!(
        authors(&http, &twilio, "general").await,
        ["former-member", "bob", "alice"],
        "the first of hers done, the second not"
    );
    assert_eq!(standin_participants(&http, &twilio, "general").await, ["alice", "bob"]);

    // run again: it finishes, in the room she left as well
    let done = forget(&args, &env, true).await;
    assert!(done.contains("messages by alice: 2 anonymised"), "{done}");
    assert!(done.contains("participations: 1 removed"), "{done}");
    assert!(done.contains("user: 1 removed"), "{done}");
    assert_eq!(
        authors(&http, &twilio, "general").await,
        ["former-member", "bob", "former-member"]
    );
    assert_eq!(authors(&http, &twilio, "shipment-1").await, ["former-member", "bob"]);
    assert_eq!(standin_participants(&http, &twilio, "general").await, ["bob"]);
    assert_eq!(standin_participants(&http, &twilio, "shipment-1").await, ["bob"]);
    let again = forget(&args, &env, true).await;
    assert!(again.contains("Nothing is kept about alice."), "{again}");
    std::fs::remove_dir_all(&empty).unwrap();
}

/// The identities in `room` on the stand-in.
async fn standin_participants(http: &reqwest::Client, twilio: &str, room: &str) -> Vec<String> {
    let page: Value = http
        .get(format!(
            "{twilio}/v1/Services/{}/Conversations/{room}/Participants",
            crate::twilio_webhook::sid("IS")
        ))
        .basic_auth(crate::twilio_webhook::sid("SK"), Some("webhook-test-api-secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut identities: Vec<String> = page["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["identity"].as_str().unwrap().to_owned())
        .collect();
    identities.sort();
    identities
}

#[tokio::test]
async fn the_local_server_deletes_messages_and_reply_addresses_past_their_rooms_retention_when_it_starts() {
    let dir = testkit::serve::temp_dir("retention-local").unwrap();
    let (keys, data) = (dir.join("keys"), dir.join("data"));
    testkit::serve::keygen(std::path::Path::new(DACHAT), &keys).unwrap();
    let now_ms = i64::try_from(backend::clock::Clock::system().now_ms()).unwrap();
    let day = 86_400_000;
    {
        let store = local_chat::store::Store::open(&data.join("chat.db")).unwrap();
        for (room, body, days) in [
            ("general", "a month and a day old", 31),
            ("general", "a week old", 7),
            ("shipment-1", "two months old", 60),
        ] {
            store
                .insert(room, "alice", body, now_ms - days * day, None, None)
                .unwrap();
        }
        // a reply address of a digest about general sent 40 days ago
        use backend::notify::store::NotifyStore as _;
        let notify = local_chat::notify_sqlite::SqliteNotifyStore::open(&data.join("notify.db")).unwrap();
        let route = backend::notify::store::ReplyRoute {
            tag: "old-tag".into(),
            identity: "alice".into(),
            context: "general".into(),
        };
        let sent = u64::try_from(now_ms / 1000 - 40 * 86_400).unwrap();
        notify.put_reply_routes(&[route], sent).await.unwrap();
    }
    let server = client(
        Serve::new(DACHAT, "retention-local")
            .folders(&keys, &data)
            .env("DACHAT_RETENTION", "general=30")
            .start()
            .unwrap(),
    );
    server
        .logged("retention: messages past their room's retention deleted", 1)
        .await;
    assert_eq!(server.log_count("deleted=1"), 1, "{}", server.server.log_text());
    server
        .logged("reply addresses of rooms past their retention removed", 1)
        .await;
    assert_eq!(server.log_count("gone=1"), 1, "{}", server.server.log_text());
    let bob = server.token("bob", None).await;
    let mut bobs = server.chat(&bob).await;
    let bodies = |history: Vec<(String, String, bool)>| history.into_iter().map(|m| m.1).collect::<Vec<_>>();
    assert_eq!(bodies(history(&mut bobs, "general").await), ["a week old"]);
    assert_eq!(
        bodies(history(&mut bobs, "shipment-1").await),
        ["two months old"],
        "no rule: kept"
    );
    drop((bobs, server));
    std::fs::remove_dir_all(&dir).unwrap();
}
