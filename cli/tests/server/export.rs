//! `dachat export` (issue #30), run as an operator runs it: 10,000
//! messages of a local room to JSON and HTML, a day's bound, and on Twilio
//! (the stand-in behind the fault proxy) an export stopped by a failure
//! halfway and resumed by running it again, each message once.

use std::path::Path;

use serde_json::{Value, json};
use testkit::fault::{Fault, FaultProxy};

use crate::twilio_webhook::{standin, twilio_env};

/// `dachat export` as an operator runs it.
async fn export(args: &[&str], env: &[(&str, String)], ok: bool) -> String {
    crate::support::operator("export", args, env, ok).await
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// 2026-03-01 and 2026-03-02, 00:00 UTC, in Unix ms.
const MARCH_1: i64 = 1_772_323_200_000;
const MARCH_2: i64 = MARCH_1 + 86_400_000;

#[tokio::test]
async fn ten_thousand_local_messages_export_in_order_as_json_and_as_safe_html() {
    let dir = testkit::serve::temp_dir("export-local").unwrap();
    let data = dir.join("data");
    {
        let store = local_chat::store::Store::open(&data.join("chat.db")).unwrap();
        for i in 0..10_000i64 {
            // the first 4,000 on 1 March, the rest on 2 March
            let at = if i < 4_000 { MARCH_1 + i } else { MARCH_2 + i };
            store
                .insert(
                    "shipment-1",
                    &format!("user{}", i % 7),
                    &format!("message {i}"),
                    at,
                    None,
                    None,
                )
                .unwrap();
        }
        store
            .insert(
                "shipment-1",
                "mallory",
                "<script>alert('x')</script>",
                MARCH_2 + 20_000,
                None,
                None,
            )
            .unwrap();
        store
            .insert("general", "alice", "another room", MARCH_2, None, None)
            .unwrap();
    }
    let data_dir = data.to_str().unwrap();
    let out = dir.join("shipment-1.json");
    let said = export(
        &[
            "--context",
            "shipment-1",
            "--data-dir",
            data_dir,
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
        true,
    )
    .await;
    assert!(said.contains("Exported 10001 message(s) of shipment-1"), "{said}");
    assert!(
        said.contains("exported 10001 of at most 10001 messages"),
        "progress: {said}"
    );
    let exported = read_json(&out);
    assert_eq!(
        (exported["context"].as_str(), exported["count"].as_u64()),
        (Some("shipment-1"), Some(10_001))
    );
    let messages = exported["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 10_001);
    assert_eq!(messages[0]["body"], "message 0");
    assert_eq!(messages[0]["createdAt"], "2026-03-01T00:00:00Z");
    assert_eq!(messages[9_999]["body"], "message 9999");
    assert!(
        messages
            .windows(2)
            .all(|w| w[0]["position"].as_i64() < w[1]["position"].as_i64())
    );
    assert!(messages.iter().all(|m| m["body"] != "another room"));
    assert!(!out.with_extension("json.partial").exists(), "the partial file is gone");

    // a day's bound, as a page for people: the script is text
    let page = dir.join("shipment-1.html");
    export(
        &[
            "--context",
            "shipment-1",
            "--data-dir",
            data_dir,
            "--since",
            "2026-03-02",
            "--format",
            "html",
            "--out",
            page.to_str().unwrap(),
        ],
        &[],
        true,
    )
    .await;
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<li>").count(), 6_001, "only 2 March");
    assert!(!html.contains("message 3999<"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(!html.contains("<script>"));
    assert!(html.contains("default-src 'none'"));

    // bad input is one clear line, and writes nothing
    let bad = dir.join("bad.json");
    for (args, says) in [
        (vec!["--context", "shipment-1", "--since", "2 March"], "YYYY-MM-DD"),
        (vec!["--context", "no such/room"], "--context"),
    ] {
        let mut args = args;
        args.extend(["--data-dir", data_dir, "--out", bad.to_str().unwrap()]);
        let said = export(&args, &[], false).await;
        assert!(said.contains(says), "{said}");
        assert!(!bad.exists());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn on_twilio_an_export_stopped_halfway_is_resumed_and_has_each_message_once() {
    let twilio = standin().await;
    let http = reqwest::Client::new();
    let seeded = http
        .post(format!("{twilio}/_standin/seed-participation"))
        .json(&json!({ "identity": "alice", "context": "shipment-9" }))
        .send()
        .await
        .unwrap();
    assert!(seeded.status().is_success());
    for i in 0..1_000 {
        let written = http
            .post(format!("{twilio}/_standin/message"))
            .json(&json!({ "conversation": "shipment-9", "author": "alice", "body": format!("m{i}") }))
            .send()
            .await
            .unwrap();
        assert!(written.status().is_success());
    }
    let proxy = FaultProxy::start(&twilio).await.unwrap();
    let env = twilio_env(&proxy.url);
    let dir = testkit::serve::temp_dir("export-twilio").unwrap();
    let out = dir.join("shipment-9.json");
    let args = [
        "--context",
        "shipment-9",
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    // the sixth page fails through every retry: the run stops after 500
    proxy.inject("GET", "Page=5", Fault::status(500, &[]), 3);
    let stopped = export(&args, &env, false).await;
    assert!(
        stopped.contains("500 messages exported so far; run again to resume"),
        "{stopped}"
    );
    assert!(!out.exists());
    // another export may not take over this one's partial file
    let other = export(&[&args[..], &["--since", "2026-01-01"]].concat(), &env, false).await;
    assert!(other.contains("holds a stopped export of shipment-9"), "{other}");
    let resumed = export(&args, &env, true).await;
    assert!(
        resumed.contains("resuming: 500 messages were exported before"),
        "{resumed}"
    );
    let messages = read_json(&out)["messages"].as_array().unwrap().clone();
    let bodies: Vec<&str> = messages.iter().map(|m| m["body"].as_str().unwrap()).collect();
    let expected: Vec<String> = (0..1_000).map(|i| format!("m{i}")).collect();
    assert_eq!(bodies, expected, "each message once, in order");
    assert!(messages.iter().all(|m| m["id"].as_str().unwrap().starts_with("IM")));
    std::fs::remove_dir_all(&dir).unwrap();
}
