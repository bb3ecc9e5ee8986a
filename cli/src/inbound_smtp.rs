//! The local server's SMTP listener for replies by e-mail
//! (`DACHAT_SMTP_LISTEN`): the mail server that receives for the reply
//! domain relays to it, and each reply is handed to the notifier. The SMTP
//! dialogue is the `mailin` library's state machine; this module only
//! moves lines between it and the socket, with bounds (line length, mail
//! size, time, connections).
//!
//! Only reply addresses are accepted (`RCPT TO` anything else: 550), so
//! the listener relays nothing. At the end of a mail the answer says what
//! became of it: 250 posted (or a repeat, or an auto-reply dropped
//! quietly), 550 with the reason when it is dropped (the sender's server
//! then tells the person, in a bounce, why their reply did not land), 451
//! when the store or the chat provider failed (the sender's server tries
//! again later; the claim on the Message-ID keeps it from landing twice).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backend::notify::inbound_mail::{self, MAX_INBOUND_BYTES};
use backend::notify::reply_address;
use backend::notify::{Dropped, Notify, ReplyOutcome};
use mailin::{Action, Handler, Response, SessionBuilder, response};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// SMTP sessions at once.
const MAX_SESSIONS: usize = 16;
/// The longest line taken (RFC 5321 asks for 1,000; some senders run over).
const MAX_LINE: usize = 64 * 1024;
/// How long a client may stay silent.
const IDLE: Duration = Duration::from_secs(300);

/// One finished mail: its envelope recipients and its bytes.
#[derive(Debug, Default)]
struct Mail {
    to: Vec<String>,
    data: Vec<u8>,
    too_big: bool,
}

/// What `mailin` calls back: collects the mail; the end of it is answered
/// by [`answer`], not here (that needs the notifier, which is async).
#[derive(Clone)]
struct Collector {
    domain: String,
    current: Arc<Mutex<Mail>>,
    finished: Arc<Mutex<Option<Mail>>>,
}

impl Handler for Collector {
    fn rcpt(&mut self, to: &str) -> Response {
        if reply_address::tag_of(to, &self.domain).is_some() {
            response::OK
        } else {
            response::NO_MAILBOX
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        *lock(&self.current) = Mail {
            to: to.to_vec(),
            ..Mail::default()
        };
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let mut mail = lock(&self.current);
        if mail.data.len() + buf.len() > MAX_INBOUND_BYTES {
            mail.too_big = true;
        } else {
            mail.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        *lock(&self.finished) = Some(std::mem::take(&mut *lock(&self.current)));
        response::OK
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Binds `addr` and serves replies until the runtime ends; returns the
/// bound address (port 0 picks one).
pub async fn listen(addr: SocketAddr, domain: String, notifier: Arc<dyn Notify>) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("DACHAT_SMTP_LISTEN: cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let sessions = Arc::new(Semaphore::new(MAX_SESSIONS));
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "the SMTP listener could not accept a connection");
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&sessions).acquire_owned().await else {
                return;
            };
            let (domain, notifier) = (domain.clone(), Arc::clone(&notifier));
            tokio::spawn(async move {
                if let Err(e) = session(stream, peer.ip(), domain, notifier).await {
                    tracing::debug!(error = %e, "an SMTP session ended early");
                }
                drop(permit);
            });
        }
    });
    Ok(bound)
}

async fn session(stream: TcpStream, peer: IpAddr, domain: String, notifier: Arc<dyn Notify>) -> std::io::Result<()> {
    let finished = Arc::new(Mutex::new(None));
    let collector = Collector {
        domain: domain.clone(),
        current: Arc::default(),
        finished: Arc::clone(&finished),
    };
    // one small answer per command: no Nagle delay on top of the client's delayed ACK
    stream.set_nodelay(true)?;
    let builder = SessionBuilder::new(domain);
    let mut session = builder.build(peer, collector);
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let n = tokio::time::timeout(IDLE, (&mut read).take(MAX_LINE as u64).read_until(b'\n', &mut line))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") && n == MAX_LINE {
            write.write_all(b"500 5.5.2 Line too long\r\n").await?;
            return Ok(());
        }
        let res = session.process(&line);
        let done = lock(&finished).take();
        let res = match done {
            Some(mail) => answer(mail, notifier.as_ref()).await,
            None => res,
        };
        match res.action {
            Action::Reply => write.write_all(&res.buffer()?).await?,
            Action::Close | Action::UpgradeTls => {
                write.write_all(&res.buffer()?).await?;
                return Ok(());
            }
            Action::NoReply => {}
        }
    }
}

/// The answer to a finished mail.
async fn answer(mail: Mail, notifier: &dyn Notify) -> Response {
    if mail.too_big {
        return response::NO_STORAGE;
    }
    let inbound = match inbound_mail::from_mime(&mail.data, &mail.to) {
        Ok(inbound) => inbound,
        Err(e) => return Response::custom(554, format!("5.6.0 {e}")),
    };
    match notifier.on_reply(&inbound).await {
        Ok(ReplyOutcome::Posted { context, .. }) => Response::custom(250, format!("2.0.0 Posted in {context}")),
        Ok(ReplyOutcome::Repeat) => Response::custom(250, "2.0.0 Posted before".to_owned()),
        // no bounce to a program: it would answer the bounce
        Ok(ReplyOutcome::Dropped(Dropped::Automatic)) => {
            Response::custom(250, "2.0.0 Automatic replies are not posted".to_owned())
        }
        Ok(ReplyOutcome::Dropped(why)) => Response::custom(550, format!("5.7.1 Not posted: {why}")),
        Err(e) => {
            tracing::warn!(error = %e, "a reply by e-mail could not be handled; the sender retries");
            Response::custom(451, "4.3.0 Try again later".to_owned())
        }
    }
}
