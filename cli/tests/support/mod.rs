//! What the `cli` tests share (the `server` tests and the operator tests):
//! the real `dachat serve` started through [`testkit::serve`] with a
//! 1-second notification delay, and the requests people make of it.

// Each test binary that includes this uses a part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::http::post_json;
use testkit::serve::Serve;
use testkit::ws::WsClient;

pub const DACHAT: &str = env!("CARGO_BIN_EXE_dachat");

/// A running `dachat serve` and a client for it.
pub struct Server {
    pub server: testkit::serve::Server,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub http: reqwest::Client,
}

/// `dachat serve --dev-keys` with a 1-second notification delay and `env`.
pub fn serve(name: &str, env: &[(&str, &str)]) -> Server {
    let mut serve = Serve::new(DACHAT, name).env("DACHAT_NOTIFY_DELAY", "1");
    for (name, value) in env {
        serve = serve.env(name, *value);
    }
    client(serve.start().unwrap())
}

/// A client for a server started otherwise.
pub fn client(server: testkit::serve::Server) -> Server {
    Server {
        base: server.base.clone(),
        server,
        http: reqwest::Client::new(),
    }
}

/// Polls `check` every 100 ms until it gives a value, for at most 30 s.
pub async fn until<T, F: std::future::Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "waited 30 s for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Server {
    /// How many lines of the server's log contain `text` now.
    pub fn log_count(&self, text: &str) -> usize {
        self.server.log_text().matches(text).count()
    }

    /// Waits until the server's log has a line containing `text`, `n` times.
    pub async fn logged(&self, text: &str, n: usize) {
        until(&format!("{n} log lines with {text:?}"), || async {
            (self.log_count(text) >= n).then_some(())
        })
        .await;
    }

    /// A host token from the demo page's `/dev/token`, for both rooms.
    pub async fn token(&self, sub: &str, email: Option<&str>) -> String {
        let body = json!({ "sub": sub, "contexts": ["general", "shipment-1"], "email": email });
        let (status, answer) = self.post("/dev/token", body).await;
        assert_eq!(status, 200, "{answer}");
        answer["token"].as_str().unwrap().to_owned()
    }

    /// POSTs JSON to `path`: the status and the JSON answer.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        post_json(&self.http, &format!("{}{path}", self.base), &body)
            .await
            .unwrap()
    }

    pub async fn subscriptions(&self, token: &str) -> Value {
        self.http
            .get(format!("{}/v1/notifications", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn inbox(&self) -> Vec<Value> {
        let emails: Value = self
            .http
            .get(format!("{}/dev/inbox.json", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // newest first on the page; oldest first here
        let mut emails = emails.as_array().unwrap().clone();
        emails.reverse();
        emails
    }

    /// Waits until the inbox holds `n` e-mails (the sweep runs every second).
    pub async fn inbox_of(&self, n: usize) -> Vec<Value> {
        until(&format!("{n} e-mails in the dev inbox"), || async {
            let emails = self.inbox().await;
            (emails.len() >= n).then_some(emails)
        })
        .await
    }

    /// A chat socket of `host_token`'s person, joined to both rooms.
    pub async fn chat(&self, host_token: &str) -> WsClient {
        let mut access = String::new();
        for room in ["general", "shipment-1"] {
            let (status, session) = self
                .post("/v1/session", json!({ "token": host_token, "context": room }))
                .await;
            assert_eq!(status, 200, "{session}");
            access = session["accessToken"].as_str().unwrap().to_owned();
        }
        let ws = self.base.replace("http://", "ws://");
        let mut socket = WsClient::connect(&format!("{ws}/v1/local/ws?token={access}"))
            .await
            .unwrap();
        socket.expect("welcome").await;
        for room in ["general", "shipment-1"] {
            socket.send(json!({ "type": "join", "room": room })).await;
            socket.expect("joined").await;
        }
        socket
    }
}

pub async fn say(socket: &mut WsClient, room: &str, n: u32) -> i64 {
    socket
        .send(json!({ "type": "send", "room": room, "clientId": format!("c-{room}-{n}"), "body": format!("secret cargo detail {n}") }))
        .await;
    socket.expect("ack").await["id"].as_i64().unwrap()
}

pub fn code_in(email: &Value) -> String {
    let subject = email["subject"].as_str().unwrap();
    let code = subject.rsplit(' ').next().unwrap().to_owned();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{subject}");
    code
}

pub fn header<'a>(email: &'a Value, name: &str) -> &'a str {
    email["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == name)
        .map(|h| h[1].as_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} in {email}"))
}

/// `dachat <command> <args>` as an operator runs it, with `env` and
/// nothing else from the environment that names a place to look
/// (`DACHAT_*`, `AWS_*`), off the test's runtime (which may serve a
/// stand-in meanwhile): its output, checked to exit as `ok` says.
pub async fn operator(command: &str, args: &[&str], env: &[(&str, String)], ok: bool) -> String {
    let mut run = std::process::Command::new(DACHAT);
    run.arg(command).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("DACHAT_") || name.starts_with("AWS_") {
            run.env_remove(name);
        }
    }
    run.envs(env.iter().map(|(n, v)| (*n, v.as_str())));
    let said = format!("dachat {command} {args:?}");
    let output = tokio::task::spawn_blocking(move || run.output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(output.status.success(), ok, "{said}\n{stdout}\n{stderr}");
    format!("{stdout}{stderr}")
}
