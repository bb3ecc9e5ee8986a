//! Replies by e-mail as the local server handles them (the same router and
//! notifier the Lambda runs; SQLite and the embedded provider here,
//! DynamoDB and Twilio there): 200 people, each in a room of their own
//! with one writer, each get a digest with their reply address; then 100
//! of them answer 10 times each through SendGrid Inbound Parse's form
//! (`POST /v1/inbound/sendgrid`, 16 at a time), the same 1,000 posts again
//! (SendGrid's redeliveries, recognised by the claim), and the other 100
//! answer 10 times each over SMTP to the listener (a connection per mail,
//! 16 people at a time; lettre, then a sender that sets TCP_NODELAY as
//! mail servers do). Reports p50 / p99 latency and the server's CPU per
//! reply (from `/proc/<pid>/stat`).
//!
//! Run: `cargo bench -p cli --bench notify_replies`.

// A benchmark reports by printing; a panic is its failure report.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use serde_json::{Value, json};
use testkit::free_port;

#[path = "support/bench_server.rs"]
mod bench_server;
use bench_server::{cpu_secs, post};

const PEOPLE: usize = 200;
const REPLIES_EACH: usize = 10;
const KEY: &str = "benchinboundkey0123456789abcdef0123";

fn report(what: &str, latencies: &mut [Duration], cpu: f64, wall: Duration) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{what}: {} replies in {:.2} s, p50 {:.2} ms, p99 {:.2} ms, server CPU {:.0} µs/reply",
        latencies.len(),
        wall.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        cpu / latencies.len() as f64 * 1e6
    );
}

/// SendGrid's parsed-mode form for one reply.
fn form(person: usize, n: usize, to: &str) -> (String, String) {
    let from = format!("person{person}@example.org");
    let fields = [
        (
            "headers",
            format!("From: <{from}>\nTo: {to}\nMessage-ID: <{person}-{n}@mail.example.org>\nSubject: Re: x\n"),
        ),
        ("from", from.clone()),
        ("to", to.to_owned()),
        ("envelope", json!({ "to": [to], "from": from }).to_string()),
        (
            "text",
            format!("reply {n}\n\nOn Tue, 3 Dec 2026, DAChat wrote:\n> old\n"),
        ),
        ("SPF", "pass".to_owned()),
        ("dkim", "none".to_owned()),
    ];
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str("--b--\r\n");
    ("multipart/form-data; boundary=b".to_owned(), body)
}

/// Reads one SMTP answer (the last of its `250-` lines).
async fn read_answer(stream: &mut tokio::io::BufReader<tokio::net::TcpStream>) -> String {
    use tokio::io::AsyncBufReadExt as _;
    let mut line = String::new();
    loop {
        line.clear();
        stream.read_line(&mut line).await.unwrap();
        if line.as_bytes().get(3) != Some(&b'-') {
            return line;
        }
    }
}

/// One mail over a fresh connection with TCP_NODELAY; the answer to its end.
async fn raw_smtp(port: u16, person: usize, n: usize, to: &str) -> String {
    use tokio::io::AsyncWriteExt as _;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut stream = tokio::io::BufReader::new(stream);
    read_answer(&mut stream).await;
    let mail = format!(
        "From: <person{person}@example.org>\r\nTo: <{to}>\r\nSubject: Re: x\r\n\
         Message-ID: <raw-{person}-{n}@mail.example.org>\r\n\r\nreply {n}\r\n\r\n-- \r\nperson {person}\r\n.\r\n"
    );
    let steps = [
        "EHLO bench.example.org\r\n".to_owned(),
        format!("MAIL FROM:<person{person}@example.org>\r\n"),
        format!("RCPT TO:<{to}>\r\n"),
        "DATA\r\n".to_owned(),
        mail,
    ];
    let mut end = String::new();
    for step in steps {
        stream.get_mut().write_all(step.as_bytes()).await.unwrap();
        end = read_answer(&mut stream).await;
    }
    stream.get_mut().write_all(b"QUIT\r\n").await.unwrap();
    end
}

