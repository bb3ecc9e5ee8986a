//! What the notification benchmarks share (`notify_sweep`, `notify_webhook`,
//! `notify_replies`): the real `dachat serve --dev-keys` (release) in a
//! folder of its own, the server's CPU time, and a JSON POST.

// Each benchmark that includes this uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testkit::{Supervised, free_port};

pub const DACHAT: &str = env!("CARGO_BIN_EXE_dachat");

/// A running `dachat serve` and its folder (removed when dropped).
pub struct BenchServer {
    process: Option<Supervised>,
    pub base: String,
    pub pid: u32,
    pub dir: PathBuf,
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        drop(self.process.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `dachat serve --dev-keys` (fresh keys, a fresh data folder under the
/// temp dir, no SMTP) with `env`; its log to `log` when given.
pub fn serve(name: &str, env: &[(&str, String)], log: Option<&Path>) -> BenchServer {
    let dir = std::env::temp_dir().join(format!("dachat-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let keys = dir.join("keys");
    assert!(
        Command::new(DACHAT)
            .args(["keygen", "--out-dir"])
            .arg(&keys)
            .status()
            .unwrap()
            .success()
    );
    let port = free_port().unwrap();
    let mut command = Command::new(DACHAT);
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--dev-keys"])
        .arg(&keys)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("DACHAT_JWKS_URL")
        .env_remove("DACHAT_SMTP_URL");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut process = Supervised::spawn("dachat serve", &mut command, log).unwrap();
    process.wait_for_port(port, Duration::from_secs(30)).unwrap();
    BenchServer {
        pid: process.id(),
        process: Some(process),
        base: format!("http://127.0.0.1:{port}"),
        dir,
    }
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
    let response = http.post(url).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}
