//! What the notification benchmarks share (`notify_sweep`, `notify_webhook`,
//! `notify_replies`): the real `dachat serve --dev-keys` (release), started
//! the one way tests start it ([`testkit::serve`]), the server's CPU time,
//! and a JSON POST that must succeed.

// Each benchmark that includes this uses a part of it.
#![allow(dead_code)]

use serde_json::Value;
use testkit::serve::{Serve, Server};

pub const DACHAT: &str = env!("CARGO_BIN_EXE_dachat");

/// `dachat serve --dev-keys` (fresh keys and data, removed when dropped;
/// no SMTP) with `env`; its log is `server.log`.
pub fn serve(name: &str, env: &[(&str, String)]) -> Server {
    let mut serve = Serve::new(DACHAT, &format!("bench-{name}"));
    for (name, value) in env {
        serve = serve.env(name, value.clone());
    }
    serve.start().unwrap()
}

/// User + system CPU of `pid` so far, in seconds.
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// POSTs `body` as JSON; the answer, which must be a success.
pub async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    let (status, answer) = testkit::http::post_json(http, &url, &body).await.unwrap();
    assert!((200..300).contains(&status), "{url}: {status} {answer}");
    answer
}
