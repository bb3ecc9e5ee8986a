//! The `dachat` binary as a person runs it: keygen, token, serve; and the
//! local chat's durability: a message acknowledged to its sender survives
//! `kill -9` of the server.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use testkit::free_port;
use testkit::http::post_json;
use testkit::serve::{Serve, Server};
use testkit::ws::WsClient;

use crate::support::DACHAT;

fn temp_dir(name: &str) -> PathBuf {
    testkit::serve::temp_dir(name).unwrap()
}

fn dachat(args: &[&str]) -> std::process::Output {
    Command::new(DACHAT).args(args).output().unwrap()
}

/// Fresh folders for a test's dev keys (made by `dachat keygen`) and data.
fn keys_and_data(name: &str) -> (PathBuf, PathBuf) {
    let (keys, data) = (temp_dir(&format!("keys-{name}")), temp_dir(&format!("data-{name}")));
    assert!(
        dachat(&["keygen", "--out-dir", keys.to_str().unwrap()])
            .status
            .success()
    );
    (keys, data)
}

/// Starts `dachat serve` on these keys and data (kept, so a test can
/// start it again on them) and waits until it accepts connections.
async fn serve(keys: &Path, data: &Path, port: u16) -> Server {
    serve_with(keys, data, port, &[]).await
}

async fn serve_with(keys: &Path, data: &Path, port: u16, extra: &[&str]) -> Server {
    Serve::new(DACHAT, "local")
        .folders(keys, data)
        .port(port)
        .args(extra)
        .start()
        .unwrap()
}

async fn session(base: &str, token: &str, context: &str) -> Value {
    let url = format!("{base}/v1/session");
    let body = json!({ "token": token, "context": context });
    post_json(&reqwest::Client::new(), &url, &body).await.unwrap().1
}

/// `dachat token` for alice with these contexts.
fn dev_token(keys: &Path, contexts: &str) -> std::process::Output {
    dachat(&[
        "token",
        "--keys",
        keys.to_str().unwrap(),
        "--sub",
        "alice",
        "--contexts",
        contexts,
    ])
}

/// A chat socket for a new session of `host_token` in `general`.
async fn chat(base: &str, host_token: &str) -> WsClient {
    let answer = session(base, host_token, "general").await;
    let access = answer["accessToken"].as_str().unwrap();
    WsClient::connect(&format!(
        "{}/v1/local/ws?token={access}",
        base.replace("http://", "ws://")
    ))
    .await
    .unwrap()
}