#[tokio::main]
async fn main() {
    let smtp_port = free_port().unwrap();
    let server = bench_server::serve(
        "replies",
        &[
            ("DACHAT_NOTIFY_DELAY", "1".to_owned()),
            ("DACHAT_INBOUND_KEY", KEY.to_owned()),
            ("DACHAT_SMTP_LISTEN", format!("127.0.0.1:{smtp_port}")),
            ("RUST_LOG", "warn".to_owned()),
        ],
    );
    let (base, pid) = (server.base.clone(), server.pid());
    let http = reqwest::Client::new();

    // 200 people, each following a room of their own with one writer in it
    // (so a reply's cost is the reply's, not a fan-out to other followers:
    // `notify_webhook` measures that), each away; each writer writes once
    let session = |sub: String, room: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let token = post(
                &http,
                format!("{base}/dev/token"),
                json!({ "sub": sub, "contexts": [room], "email": format!("{sub}@example.org") }),
            )
            .await["token"]
                .as_str()
                .unwrap()
                .to_owned();
            let session = post(
                &http,
                format!("{base}/v1/session"),
                json!({ "token": token, "context": room }),
            )
            .await;
            (token, session["accessToken"].as_str().unwrap().to_owned())
        }
    };
    let ws = base.replace("http://", "ws://");
    for n in 0..PEOPLE {
        let room = format!("room-{n}");
        let (token, _) = session(format!("person{n}"), room.clone()).await;
        post(
            &http,
            format!("{base}/v1/notifications/subscribe"),
            json!({ "token": token }),
        )
        .await;
        let (_, access) = session(format!("writer{n}"), room.clone()).await;
        let mut socket = testkit::ws::WsClient::connect(&format!("{ws}/v1/local/ws?token={access}"))
            .await
            .unwrap();
        socket.expect("welcome").await;
        socket.send(json!({ "type": "join", "room": room })).await;
        socket.expect("joined").await;
        socket
            .send(json!({ "type": "send", "room": room, "clientId": "c1", "body": "pallets?" }))
            .await;
        socket.expect("ack").await;
    }

    // every follower's digest and reply address
    let deadline = Instant::now() + Duration::from_secs(60);
    let addresses: Vec<(usize, String)> = loop {
        let inbox: Value = http
            .get(format!("{base}/dev/inbox.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found: Vec<(usize, String)> = inbox
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| {
                let person = e["to"]
                    .as_str()?
                    .strip_prefix("person")?
                    .split('@')
                    .next()?
                    .parse()
                    .ok()?;
                let reply = e["headers"].as_array()?.iter().find(|h| h[0] == "Reply-To")?[1]
                    .as_str()?
                    .to_owned();
                Some((person, reply))
            })
            .collect();
        if found.len() == PEOPLE {
            break found;
        }
        assert!(Instant::now() < deadline, "digests: {} of {PEOPLE}", found.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (by_http, by_smtp) = addresses.split_at(PEOPLE / 2);

    let url = format!("{base}/v1/inbound/sendgrid?key={KEY}");
    let forms: Arc<Vec<(String, String)>> = Arc::new(
        by_http
            .iter()
            .flat_map(|(person, to)| (0..REPLIES_EACH).map(move |n| form(*person, n, to)))
            .collect(),
    );
    for (what, expected) in [
        ("SendGrid Inbound Parse, new replies", "posted"),
        ("SendGrid Inbound Parse, the same again (redeliveries)", "repeat"),
    ] {
        let cpu = cpu_secs(pid);
        let started = Instant::now();
        let limit = Arc::new(tokio::sync::Semaphore::new(16));
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..forms.len() {
            let (http, url, forms, limit) = (http.clone(), url.clone(), forms.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire().await.unwrap();
                let (content_type, body) = &forms[n];
                let started = Instant::now();
                let answer: Value = http
                    .post(&url)
                    .header("content-type", content_type)
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                (started.elapsed(), answer)
            });
        }
        let mut latencies = Vec::new();
        while let Some(done) = tasks.join_next().await {
            let (took, answer) = done.unwrap();
            assert_eq!(answer["outcome"], expected, "{answer}");
            latencies.push(took);
        }
        report(what, &mut latencies, cpu_secs(pid) - cpu, started.elapsed());
    }

    // over SMTP: a connection per mail, 16 people at a time
    let cpu = cpu_secs(pid);
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for (person, to) in by_smtp {
        let (person, to, limit) = (*person, to.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
                .port(smtp_port)
                .build();
            let mut took = Vec::new();
            for n in 0..REPLIES_EACH {
                let message = Message::builder()
                    .from(format!("person{person}@example.org").parse().unwrap())
                    .to(to.parse().unwrap())
                    .subject("Re: x")
                    .message_id(Some(format!("<smtp-{person}-{n}@mail.example.org>")))
                    .body(format!("reply {n}\n\n-- \nperson {person}"))
                    .unwrap();
                let started = Instant::now();
                let answer = transport.send(message).await.unwrap();
                assert!(answer.is_positive());
                took.push(started.elapsed());
            }
            took
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.unwrap());
    }
    report(
        "SMTP listener, new replies (lettre)",
        &mut latencies,
        cpu_secs(pid) - cpu,
        started.elapsed(),
    );

    // the same from a sender that sets TCP_NODELAY, as mail servers do:
    // lettre does not, so its last line waits for the server's delayed ACK
    let cpu = cpu_secs(pid);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (person, to) in by_smtp {
        let (person, to, limit) = (*person, to.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let mut took = Vec::new();
            for n in 0..REPLIES_EACH {
                let started = Instant::now();
                let answer = raw_smtp(smtp_port, person, n, &to).await;
                assert!(answer.starts_with("250"), "{answer}");
                took.push(started.elapsed());
            }
            took
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.unwrap());
    }
    report(
        "SMTP listener, new replies (TCP_NODELAY sender)",
        &mut latencies,
        cpu_secs(pid) - cpu,
        started.elapsed(),
    );
    drop(server);
}
