//! Attachments of the local provider over real sockets (issue #31): a
//! session from the token service, an upload with the chat token, the file
//! sent with a message, fetched by another member with headers that keep a
//! browser from running it; every refusal before a byte is kept (a type the
//! operator does not allow, bytes that are not what the type says, too
//! large, over the quota, empty, a room the user is not in, no token); a
//! cut-off upload leaves nothing; nobody outside the room can fetch it.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend::clock::Clock;
use backend::config;
use backend::tokens::es256::SigningKey;
use local_chat::LocalChat;
use local_chat::files::FileOptions;
use serde_json::{Value, json};
use testkit::http::post_json;
use testkit::ws::WsClient;
use tower::ServiceExt as _;

/// A PNG's first bytes and a little more: what a PNG starts with.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

#[path = "support/mod.rs"]
mod support;

struct Server {
    base: String,
    key: SigningKey,
    http: reqwest::Client,
    router: axum::Router,
    files: PathBuf,
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dachat-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A server whose settings are `extra` (attachment limits), its data in a
/// fresh folder.
async fn server(name: &str, extra: &[(config::Setting, &str)]) -> Server {
    let data = temp_dir(name);
    let files = data.join("files");
    let served = support::serve(extra, |settings| {
        LocalChat::open(
            &data.join("chat.db"),
            Clock::system(),
            Some(FileOptions {
                dir: files.clone(),
                settings: settings.attachments.clone(),
            }),
        )
        .unwrap()
    })
    .await;
    Server {
        base: served.base,
        key: served.key,
        http: reqwest::Client::new(),
        router: served.router,
        files,
    }
}

/// What a request was answered.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

impl Server {
    fn host_token(&self, sub: &str, contexts: &[&str]) -> String {
        support::host_token(&self.key, sub, contexts)
    }

    /// A session for each of `contexts`; the chat token.
    async fn token(&self, sub: &str, contexts: &[&str]) -> String {
        let mut token = String::new();
        for context in contexts {
            let url = format!("http://{}/v1/session", self.base);
            let body = json!({ "token": self.host_token(sub, contexts), "context": context });
            let (_, answer) = post_json(&self.http, &url, &body).await.unwrap();
            token = answer["accessToken"].as_str().unwrap().to_owned();
        }
        token
    }

    async fn chat(&self, token: &str, rooms: &[&str]) -> WsClient {
        let mut client = WsClient::connect(&format!("ws://{}/v1/local/ws?token={token}", self.base))
            .await
            .unwrap();
        assert_eq!(client.next().await["type"], "welcome");
        for room in rooms {
            client.send(json!({ "type": "join", "room": room })).await;
            client.expect("joined").await;
        }
        client
    }

    async fn upload(&self, token: Option<&str>, room: &str, name: &str, content_type: &str, bytes: &[u8]) -> Answer {
        let mut request = self
            .http
            .post(format!("http://{}/v1/local/files", self.base))
            .query(&[("room", room), ("name", name)])
            .header("content-type", content_type)
            .body(bytes.to_vec());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.unwrap()).await
    }

    async fn download(&self, token: &str, id: &str) -> Answer {
        let request = self
            .http
            .get(format!("http://{}/v1/local/files/{id}", self.base))
            .bearer_auth(token);
        answer(request.send().await.unwrap()).await
    }

    async fn delete(&self, token: &str, id: &str) -> Answer {
        let request = self
            .http
            .delete(format!("http://{}/v1/local/files/{id}", self.base))
            .bearer_auth(token);
        answer(request.send().await.unwrap()).await
    }

    /// The files kept on disk (by SHA-256) and uploads in progress.
    fn on_disk(&self) -> (Vec<String>, Vec<String>) {
        let list = |dir: &Path| -> Vec<String> {
            std::fs::read_dir(dir)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .filter(|e| e.path().is_file())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        (list(&self.files), list(&self.files.join("tmp")))
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        bytes: response.bytes().await.unwrap().to_vec(),
    }
}

#[tokio::test]
async fn a_photo_is_uploaded_sent_and_fetched_by_another_member_and_cannot_run() {
    let server = server("photo", &[]).await;
    let alice = server.token("alice", &["shipment-1"]).await;
    let bob = server.token("bob", &["shipment-1"]).await;
    let mut alices = server.chat(&alice, &["shipment-1"]).await;
    let mut bobs = server.chat(&bob, &["shipment-1"]).await;

    let uploaded = server
        .upload(Some(&alice), "shipment-1", "pallet 4.png", "image/png", PNG)
        .await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.json());
    let file = uploaded.json();
    assert_eq!(file["name"], "pallet 4.png");
    assert_eq!(file["contentType"], "image/png");
    assert_eq!(file["size"], PNG.len());
    let id = file["id"].as_str().unwrap().to_owned();
    // until it is sent, only alice may fetch it
    assert_eq!(server.download(&bob, &id).await.status, 404);
    assert_eq!(server.download(&alice, &id).await.status, 200);

