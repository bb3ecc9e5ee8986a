//! `cargo xtask soak [--minutes 60] [--fault-every 5]`: the long soak of
//! issue #28, a benchmark (not in CI). Mixed load for the whole run, a
//! fault every few minutes, then the figures: requests and errors by kind,
//! messages lost (0) and doubled (0), each server's RSS at start and end.
//!
//! - Two release `dachat serve`: one on the embedded local provider, one on
//!   Twilio (the stand-in, reached through `testkit`'s fault proxy), both
//!   with notifications on (a subscriber each) and a sweep a minute.
//! - Load: sessions and renewals on both (two users' loops each, ~10
//!   requests/s), four WebSocket chatters on the local server (a message
//!   every 250 ms each, resent until acknowledged, as the window's outbox
//!   does), and a signed Twilio webhook a second for a message written on
//!   the stand-in.
//! - Faults, in turn: Twilio answering 500 for a minute; Twilio 8 s slow
//!   for a minute; the local server killed (`kill -9`) and started again;
//!   Twilio refusing connections for a minute.
//! - At the end, the local room's whole history is read back: every
//!   acknowledged message must be there, and none twice.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use testkit::fault::{Fault, FaultProxy};
use testkit::serve::{Serve, Server};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::services::free_port;
use crate::{cargo, root, run, step};

const AUTH_TOKEN: &str = "soak-auth-token";
const ROOM: &str = "general";

/// Counts by kind ("token local 200", "ws reconnect", ...).
#[derive(Clone, Default)]
struct Counts(Arc<Mutex<BTreeMap<String, u64>>>);

impl Counts {
    fn add(&self, kind: impl Into<String>) {
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(kind.into())
            .or_default() += 1;
    }

