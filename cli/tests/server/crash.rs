//! `kill -9` of `dachat serve` in the middle of its work (issue #28): a
//! notification sweep killed while its digest is on the wire to the SMTP
//! server (a small one of the test's own, which can hold a message after
//! its data, unanswered, until the sender goes away); replies by e-mail
//! killed while one's post is on its way to Twilio and another's is not
//! yet made (the Twilio stand-in behind the fault proxy).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backend::notify::store::LEASE_SECS;
use serde_json::json;
use testkit::fault::{Fault, FaultProxy};
use testkit::free_port;
use testkit::serve::Serve;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

use crate::support::{DACHAT, client, header, say, until};
use crate::twilio_webhook::{
    alice_follows_with_bob, form_data, latest_messages, sendgrid_parsed, standin, twilio_env, twilio_message,
};

/// An SMTP server on loopback that keeps what it accepted; while `hold`
/// is on it answers nothing after a message's data, so the sender waits.
struct SmtpSink {
    port: u16,
    delivered: Arc<Mutex<Vec<String>>>,
    held: Arc<Mutex<usize>>,
    hold: Arc<AtomicBool>,
}

impl SmtpSink {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Self {
            port: listener.local_addr().unwrap().port(),
            delivered: Arc::default(),
            held: Arc::default(),
            hold: Arc::default(),
        };
        let (delivered, held, hold) = (sink.delivered.clone(), sink.held.clone(), sink.hold.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (delivered, held, hold) = (delivered.clone(), held.clone(), hold.clone());
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                        let answer = match verb.as_str() {
                            "DATA" => {
                                let _ = write.write_all(b"354 go ahead\r\n").await;
                                let mut message = String::new();
                                while let Ok(Some(line)) = lines.next_line().await {
                                    if line == "." {
                                        break;
                                    }
                                    message.push_str(&line);
                                    message.push('\n');
                                }
                                if hold.load(Ordering::SeqCst) {
                                    // the message is on the wire and not answered
                                    *held.lock().unwrap() += 1;
                                    while let Ok(Some(_)) = lines.next_line().await {}
                                    return;
                                }
                                delivered.lock().unwrap().push(message);
                                "250 queued"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => "250 ok",
                        };
                        let _ = write.write_all(format!("{answer}\r\n").as_bytes()).await;
                    }
                });
            }
        });
        sink
    }

    fn delivered(&self) -> Vec<String> {
        self.delivered.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn a_sweep_killed_while_its_digest_is_on_the_wire_sends_it_once_after_the_restart() {
    let sink = SmtpSink::start().await;
    sink.hold.store(true, Ordering::SeqCst);
    let dir = testkit::serve::temp_dir("crash-sweep").unwrap();
    let (keys, data) = (dir.join("keys"), dir.join("data"));
    testkit::serve::keygen(std::path::Path::new(DACHAT), &keys).unwrap();
    let port = free_port().unwrap();
    let start = || {
        let serve = Serve::new(DACHAT, "crash-sweep")
            .folders(&keys, &data)
            .port(port)
            .env("DACHAT_NOTIFY_DELAY", "1")
            .env("DACHAT_SMTP_URL", format!("smtp://127.0.0.1:{}", sink.port));
        client(serve.start().unwrap())
    };

    let mut server = start();
    let alice = server.token("alice", Some("alice@example.org")).await;
    let bob = server.token("bob", None).await;
    let (_, on) = server
        .post("/v1/notifications/subscribe", json!({ "token": alice }))
        .await;
    assert_eq!(on["state"], "on");
    drop(server.chat(&alice).await);
    let mut bobs = server.chat(&bob).await;
    say(&mut bobs, "general", 1).await;
    // the sweep sends alice's digest and waits for the SMTP server's answer
    until("the digest on the wire", || async {
        (*sink.held.lock().unwrap() == 1).then_some(())
    })
    .await;
    server.server.kill_hard(); // no shutdown, no flush: the sweep never hears back
    drop(bobs);
    drop(server);
    assert!(sink.delivered().is_empty());

    // back up on the same data, the SMTP server answering again
    sink.hold.store(false, Ordering::SeqCst);
    let server = start();
    let message = until("the digest after the restart", || async {
        sink.delivered().into_iter().next()
    })
    .await;
    assert!(
        message.contains("Subject: DAChat: 1 new message in general"),
        "{message}"
    );

    // a later sweep looks at alice again (bob wrote more) and sends nothing twice
    let looked = server.log_count("people=1 emails=0");
    let mut bobs = server.chat(&bob).await;
    say(&mut bobs, "general", 2).await;
    server.logged("people=1 emails=0", looked + 1).await;
    assert_eq!(sink.delivered().len(), 1, "the digest went once: lost 0, doubled 0");
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Alice's messages in `room` on the stand-in, newest first.
async fn alices_messages(http: &reqwest::Client, twilio: &str, room: &str) -> Vec<String> {
    let messages = latest_messages(http, twilio, room).await;
    messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == "alice")
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_server_killed_while_replies_are_posted_posts_each_once_after_the_restart() {
    const KEY: &str = "inboundkey0123456789abcdef0123456789";
    let twilio = standin().await;
    let proxy = FaultProxy::start(&twilio).await.unwrap();
    let dir = testkit::serve::temp_dir("crash-reply").unwrap();
    let (keys, data) = (dir.join("keys"), dir.join("data"));
    testkit::serve::keygen(std::path::Path::new(DACHAT), &keys).unwrap();
    let port = free_port().unwrap();
    let start = || {
        let mut serve = Serve::new(DACHAT, "crash-reply")
            .folders(&keys, &data)
            .port(port)
            .env("DACHAT_NOTIFY_DELAY", "1")
            .env("DACHAT_INBOUND_KEY", KEY);
        for (name, value) in twilio_env(&proxy.url) {
            serve = serve.env(name, value);
        }
        client(serve.start().unwrap())
    };
    let mut server = start();
    alice_follows_with_bob(&server, &["shipment-1"]).await;
    twilio_message(&server, &twilio, "shipment-1", "bob").await;
    let digest = server.inbox_of(1).await.remove(0);
    let reply_to = header(&digest, "Reply-To").to_owned();
    // SendGrid's delivery of one reply: the status
    let deliver = |base: String, message_id: &'static str, text: &'static str| {
        let (content_type, body) = form_data(
            &sendgrid_parsed(&reply_to, message_id, "alice@example.org", "pass", text)
                .iter()
                .map(|(n, v)| (*n, v.as_str()))
                .collect::<Vec<_>>(),
        );
        let request = reqwest::Client::new()
            .post(format!("{base}/v1/inbound/sendgrid?key={KEY}"))
            .header("content-type", content_type)
            .body(body);
        async move { request.send().await.map(|r| r.status().as_u16()) }
    };
    let held = |method: &'static str, path: &'static str| {
        let proxy = &proxy;
        move || async move {
            proxy
                .seen()
                .iter()
                .any(|s| s.method == method && s.path.contains(path) && s.fault.is_some())
                .then_some(())
        }
    };

    // the first reply's post is on its way to Twilio (it lands 3 s later,
    // after the server is gone); the second's is not made yet (its read of
    // the room's members is held)
    proxy.inject("POST", "/Messages", Fault::Delay(Duration::from_secs(3)), 1);
    let first = tokio::spawn(deliver(server.base.clone(), "m1@example.org", "Pallet 4 is replaced."));
    until("the first reply's post held", held("POST", "/Messages")).await;
    proxy.inject("GET", "/Participants", Fault::Delay(Duration::from_secs(3)), 1);
    let second = tokio::spawn(deliver(server.base.clone(), "m2@example.org", "Truck leaves at 6."));
    until("the second reply's read held", held("GET", "/Participants")).await;
    server.server.kill_hard(); // mid-post: no answer, no settle, no unclaim
    assert!(first.await.unwrap().is_err() && second.await.unwrap().is_err());
    until("the first post landed", || async {
        (alices_messages(&server.http, &twilio, "shipment-1").await.len() == 1).then_some(())
    })
    .await;
    drop(server);

    // back up; SendGrid delivers both again, as it does after no answer:
    // 503 while the dead server's claims are leased, then each lands once
    let server = start();
    let mut answers = Vec::new();
    for (message_id, text) in [
        ("m1@example.org", "Pallet 4 is replaced."),
        ("m2@example.org", "Truck leaves at 6."),
    ] {
        let deadline = Instant::now() + Duration::from_secs(LEASE_SECS + 60);
        let mut statuses = Vec::new();
        loop {
            let status = deliver(server.base.clone(), message_id, text).await.unwrap();
            statuses.push(status);
            if status != 503 {
                break;
            }
            assert!(Instant::now() < deadline, "{message_id} never taken over: {statuses:?}");
            // SendGrid's retry, sooner
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        answers.push(statuses);
    }
    assert_eq!(
        answers[0][0], 503,
        "under way while the dead server's lease ran: {answers:?}"
    );
    assert!(answers.iter().all(|s| *s.last().unwrap() == 200), "{answers:?}");
    let mut posted = alices_messages(&server.http, &twilio, "shipment-1").await;
    posted.sort();
    assert_eq!(
        posted,
        ["Pallet 4 is replaced.", "Truck leaves at 6."],
        "each reply once: lost 0, doubled 0"
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
