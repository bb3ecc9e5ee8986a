//! Twilio's `onMessageAdded` webhook as the local server handles it (the
//! same router and notifier the Lambda runs; SQLite here, DynamoDB there):
//! 2,000 signed deliveries of new messages into a room of 10 members, 5 of
//! whom follow it, 16 at a time, then the same 2,000 again (Twilio's
//! retries, recognised by the claim). The REST API is our stand-in in
//! this process. Reports p50 / p99 latency and the server's CPU per
//! request (from `/proc/<pid>/stat`).
//!
//! Run: `cargo bench -p cli --bench notify_webhook`.

// A benchmark reports by printing; a panic is its failure report.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use backend::secret::Secret;
use serde_json::json;
#[path = "support/bench_server.rs"]
mod bench_server;
use bench_server::{cpu_secs, post};

const DELIVERIES: usize = 2_000;
const AUTH_TOKEN: &str = "bench-auth-token";

/// A delivery: its form parameters and its `X-Twilio-Signature`.
type Delivery = (Vec<(String, String)>, String);

fn sid(prefix: &str) -> String {
    format!("{prefix}0123456789abcdef0123456789abcdef")
}

async fn deliver_all(http: &reqwest::Client, url: &str, bodies: Arc<Vec<Delivery>>) -> Vec<Duration> {
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..bodies.len() {
        let (http, url, bodies, limit) = (http.clone(), url.to_owned(), bodies.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let (params, signature) = &bodies[n];
            let started = Instant::now();
            let status = http
                .post(&url)
                .form(params)
                .header("x-twilio-signature", signature)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 200);
            started.elapsed()
        });
    }
    let mut latencies = Vec::with_capacity(bodies.len());
    while let Some(done) = tasks.join_next().await {
        latencies.push(done.unwrap());
    }
    latencies.sort();
    latencies
}

fn report(what: &str, latencies: &[Duration], cpu: f64, wall: Duration) {
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{what}: {} deliveries in {:.2} s, p50 {:.2} ms, p99 {:.2} ms, server CPU {:.0} µs/request",
        latencies.len(),
        wall.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        cpu / latencies.len() as f64 * 1e6
    );
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let twilio = format!("http://{}", listener.local_addr().unwrap());
    let app = twilio_standin::router(twilio_standin::Standin::default());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (account, key, service) = (sid("AC"), sid("SK"), sid("IS"));
    let server = bench_server::serve(
        "webhook",
        &[
            ("DACHAT_TWILIO_ACCOUNT_SID", account),
            ("DACHAT_TWILIO_API_KEY", key),
            ("DACHAT_TWILIO_API_SECRET", "bench-api-secret".to_owned()),
            ("DACHAT_TWILIO_AUTH_TOKEN", AUTH_TOKEN.to_owned()),
            ("DACHAT_TWILIO_CHAT_SERVICE_SID", service),
            ("DACHAT_TWILIO_BASE_URL", twilio),
            ("RUST_LOG", "warn".to_owned()),
        ],
    );
    let (base, pid) = (server.base.clone(), server.pid());
    let http = reqwest::Client::new();

    // a room of 10 members; the first 5 follow it
    let mut conversation = String::new();
    for n in 0..10 {
        let sub = format!("member{n}");
        let token = post(
            &http,
            format!("{base}/dev/token"),
            json!({ "sub": sub, "contexts": ["shipment-1"], "email": format!("{sub}@example.org") }),
        )
        .await["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let session = post(
            &http,
            format!("{base}/v1/session"),
            json!({ "token": token, "context": "shipment-1" }),
        )
        .await;
        conversation = session["conversationSid"].as_str().unwrap().to_owned();
        if n < 5 {
            post(
                &http,
                format!("{base}/v1/notifications/subscribe"),
                json!({ "token": token }),
            )
            .await;
        }
    }

    let url = format!("{base}/v1/webhooks/twilio");
    let token = Secret::new(AUTH_TOKEN.into());
    let bodies: Vec<Delivery> = (0..DELIVERIES)
        .map(|n| {
            let params: Vec<(String, String)> = [
                ("EventType", "onMessageAdded".to_owned()),
                ("MessageSid", format!("IM{n:032x}")),
                ("ConversationSid", conversation.clone()),
                ("Author", "member9".to_owned()),
                ("Body", "pallet news".to_owned()),
                ("DateCreated", "2026-12-03T10:00:00Z".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            let signature = backend::twilio::signature::sign(&token, &url, &params);
            (params, signature)
        })
        .collect();
    let bodies = Arc::new(bodies);

    for what in ["new messages", "the same again (retries)"] {
        let cpu = cpu_secs(pid);
        let started = Instant::now();
        let latencies = deliver_all(&http, &url, bodies.clone()).await;
        report(what, &latencies, cpu_secs(pid) - cpu, started.elapsed());
    }
    drop(server);
}