    alices
        .send(json!({ "type": "send", "room": "shipment-1", "clientId": "p1", "body": "", "attachment": id }))
        .await;
    alices.expect("ack").await;
    let message = bobs.expect("message").await["message"].clone();
    assert_eq!(message["attachment"], file, "{message}");
    assert_eq!(message["body"], "");

    let fetched = server.download(&bob, &id).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.bytes, PNG);
    assert_eq!(fetched.header("content-type"), "image/png");
    assert_eq!(fetched.header("x-content-type-options"), "nosniff");
    assert_eq!(fetched.header("content-security-policy"), "default-src 'none'; sandbox");
    assert!(
        fetched.header("content-disposition").starts_with("inline;"),
        "{}",
        fetched.header("content-disposition")
    );
    assert_eq!(fetched.header("cache-control"), "private, no-store");
    assert!(fetched.header("last-modified").is_empty());
    // a player seeking asks for a range of bytes, and gets those, with the same headers
    let range = server
        .http
        .get(format!("http://{}/v1/local/files/{id}", server.base))
        .bearer_auth(&bob)
        .header("range", "bytes=8-15")
        .send()
        .await
        .unwrap();
    let range = answer(range).await;
    assert_eq!(range.status, 206);
    assert_eq!(range.bytes, &PNG[8..16]);
    assert_eq!(range.header("content-range"), format!("bytes 8-15/{}", PNG.len()));
    assert_eq!(range.header("content-security-policy"), "default-src 'none'; sandbox");
    // it is in the history too
    bobs.send(json!({ "type": "history", "room": "shipment-1" })).await;
    let history = bobs.expect("history").await;
    assert_eq!(history["messages"][0]["attachment"]["id"], id.as_str());
    // the file cannot be sent twice
    alices
        .send(json!({ "type": "send", "room": "shipment-1", "clientId": "p2", "body": "again", "attachment": id }))
        .await;
    assert_eq!(alices.expect("error").await["code"], "bad_attachment");
}

#[tokio::test]
async fn a_document_is_a_download_and_its_name_is_text_only() {
    let server = server("pdf", &[]).await;
    let alice = server.token("alice", &["general"]).await;
    // a right-to-left override would show "invoiceexe.pdf"; separators would climb folders
    let uploaded = server
        .upload(
            Some(&alice),
            "general",
            "../in\u{202e}voice.exe",
            "application/pdf",
            PDF,
        )
        .await;
    assert_eq!(uploaded.status, 201);
    let name = uploaded.json()["name"].as_str().unwrap().to_owned();
    assert_eq!(name, "_invoice.exe.pdf");
    let fetched = server.download(&alice, uploaded.json()["id"].as_str().unwrap()).await;
    let disposition = fetched.header("content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        !disposition.contains('\u{202e}') && !disposition.contains('/'),
        "{disposition}"
    );
}