#[test]
fn keygen_and_token_refuse_bad_input_clearly() {
    let keys = temp_dir("keys-cli");
    let out = dachat(&["keygen", "--out-dir", keys.to_str().unwrap()]);
    assert!(out.status.success());
    for file in ["private.pem", "public.pem", "kid", "jwks.json", "jwks-legacy.json"] {
        assert!(keys.join(file).exists(), "{file}");
    }
    let again = dachat(&["keygen", "--out-dir", keys.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists; pass --force"));
    let bad = dev_token(&keys, "General");
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("contexts: \"General\""), "{stderr}");
    let good = dev_token(&keys, "general");
    assert!(good.status.success());
    assert_eq!(String::from_utf8_lossy(&good.stdout).trim().split('.').count(), 3);
    std::fs::remove_dir_all(&keys).unwrap();
}

/// The seed's own key commands (`openssl ecparam`, SEC1 PEM) and its
/// `generateToken KEY_ID alex` form; the token verifies against the
/// seed's legacy JWKS entry made from `openssl ec -pubout`.
#[test]
fn a_key_made_with_the_seeds_openssl_commands_signs_tokens() {
    let dir = temp_dir("seed-keys");
    let kid = "d873f691-0be2-4a74-bd82-525803415559";
    let private = format!("ecdsa-p256-{kid}-private.pem");
    let public = format!("ecdsa-p256-{kid}-public.pem");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(&dir).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&["ecparam", "-genkey", "-name", "secp256r1", "-noout", "-out", &private]);
    openssl(&["ec", "-in", &private, "-pubout", "-out", &public]);
    assert!(
        std::fs::read_to_string(dir.join(&private))
            .unwrap()
            .starts_with("-----BEGIN EC PRIVATE KEY-----")
    );

    let out = Command::new(DACHAT)
        .args(["token", kid, "alex"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let key =
        backend::tokens::es256::PublicKey::from_pem(&std::fs::read_to_string(dir.join(&public)).unwrap()).unwrap();
    let jwks = serde_json::json!({ "keys": [backend::tokens::es256::legacy_jwk(kid, &key)] }).to_string();
    let keys = backend::tokens::es256::KeySet::from_jwks_json(jwks.as_bytes()).unwrap();
    let now = backend::clock::Clock::system().now_secs();
    let claims = backend::tokens::host_jwt::verify(token.trim(), &keys, &Default::default(), now).unwrap();
    assert_eq!(claims.identity.as_str(), "alex");
    let contexts: Vec<&str> = claims.contexts.iter().map(|c| c.as_str()).collect();
    assert_eq!(contexts, ["general", "random"], "the seed's default contexts");

    // a P-384 key, a public key and a missing file: one clear line each
    openssl(&["ecparam", "-genkey", "-name", "secp384r1", "-noout", "-out", "p384.pem"]);
    for (key, expected) in [
        ("p384.pem", "not a P-256 key"),
        (public.as_str(), "not a PEM private key"),
        ("missing.pem", "cannot read missing.pem (make it with `openssl ecparam"),
    ] {
        let out = Command::new(DACHAT)
            .args(["token", kid, "alex", "--key", key])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{key}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The demo page's `/dev/token` answers bad input with a 400 that names the
/// field, as the CLI does.
#[tokio::test]
async fn dev_token_endpoint_refuses_bad_input_by_field() {
    let (keys, data) = keys_and_data("devtoken");
    let server = serve(&keys, &data, free_port().unwrap()).await;
    let http = reqwest::Client::new();
    let post = |body: Value| http.post(format!("{}/dev/token", server.base)).json(&body).send();
    for (body, expected) in [
        (json!({ "sub": "bad name!", "contexts": ["general"] }), "sub: "),
        (
            json!({ "sub": "alice", "contexts": ["General"] }),
            "contexts: \"General\"",
        ),
        (
            json!({ "sub": "alice" }),
            "request body has the wrong shape: missing field `contexts`",
        ),
    ] {
        let answer = post(body.clone()).await.unwrap();
        assert_eq!(answer.status(), 400, "{body}");
        let answer: Value = answer.json().await.unwrap();
        assert_eq!(answer["error"], "bad_request");
        let message = answer["message"].as_str().unwrap();
        assert!(message.starts_with(expected), "{body}: {message}");
    }
    let good: Value = post(json!({ "sub": "alice", "contexts": ["general"] }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(good["token"].as_str().unwrap().split('.').count(), 3);
    drop(server);
    std::fs::remove_dir_all(&keys).unwrap();
    std::fs::remove_dir_all(&data).unwrap();
}

#[tokio::test]
async fn an_acknowledged_message_survives_kill_9() {
    let (keys, data) = keys_and_data("durable");
    let host_token = String::from_utf8(dev_token(&keys, "general").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let port = free_port().unwrap();

    let server = serve(&keys, &data, port).await;
    let mut socket = chat(&server.base, &host_token).await;
    socket.send(json!({ "type": "join", "room": "general" })).await;
    socket
        .send(json!({ "type": "send", "room": "general", "clientId": "c1", "body": "before the crash" }))
        .await;
    socket.expect("ack").await;
    let mut crashed = server;
    crashed.kill_hard(); // SIGKILL: no shutdown, no flush
    drop(crashed);

    let server = serve(&keys, &data, port).await;
    let mut socket = chat(&server.base, &host_token).await;
    socket.send(json!({ "type": "history", "room": "general" })).await;
    let history = socket.expect("history").await;
    assert_eq!(history["messages"][0]["body"], "before the crash");
    drop(server);
    std::fs::remove_dir_all(&keys).unwrap();
    std::fs::remove_dir_all(&data).unwrap();
}

#[tokio::test]
async fn the_chat_socket_refuses_what_is_not_a_socket_in_the_apis_json() {
    let (keys, data) = keys_and_data("socketjson");
    let server = serve(&keys, &data, free_port().unwrap()).await;
    let http = reqwest::Client::new();
    for query in ["", "?token=a&token=b", "?token=%zz"] {
        let answer = http
            .get(format!("{}/v1/local/ws{query}", server.base))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_client_error(), "{query}: {}", answer.status());
        let body: Value = answer.json().await.unwrap();
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn a_client_spraying_bad_tokens_gets_429_from_the_real_server() {
    let (keys, data) = keys_and_data("junk");
    let server = serve(&keys, &data, free_port().unwrap()).await;
    let http = reqwest::Client::new();
    let me = |token: &str| {
        http.get(format!("{}/v1/me", server.base))
            .bearer_auth(token.to_owned())
            .send()
    };
    // the default limit is 30 failures a minute per client address
    let mut statuses = Vec::new();
    for _ in 0..31 {
        statuses.push(me("not-a-jwt").await.unwrap().status().as_u16());
    }
    assert!(statuses[..30].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[30], 429);
    let refused = me("not-a-jwt").await.unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
}

#[tokio::test]
async fn the_widget_is_sent_precompressed_when_the_browser_takes_it() {
    let (keys, data) = keys_and_data("widget");
    let widget = temp_dir("widget-files");
    // what the widget build writes: the loader, hashed files and the
    // manifest naming them, each file with its .br / .gz forms (here marked
    // by content, so the test sees which one was sent); and a file the
    // manifest does not name
    for (name, bytes) in [
        (
            "manifest.json",
            &br#"{"loader":"dachat.js","files":{"widget_bg.wasm":"widget_bg.0123456789abcdef.wasm"}}"#[..],
        ),
        ("dachat.js", b"loader"),
        ("dachat.js.gz", b"loader, gzipped"),
        ("widget_bg.0123456789abcdef.wasm", b"\0asm"),
        ("widget_bg.0123456789abcdef.wasm.br", b"wasm, brotli"),
        ("widget_bg.0123456789abcdef.wasm.gz", b"wasm, gzipped"),
        ("notes.txt", b"not in the manifest"),
    ] {
        std::fs::write(widget.join(name), bytes).unwrap();
    }
    let server = serve_with(
        &keys,
        &data,
        free_port().unwrap(),
        &["--widget-dir", widget.to_str().unwrap()],
    )
    .await;
    let get = |path: &str, accept: &str| {
        let request = reqwest::Client::new().get(format!("{}{path}", server.base));
        let request = if accept.is_empty() {
            request
        } else {
            request.header("accept-encoding", accept)
        };
        request.send()
    };
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };

    let wasm = get("/widget/widget_bg.0123456789abcdef.wasm", "gzip, deflate, br")
        .await
        .unwrap();
    assert_eq!(header(&wasm, "content-encoding"), "br");
    assert_eq!(header(&wasm, "content-type"), "application/wasm");
    assert_eq!(
        header(&wasm, "cache-control"),
        "public, max-age=31536000, immutable",
        "content-hashed: kept for a year"
    );
    assert!(header(&wasm, "vary").to_ascii_lowercase().contains("accept-encoding"));
    assert_eq!(wasm.bytes().await.unwrap().as_ref(), b"wasm, brotli");

    let gzip_only = get("/widget/widget_bg.0123456789abcdef.wasm", "gzip").await.unwrap();
    assert_eq!(header(&gzip_only, "content-encoding"), "gzip");
    assert_eq!(gzip_only.bytes().await.unwrap().as_ref(), b"wasm, gzipped");

    let plain = get("/widget/widget_bg.0123456789abcdef.wasm", "").await.unwrap();
    assert_eq!(header(&plain, "content-encoding"), "");
    assert_eq!(plain.bytes().await.unwrap().as_ref(), b"\0asm");

    // the loader: short-lived cache; no .br of it here, so gzip
    let loader = get("/widget/dachat.js", "br, gzip").await.unwrap();
    assert_eq!(header(&loader, "content-encoding"), "gzip");
    assert_eq!(header(&loader, "cache-control"), "public, max-age=300");
    assert_eq!(
        header(&loader, "content-type"),
        "text/javascript; charset=utf-8",
        "the loader's words in eight scripts are read as UTF-8 on any host page"
    );
    assert_eq!(loader.bytes().await.unwrap().as_ref(), b"loader, gzipped");

    let other = get("/widget/notes.txt", "").await.unwrap();
    assert_eq!(
        header(&other, "cache-control"),
        "no-cache",
        "not named by the manifest: revalidated"
    );
    assert_eq!(header(&other, "content-type"), "text/plain; charset=utf-8");
    std::fs::remove_dir_all(&widget).unwrap();
}

#[tokio::test]
async fn the_real_server_keeps_a_file_in_its_data_folder_and_serves_it_safely() {
    let (keys, data) = keys_and_data("files");
    let server = serve_with(&keys, &data, free_port().unwrap(), &[]).await;
    let host_token = String::from_utf8(dev_token(&keys, "general").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let answer = session(&server.base, &host_token, "general").await;
    // the window learns what it may attach
    assert_eq!(answer["attachments"]["maxBytes"], 10 * 1024 * 1024, "{answer}");
    let access = answer["accessToken"].as_str().unwrap();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    let http = reqwest::Client::new();
    let uploaded: Value = http
        .post(format!("{}/v1/local/files?room=general&name=pallet.png", server.base))
        .bearer_auth(access)
        .header("content-type", "image/png")
        .body(png.to_vec())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = uploaded["id"].as_str().unwrap();
    let kept: Vec<_> = std::fs::read_dir(data.join("files"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .collect();
    assert_eq!(kept.len(), 1, "one file, named by its SHA-256");
    let fetched = http
        .get(format!("{}/v1/local/files/{id}?token={access}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["x-content-type-options"], "nosniff");
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), png);
    // refusals are the API's JSON on the real server too
    let refused = http
        .post(format!("{}/v1/local/files?room=general&room=x", server.base))
        .bearer_auth(access)
        .header("content-type", "image/png")
        .body(png.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "bad_request", "{body}");
    drop(server);
}
