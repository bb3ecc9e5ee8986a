//! Fan-out benchmark of the local provider: N WebSocket clients in one
//! room, one more client posting 100 messages/s; reports the latency from
//! send to receipt at every client (p50/p99), frames lost, and the server's
//! CPU. The server is the real `dachat serve` (release) in its own process;
//! the clients run here, on the same machine.
//!
//!     DACHAT_BIN=target/release/dachat cargo bench -p local-chat --bench fanout -- 100 1000 10000
//!
//! One `FANOUT n=… p50_ms=… p99_ms=… received=…/… server_cpu_cores=… clients_cpu_cores=…`
//! line per N (the clients' CPU is this process's: the load generator).

// A benchmark: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backend::tokens::es256::SigningKey;
use backend::tokens::host_jwt;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use testkit::Supervised;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, connect_async_with_config};

use common::{cpu_seconds, quantile_ms, read_text_frames, sent_micros};

const RATE: u64 = 100;
const ROOM: &str = "general";

struct Server {
    process: Supervised,
    base: String,
    keys: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.process.kill_hard();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start_server(bin: &str) -> Server {
    let dir = std::env::temp_dir().join(format!("dachat-fanout-{}-{}", std::process::id(), rand_u64()));
    let keys = dir.join("keys");
    assert!(
        Command::new(bin)
            .args(["keygen", "--out-dir"])
            .arg(&keys)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    let port = testkit::free_port().unwrap();
    let base = format!("127.0.0.1:{port}");
    let mut process = Supervised::spawn(
        "dachat serve",
        Command::new(bin)
            .args(["serve", "--listen", &base, "--dev-keys"])
            .arg(&keys)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .env("RUST_LOG", "warn")
            .env_remove("DACHAT_JWKS_URL"),
        None,
    )
    .unwrap();
    process.wait_for_port(port, Duration::from_secs(30)).unwrap();
    Server {
        process,
        base,
        keys,
        dir,
    }
}

fn rand_u64() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

async fn access_tokens(server: &Server, n: usize) -> Vec<String> {
    let key = SigningKey::from_pem(&std::fs::read_to_string(server.keys.join("private.pem")).unwrap()).unwrap();
    let kid = std::fs::read_to_string(server.keys.join("kid"))
        .unwrap()
        .trim()
        .to_owned();
    let http = reqwest::Client::new();
    let exp = rand_u64() / 1_000_000_000 + 3600;
    let mut tokens = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(64) {
        let requests = chunk.iter().map(|i| {
            let host = host_jwt::sign(
                &key,
                &kid,
                &json!({ "sub": format!("user-{i}"), "contexts": [ROOM], "exp": exp }),
            )
            .unwrap();
            let http = http.clone();
            let url = format!("http://{}/v1/session", server.base);
            async move {
                let answer: Value = http
                    .post(url)
                    .json(&json!({ "token": host, "context": ROOM }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                answer["accessToken"].as_str().unwrap().to_owned()
            }
        });
        tokens.extend(futures_util::future::join_all(requests).await);
    }
    tokens
}

/// The clients' socket settings: tungstenite zeroes its read buffer (128
/// KiB by default) on every read, which made the load generator, on the
/// same two cores as the server, spend most of its time in `memset`.
fn lean() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024)
}

async fn run(bin: &str, n: usize, seconds: u64) {
    let server = start_server(bin).await;
    eprintln!("n={n}: admitting {} users and connecting them…", n + 1);
    let tokens = access_tokens(&server, n + 1).await;
    let epoch = Instant::now();
    let latencies = Arc::new(Mutex::new(Vec::<u64>::with_capacity(n * (RATE * seconds) as usize)));
    let received = Arc::new(AtomicU64::new(0));
    let joined = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(n);
    for token in &tokens[1..] {
        let url = format!("ws://{}/v1/local/ws?token={token}", server.base);
        let (mut socket, _) = connect_async_with_config(url, Some(lean()), true)
            .await
            .expect("connect");
        socket
            .send(Message::text(json!({ "type": "join", "room": ROOM }).to_string()))
            .await
            .unwrap();
        let (latencies, received, joined) = (latencies.clone(), received.clone(), joined.clone());
        let MaybeTlsStream::Plain(stream) = socket.into_inner() else {
            unreachable!("ws:// is plain TCP")
        };
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            read_text_frames(stream, |text| {
                if text.contains("\"type\":\"joined\"") {
                    joined.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(sent_us) = sent_micros(text) {
                    mine.push(epoch.elapsed().as_micros() as u64 - sent_us);
                    received.fetch_add(1, Ordering::Relaxed);
                }
            })
            .await;
            latencies.lock().await.extend(mine);
        }));
    }
    while joined.load(Ordering::Relaxed) < n as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The sender joins before the clock starts: what is measured is fan-out,
    // not a join. Its acks (about 60 KB in all) then wait in its socket
    // buffers unread.
    let url = format!("ws://{}/v1/local/ws?token={}", server.base, tokens[0]);
    let (mut writer, _) = connect_async_with_config(url, Some(lean()), true).await.unwrap();
    writer
        .send(Message::text(json!({ "type": "join", "room": ROOM }).to_string()))
        .await
        .unwrap();
    while let Some(Ok(frame)) = writer.next().await {
        if matches!(&frame, Message::Text(text) if text.contains("\"type\":\"joined\"")) {
            break;
        }
    }
    let pid = server.process.id();
    eprintln!(
        "n={n}: {n} clients joined; sending {} messages over {seconds} s",
        RATE * seconds
    );
    let cpu0 = cpu_seconds(pid);
    let own0 = cpu_seconds(std::process::id());
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    let total = RATE * seconds;
    for seq in 0..total {
        ticker.tick().await;
        let body = format!("t{}", epoch.elapsed().as_micros());
        let frame = json!({ "type": "send", "room": ROOM, "clientId": format!("c{seq}"), "body": body });
        writer.send(Message::text(frame.to_string())).await.unwrap();
    }
    let expected = total * n as u64;
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu0;
    let own = cpu_seconds(std::process::id()) - own0;
    drop(server);
    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut all = std::mem::take(&mut *latencies.lock().await);
    all.sort_unstable();
    println!(
        "FANOUT n={n} rate={RATE}/s seconds={seconds} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} received={}/{expected} server_cpu_cores={:.2} clients_cpu_cores={:.2} frames_per_s={:.0}",
        quantile_ms(&all, 0.50),
        quantile_ms(&all, 0.99),
        quantile_ms(&all, 1.0),
        received.load(Ordering::Relaxed),
        cpu / elapsed,
        own / elapsed,
        received.load(Ordering::Relaxed) as f64 / elapsed,
    );
}

fn main() {
    let bin = std::env::var("DACHAT_BIN").unwrap_or_else(|_| "target/release/dachat".into());
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![100, 1000, 10_000]
    } else {
        sizes
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for n in sizes {
        let seconds = if n >= 10_000 { 5 } else { 10 };
        runtime.block_on(run(&bin, n, seconds));
    }
}
