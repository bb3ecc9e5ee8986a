//! `kill -9` of `dachat serve` in the middle of its work (issue #28): a
//! notification sweep killed while its digest is on the wire to the SMTP
//! server. The SMTP server is a small one of the test's own, which can
//! hold a message after its data (no answer) until the sender goes away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use testkit::free_port;
use testkit::serve::Serve;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

use crate::support::{DACHAT, client, say, until};

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
