//! One notification sweep over 10,000 subscribers with 1,000 pending
//! messages, against the real local server (`dachat serve`, release build,
//! SQLite, the dev inbox as the mail provider): 100 rooms of 100
//! subscribers each (vouched addresses, every room), all away; 10 authors
//! post 10 messages in each room. Reports how long the messages took to
//! be noted (the watches), how long the sweeps took, what they sent and in
//! how many provider requests, and the server's peak memory.
//!
//! Run: `cargo bench -p cli --bench notify_sweep` (about two minutes).

// A benchmark reports by printing; a panic is its failure report.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::ws::WsClient;
#[path = "support/bench_server.rs"]
mod bench_server;
use bench_server::post;

const SUBSCRIBERS: usize = 10_000;
const ROOMS: usize = 100;
const AUTHORS: usize = 10;
const MESSAGES_PER_ROOM: usize = 10;
const DELAY_SECS: u64 = 30;

fn room(n: usize) -> String {
    format!("room-{n}")
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let server = bench_server::serve(
        "sweep",
        &[
            ("DACHAT_FAILED_AUTH_PER_MINUTE", "0".to_owned()),
            ("DACHAT_NOTIFY_DELAY", DELAY_SECS.to_string()),
            ("RUST_LOG", "info".to_owned()),
        ],
    );
    let log = server.log.clone();
    let (base, pid) = (server.base.clone(), server.pid());
    let http = reqwest::Client::new();

    // 10,000 subscribers: a token, a session (membership), e-mail on
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..SUBSCRIBERS {
        let (http, base, limit) = (http.clone(), base.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let sub = format!("s{n}");
            let token = post(
                &http,
                format!("{base}/dev/token"),
                json!({ "sub": sub, "contexts": [room(n % ROOMS)], "email": format!("{sub}@example.org") }),
            )
            .await["token"]
                .as_str()
                .unwrap()
                .to_owned();
            post(
                &http,
                format!("{base}/v1/session"),
                json!({ "token": token, "context": room(n % ROOMS) }),
            )
            .await;
            let on = post(
                &http,
                format!("{base}/v1/notifications/subscribe"),
                json!({ "token": token }),
            )
            .await;
            assert_eq!(on["state"], "on");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    println!(
        "set-up: {SUBSCRIBERS} subscribers in {ROOMS} rooms in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 10 authors, each in every room, one after the other (so none falls
    // behind reading the others' messages), post 10 messages per room
    let rooms: Vec<String> = (0..ROOMS).map(room).collect();
    let posted = Instant::now();
    for a in 0..AUTHORS {
        let (http, base, rooms) = (http.clone(), base.clone(), rooms.clone());
        {
            let sub = format!("author{a}");
            let token = post(
                &http,
                format!("{base}/dev/token"),
                json!({ "sub": sub, "contexts": rooms }),
            )
            .await["token"]
                .as_str()
                .unwrap()
                .to_owned();
            let mut access = String::new();
            for r in &rooms {
                let session = post(
                    &http,
                    format!("{base}/v1/session"),
                    json!({ "token": token, "context": r }),
                )
                .await;
                access = session["accessToken"].as_str().unwrap().to_owned();
            }
            let ws = base.replace("http://", "ws://");
            let mut socket = WsClient::connect(&format!("{ws}/v1/local/ws?token={access}"))
                .await
                .unwrap();
            socket.expect("welcome").await;
            for r in &rooms {
                socket.send(json!({ "type": "join", "room": r })).await;
                socket.expect("joined").await;
            }
            for r in &rooms {
                for m in 0..MESSAGES_PER_ROOM / AUTHORS {
                    socket
                        .send(
                            json!({ "type": "send", "room": r, "clientId": format!("{a}-{m}"), "body": "pallet news" }),
                        )
                        .await;
                    socket.expect("ack").await;
                }
            }
        }
    }
    let messages = ROOMS * MESSAGES_PER_ROOM;
    println!(
        "posted {messages} messages in {:.1} s (each noted for its room's 100 followers)",
        posted.elapsed().as_secs_f64()
    );
    let rss_before = peak_rss_kib(pid);

    // the sweeps after the delay, until every subscriber was looked at
    let deadline = Instant::now() + Duration::from_secs(DELAY_SECS + 120);
    let sweeps = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let sweeps: Vec<(u64, u64, u64, u64)> = text
            .lines()
            .filter(|l| l.contains("notification sweep"))
            .map(|l| {
                let field = |name: &str| -> u64 {
                    l.split_whitespace()
                        .find_map(|w| w.strip_prefix(&format!("{name}=")))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                (field("people"), field("emails"), field("requests"), field("ms"))
            })
            .collect();
        if sweeps.iter().map(|s| s.0).sum::<u64>() >= SUBSCRIBERS as u64 {
            break sweeps;
        }
        assert!(
            Instant::now() < deadline,
            "the sweeps did not cover everyone: {sweeps:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for (people, emails, requests, ms) in &sweeps {
        println!("sweep: {people} people, {emails} e-mails, {requests} provider requests, {ms} ms");
    }
    let (people, emails, requests, ms) = sweeps
        .iter()
        .fold((0, 0, 0, 0), |t, s| (t.0 + s.0, t.1 + s.1, t.2 + s.2, t.3 + s.3));
    println!("total: {people} people, {emails} e-mails in {requests} provider requests, {ms} ms sweeping");
    println!(
        "server peak RSS: {:.1} MiB before the sweep, {:.1} MiB after",
        rss_before as f64 / 1024.0,
        peak_rss_kib(pid) as f64 / 1024.0
    );
    drop(server);
}