    fn all(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn sid(prefix: &str) -> String {
    format!("{prefix}0123456789abcdef0123456789abcdef")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Twilio's webhook signature: HMAC-SHA1 over the URL and the sorted
/// parameters, base64.
fn twilio_signature(url: &str, params: &[(String, String)]) -> String {
    use base64::Engine as _;
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut text = url.to_owned();
    for (k, v) in sorted {
        text.push_str(k);
        text.push_str(v);
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, AUTH_TOKEN.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, text.as_bytes()).as_ref())
}

pub fn main(args: &[String]) -> Result<()> {
    const USAGE: &str = "usage: cargo xtask soak [--minutes N] [--fault-every M]";
    let (mut minutes, mut every) = (60u64, 5u64);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().with_context(|| format!("{flag} takes a value\n{USAGE}"))?;
        match flag.as_str() {
            "--minutes" => minutes = value.parse().context("--minutes takes a number")?,
            "--fault-every" => every = value.parse().context("--fault-every takes a number")?,
            _ => bail!("unknown option {flag}\n{USAGE}"),
        }
    }
    if every == 0 || minutes == 0 {
        bail!("--minutes and --fault-every must be at least 1\n{USAGE}");
    }
    step("building release binaries");
    run(cargo().args(["build", "--release", "--package", "cli", "--bin", "dachat"]))?;
    run(cargo().args(["build", "--release", "--package", "twilio-standin"]))?;
    let work = root().join("target/soak");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let binary = root().join("target/release/dachat");
    testkit::serve::keygen(&binary, &work.join("keys"))?;
    step(&format!("soak: {minutes} min of mixed load, a fault every {every} min"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(soak(
        &binary,
        &work,
        Duration::from_secs(minutes * 60),
        Duration::from_secs(every * 60),
    ))?;
    println!("{report}");
    std::fs::write(work.join("report.txt"), &report)?;
    println!("(also in {})", work.join("report.txt").display());
    Ok(())
}

fn local_serve(binary: &Path, work: &Path, port: u16) -> Serve {
    Serve::new(binary, "soak-local")
        .folders(&work.join("keys"), &work.join("local-data"))
        .log_in(work)
        .port(port)
        .env("DACHAT_NOTIFY_DELAY", "240")
        .env("RUST_LOG", "info")
}

async fn soak(binary: &Path, work: &Path, length: Duration, every: Duration) -> Result<String> {
    let standin_port = free_port()?;
    let mut standin = testkit::Supervised::spawn(
        "twilio-standin",
        std::process::Command::new(root().join("target/release/twilio-standin"))
            .arg(format!("127.0.0.1:{standin_port}")),
        Some(&work.join("standin.log")),
    )?;
    standin.wait_for_port(standin_port, Duration::from_secs(30))?;
    let standin_url = format!("http://127.0.0.1:{standin_port}");
    let proxy = Arc::new(FaultProxy::start(&standin_url).await?);
    let (account, key, service) = (sid("AC"), sid("SK"), sid("IS"));
    let twilio = Serve::new(binary, "soak-twilio")
        .folders(&work.join("keys"), &work.join("twilio-data"))
        .log_in(work)
        .env("DACHAT_NOTIFY_DELAY", "240")
        .env("RUST_LOG", "info")
        .env("DACHAT_TWILIO_ACCOUNT_SID", &account)
        .env("DACHAT_TWILIO_API_KEY", &key)
        .env("DACHAT_TWILIO_API_SECRET", "soak-api-secret")
        .env("DACHAT_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
        .env("DACHAT_TWILIO_CHAT_SERVICE_SID", &service)
        .env("DACHAT_TWILIO_BASE_URL", &proxy.url)
        .start()?;
    let local_port = free_port()?;
    let local = Arc::new(Mutex::new(Some(local_serve(binary, work, local_port).start()?)));
    let local_base = format!("http://127.0.0.1:{local_port}");
    let twilio_base = twilio.base.clone();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build()?;
    let local_pid = |l: &Mutex<Option<Server>>| {
        l.lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, Server::pid)
    };
    let rss_start = (rss_kib(local_pid(&local)), rss_kib(twilio.pid()));

    // a subscriber on each server, so every sweep has someone to look at
    for base in [&local_base, &twilio_base] {
        let token = dev_token(&http, base, "watcher", Some("watcher@example.org")).await?;
        let session = http
            .post(format!("{base}/v1/session"))
            .json(&json!({ "token": token, "context": ROOM }))
            .send()
            .await?;
        if session.status() != 200 {
            bail!("the watcher's session on {base}: {}", session.status());
        }
        http.post(format!("{base}/v1/notifications/subscribe"))
            .json(&json!({ "token": token }))
            .send()
            .await?;
    }

    let counts = Counts::default();
    let end = Instant::now() + length;
    let acked: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let mut load = tokio::task::JoinSet::new();
    for (name, base) in [("local", local_base.clone()), ("twilio", twilio_base.clone())] {
        for user in 0..2 {
            load.spawn(sessions(http.clone(), base.clone(), name, user, counts.clone(), end));
        }
    }
    for chatter in 0..4 {
        load.spawn(chat(
            http.clone(),
            local_base.clone(),
            chatter,
            counts.clone(),
            acked.clone(),
            end,
        ));
    }
    load.spawn(webhooks(
        http.clone(),
        twilio_base.clone(),
        standin_url.clone(),
        counts.clone(),
        end,
    ));

    // the faults, in turn, until the end
    let mut faults = Vec::new();
    let started = Instant::now();
    let mut next = started + every;
    let mut turn = 0;
    while next + Duration::from_secs(60) < end {
        tokio::time::sleep_until(next.into()).await;
        let at = started.elapsed().as_secs();
        let what = match turn % 4 {
            0 => {
                twilio_fault(&proxy, Fault::status(500, &[])).await;
                "Twilio answered 500 for 60 s"
            }
            1 => {
                twilio_fault(&proxy, Fault::Delay(Duration::from_secs(8))).await;
                "Twilio 8 s slow for 60 s"
            }
            2 => {
                let local = local.clone();
                let serve = local_serve(binary, work, local_port);
                tokio::task::spawn_blocking(move || -> Result<()> {
                    let mut slot = local.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(mut server) = slot.take() {
                        server.kill_hard();
                    }
                    *slot = Some(serve.start()?);
                    Ok(())
                })
                .await??;
                "the local server killed (kill -9) and started again"
            }
            _ => {
                twilio_fault(&proxy, Fault::Refuse).await;
                "Twilio refused connections for 60 s"
            }
        };
        faults.push(format!("{at:>5} s: {what}"));
        turn += 1;
        next += every;
    }
    while load.join_next().await.is_some() {}
    let rss_end = (rss_kib(local_pid(&local)), rss_kib(twilio.pid()));

    // every acknowledged message is in the room's history, once
    let (history, doubled) = read_history(&http, &local_base).await?;
    let acked = acked.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let lost: Vec<&String> = acked.keys().filter(|body| !history.contains(*body)).collect();

    let mut out = format!(
        "SOAK {} min, a fault every {} min\nfaults:\n",
        length.as_secs() / 60,
        every.as_secs() / 60
    );
    for f in &faults {
        out.push_str(&format!("  {f}\n"));
    }
    out.push_str("requests and outcomes:\n");
    for (kind, n) in counts.all() {
        out.push_str(&format!("  {kind}: {n}\n"));
    }
    out.push_str("in the servers' logs:\n");
    for (what, text) in LOGGED {
        out.push_str(&format!("  {what}: {}\n", logged(work, text)));
    }
    out.push_str(&format!(
        "messages acknowledged: {}\nlost: {}\ndoubled: {doubled}\nRSS local server: start {:.1} MiB, end {:.1} MiB (the last start's process)\nRSS Twilio server: start {:.1} MiB, end {:.1} MiB\n",
        acked.len(),
        lost.len(),
        rss_start.0 as f64 / 1024.0,
        rss_end.0 as f64 / 1024.0,
        rss_start.1 as f64 / 1024.0,
        rss_end.1 as f64 / 1024.0,
    ));
    drop(twilio);
    drop(standin);
    Ok(out)
}

/// What the report counts in the servers' logs.
const LOGGED: [(&str, &str); 6] = [
    ("notification sweeps that looked at someone", "notification sweep"),
    (
        "webhook events deferred to the sweep",
        "a message event deferred to the next sweep",
    ),
    ("deferred events noted by a sweep", "a deferred message event"),
    (
        "webhook events noted at once",
        "a new message: its room's followers are watched",
    ),
    ("Twilio unavailable (503 chat_unavailable)", "chat_unavailable"),
    ("Twilio slower than the deadline", "Twilio did not answer in time"),
];

/// Lines of every server log in `work` that contain `text`.
fn logged(work: &Path, text: &str) -> usize {
    std::fs::read_dir(work)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("serve-"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .map(|log| log.lines().filter(|l| l.contains(text)).count())
        .sum()
}

/// Makes every Twilio request meet `fault` for a minute, then heals.
async fn twilio_fault(proxy: &Arc<FaultProxy>, fault: Fault) {
    for method in ["GET", "POST", "DELETE"] {
        proxy.inject(method, "/", fault.clone(), u32::MAX);
    }
    let proxy = proxy.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        proxy.heal();
    });
}

async fn dev_token(http: &reqwest::Client, base: &str, sub: &str, email: Option<&str>) -> Result<String> {
    let answer: Value = http
        .post(format!("{base}/dev/token"))
        .json(&json!({ "sub": sub, "contexts": [ROOM, "shipment-1"], "email": email }))
        .send()
        .await?
        .json()
        .await?;
    answer["token"].as_str().map(str::to_owned).context("no dev token")
}

/// One user's loop: a session, then three renewals, ~10 requests a second.
async fn sessions(http: reqwest::Client, base: String, server: &'static str, user: u32, counts: Counts, end: Instant) {
    let mut round = 0u64;
    while Instant::now() < end {
        round += 1;
        // a new user each round: every session provisions on Twilio
        let Ok(token) = dev_token(&http, &base, &format!("soak-{server}-{user}-{round}"), None).await else {
            counts.add(format!("dev token {server} failed"));
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let calls = [
            ("session", json!({ "token": token, "context": ROOM })),
            ("token", json!({ "token": token, "deviceId": "soak" })),
            ("token", json!({ "token": token, "deviceId": "soak" })),
            ("token", json!({ "token": token, "deviceId": "soak" })),
        ];
        for (kind, body) in calls {
            let path = if kind == "session" { "/v1/session" } else { "/v1/token" };
            let outcome = match http.post(format!("{base}{path}")).json(&body).send().await {
                Ok(r) => r.status().as_u16().to_string(),
                Err(e) if e.is_timeout() => "timeout".to_owned(),
                Err(_) => "connection error".to_owned(),
            };
            counts.add(format!("{kind} {server} {outcome}"));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket to the local server, joined to the room.
async fn connect(http: &reqwest::Client, base: &str, who: &str) -> Result<Socket> {
    let token = dev_token(http, base, who, None).await?;
    let session: Value = http
        .post(format!("{base}/v1/session"))
        .json(&json!({ "token": token, "context": ROOM }))
        .send()
        .await?
        .json()
        .await?;
    let access = session["accessToken"].as_str().context("no access token")?;
    let url = format!("{}/v1/local/ws?token={access}", base.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
    socket
        .send(WsMessage::text(json!({ "type": "join", "room": ROOM }).to_string()))
        .await?;
    Ok(socket)
}

/// The next JSON frame within 10 s, or why not.
async fn next_frame(socket: &mut Socket) -> Result<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Err(_) => bail!("no frame in 10 s"),
            Ok(None) => bail!("closed"),
            Ok(Some(Err(e))) => bail!("{e}"),
            Ok(Some(Ok(WsMessage::Text(text)))) => return Ok(serde_json::from_str(&text)?),
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// One chatter: a message every 250 ms, each resent (same client id) on
/// every connection until acknowledged.
async fn chat(
    http: reqwest::Client,
    base: String,
    chatter: u32,
    counts: Counts,
    acked: Arc<Mutex<HashMap<String, i64>>>,
    end: Instant,
) {
    let mut pending: Vec<String> = Vec::new();
    let mut n = 0u64;
    while Instant::now() < end {
        let mut socket = match connect(&http, &base, &format!("chatter-{chatter}")).await {
            Ok(socket) => socket,
            Err(_) => {
                counts.add("ws connect failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        counts.add("ws connected");
        let resend: Vec<String> = pending.clone();
        let mut broken = false;
        for body in resend {
            if send(&mut socket, &body).await.is_err() {
                broken = true;
                break;
            }
        }
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        while !broken && Instant::now() < end {
            tokio::select! {
                _ = tick.tick() => {
                    n += 1;
                    let body = format!("soak-{chatter}-{n}");
                    pending.push(body.clone());
                    counts.add("ws send");
                    broken = send(&mut socket, &body).await.is_err();
                }
                frame = next_frame(&mut socket) => match frame {
                    Ok(frame) if frame["type"] == "ack" => {
                        let body = frame["clientId"].as_str().unwrap_or_default().to_owned();
                        if let Some(at) = pending.iter().position(|p| *p == body) {
                            pending.remove(at);
                            counts.add("ws ack");
                        }
                        acked.lock().unwrap_or_else(|p| p.into_inner()).insert(body, frame["id"].as_i64().unwrap_or(0));
                    }
                    Ok(frame) if frame["type"] == "error" => counts.add(format!("ws error {}", frame["code"].as_str().unwrap_or("?"))),
                    Ok(_) => {}
                    Err(_) => broken = true,
                },
            }
        }
        if broken {
            counts.add("ws reconnect");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    // what is still unacknowledged at the end is the outbox's: not lost, not counted
    let _ = pending;
}

async fn send(socket: &mut Socket, body: &str) -> Result<()> {
    let frame = json!({ "type": "send", "room": ROOM, "clientId": body, "body": body });
    socket.send(WsMessage::text(frame.to_string())).await?;
    Ok(())
}

/// A message written on Twilio (the stand-in, as another client would)
/// and its signed webhook, a second.
async fn webhooks(http: reqwest::Client, twilio_base: String, standin: String, counts: Counts, end: Instant) {
    let url = format!("{twilio_base}/v1/webhooks/twilio");
    let mut n = 0u64;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        n += 1;
        let posted = http
            .post(format!("{standin}/_standin/message"))
            .json(&json!({ "conversation": ROOM, "author": "soak-writer", "body": format!("webhook {n}") }))
            .send()
            .await;
        let Ok(posted) = posted else { continue };
        let Ok(posted) = posted.json::<Value>().await else {
            continue;
        };
        let (Some(message), Some(conversation)) = (posted["sid"].as_str(), posted["conversationSid"].as_str()) else {
            continue;
        };
        let params: Vec<(String, String)> = [
            ("EventType", "onMessageAdded"),
            ("MessageSid", message),
            ("ConversationSid", conversation),
            ("Author", "soak-writer"),
            ("Body", "webhook"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let signature = twilio_signature(&url, &params);
        let outcome = match http
            .post(&url)
            .header("x-twilio-signature", signature)
            .form(&params)
            .send()
            .await
        {
            Ok(r) => r.status().as_u16().to_string(),
            Err(_) => "connection error".to_owned(),
        };
        counts.add(format!("webhook twilio {outcome}"));
    }
}

/// The bodies in the room's whole history, and how many appear twice.
async fn read_history(http: &reqwest::Client, base: &str) -> Result<(HashSet<String>, usize)> {
    let mut socket = connect(http, base, "soak-reader").await?;
    let mut bodies = HashSet::new();
    let mut doubled = 0;
    let mut before: Option<i64> = None;
    loop {
        let mut ask = json!({ "type": "history", "room": ROOM, "limit": 100 });
        if let Some(before) = before {
            ask["before"] = json!(before);
        }
        socket.send(WsMessage::text(ask.to_string())).await?;
        let page = loop {
            let frame = next_frame(&mut socket).await?;
            if frame["type"] == "history" {
                break frame;
            }
        };
        let messages = page["messages"].as_array().cloned().unwrap_or_default();
        for m in &messages {
            let body = m["body"].as_str().unwrap_or_default().to_owned();
            if !bodies.insert(body) {
                doubled += 1;
            }
        }
        before = messages.first().and_then(|m| m["id"].as_i64());
        if page["hasMore"] != true || before.is_none() {
            break;
        }
    }
    Ok((bodies, doubled))
}