#[tokio::test]
async fn every_refusal_comes_before_a_byte_is_kept_and_says_why() {
    let server = server(
        "refusals",
        &[
            (config::ATTACHMENT_MAX_BYTES, "1000"),
            (config::ATTACHMENT_QUOTA_BYTES, "2500"),
        ],
    )
    .await;
    let alice = server.token("alice", &["general"]).await;
    let html = b"<!doctype html><script>alert(1)</script>";
    let big = [PNG, &[0u8; 1200][..]].concat();
    for (what, token, room, content_type, bytes, status, code) in [
        (
            "an SVG",
            Some(alice.as_str()),
            "general",
            "image/svg+xml",
            &b"<svg/>"[..],
            415,
            "type_not_allowed",
        ),
        (
            "HTML",
            Some(&alice),
            "general",
            "text/html",
            &html[..],
            415,
            "type_not_allowed",
        ),
        (
            "HTML called a PNG",
            Some(&alice),
            "general",
            "image/png",
            &html[..],
            415,
            "type_mismatch",
        ),
        (
            "too large",
            Some(&alice),
            "general",
            "image/png",
            &big[..],
            413,
            "too_large",
        ),
        (
            "empty",
            Some(&alice),
            "general",
            "text/plain",
            &b""[..],
            400,
            "empty_file",
        ),
        (
            "another room",
            Some(&alice),
            "secret-room",
            "image/png",
            PNG,
            403,
            "not_a_member",
        ),
        ("no token", None, "general", "image/png", PNG, 401, "invalid_token"),
    ] {
        let answer = server.upload(token, room, "x", content_type, bytes).await;
        let body = answer.json();
        assert_eq!(
            (answer.status, body["error"].as_str()),
            (status, Some(code)),
            "{what}: {body}"
        );
        assert!(!body["message"].as_str().unwrap().is_empty(), "{what}");
    }
    assert_eq!(server.on_disk(), (vec![], vec![]), "nothing kept");
    // the quota: two files of 900 B fit in 2,500 B, a third does not
    let file = |n: u8| [PNG, &[n; 900 - PNG.len()][..]].concat();
    for n in 0..2 {
        assert_eq!(
            server
                .upload(Some(&alice), "general", "f.png", "image/png", &file(n))
                .await
                .status,
            201
        );
    }
    let over = server
        .upload(Some(&alice), "general", "f.png", "image/png", &file(2))
        .await;
    assert_eq!(
        (over.status, over.json()["error"].as_str()),
        (413, Some("quota_exceeded"))
    );
    assert_eq!(server.on_disk().0.len(), 2);
}

#[tokio::test]
async fn an_upload_cut_off_half_way_leaves_nothing() {
    let server = server("cut", &[]).await;
    let alice = server.token("alice", &["general"]).await;
    // the body's stream fails after its first bytes, as a dropped connection does
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(PNG.to_vec()),
        Ok(vec![7; 4096]),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "gone")),
    ];
    let request = Request::post("/v1/local/files?room=general&name=half.png")
        .header("authorization", format!("Bearer {alice}"))
        .header("content-type", "image/png")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let response = server.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // the handler has returned: its half-written file went with it
    assert_eq!(server.on_disk(), (vec![], vec![]));
    // and it does not count against the quota or exist for anyone
    let whole = server
        .upload(Some(&alice), "general", "whole.png", "image/png", PNG)
        .await;
    assert_eq!(whole.status, 201);
}

#[tokio::test]
async fn nobody_outside_the_room_can_fetch_a_file_and_taking_one_back_or_deleting_its_message_removes_it() {
    let server = server("access", &[]).await;
    let alice = server.token("alice", &["shipment-1"]).await;
    let mallory = server.token("mallory", &["general"]).await;
    let mut alices = server.chat(&alice, &["shipment-1"]).await;
    let sent = server
        .upload(Some(&alice), "shipment-1", "a.png", "image/png", PNG)
        .await
        .json();
    let id = sent["id"].as_str().unwrap().to_owned();
    alices
        .send(json!({ "type": "send", "room": "shipment-1", "clientId": "a1", "body": "the pallet", "attachment": id }))
        .await;
    let message_id = alices.expect("ack").await["id"].as_i64().unwrap();
    for probe in [id.as_str(), "../../chat.db", "0"] {
        assert_eq!(server.download(&mallory, probe).await.status, 404, "{probe}");
    }
    assert_eq!(server.download(&alice, &format!("{id}?token=")).await.status, 200);
    // the same bytes twice are kept once
    let unsent = server
        .upload(Some(&alice), "shipment-1", "b.png", "image/png", PNG)
        .await
        .json();
    assert_eq!(server.on_disk().0.len(), 1);
    // a sent file goes only with its message
    let answer = server.delete(&alice, &id).await;
    assert_eq!(
        (answer.status, answer.json()["error"].as_str()),
        (409, Some("already_sent"))
    );
    assert_eq!(
        server.delete(&mallory, unsent["id"].as_str().unwrap()).await.status,
        404
    );
    assert_eq!(server.delete(&alice, unsent["id"].as_str().unwrap()).await.status, 204);
    assert_eq!(server.on_disk().0.len(), 1, "still used by the sent message");
    alices
        .send(json!({ "type": "delete", "room": "shipment-1", "id": message_id }))
        .await;
    alices.expect("deleted").await;
    assert_eq!(server.on_disk(), (vec![], vec![]), "the message's file went with it");
    assert_eq!(server.download(&alice, &id).await.status, 404);
}
