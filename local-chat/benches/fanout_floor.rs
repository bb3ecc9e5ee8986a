//! The floor under the fan-out benchmark (`fanout.rs`): the same load, the
//! same clients, the same message frames, but a "server" that does the
//! least any server could: each message is encoded once, and one or two
//! threads write every pending frame to every socket with plain
//! non-blocking `write`s. No WebSocket library, no task per connection, no
//! queue, no lock per socket. What this reaches at N sockets on a machine
//! is the best latency any design of ours could reach there, with the load
//! generator on the same machine.
//!
//!     cargo bench -p local-chat --bench fanout_floor -- 100 1000 10000
//!
//! One `FLOOR n=… writers=… p50_ms=… p99_ms=… received=…/… writer_cpu_cores=… clients_cpu_cores=… writes_per_s=…`
//! line per N and writer count. The clients run in a child process (this
//! program again, with `--clients`), as the real benchmark's clients run
//! apart from the server, and report their latencies on stdout.

// A benchmark: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead as _, BufReader, ErrorKind, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{cpu_seconds, quantile_ms, read_text_frames, sent_micros};
use protocol::local::{Message, ServerFrame};

const RATE: u64 = 100;

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The frame the real server broadcasts for a new message, as one unmasked
/// WebSocket text frame.
fn message_frame(seq: u64) -> Vec<u8> {
    let frame = ServerFrame::Message {
        message: Message {
            id: seq as i64 + 1,
            room: "general".into(),
            author: "user-0".into(),
            body: format!("t{}", unix_micros()),
            created_at: (unix_micros() / 1000) as i64,
            edited_at: None,
            deleted: false,
            attachment: None,
        },
    };
    let payload = serde_json::to_vec(&frame).unwrap();
    let mut bytes = vec![0x81];
    match payload.len() {
        len @ 0..126 => bytes.push(len as u8),
        len => {
            bytes.push(126);
            bytes.extend((len as u16).to_be_bytes());
        }
    }
    bytes.extend(payload);
    bytes
}

/// Every frame sent so far; an empty frame means "stop".
#[derive(Default)]
struct Log {
    frames: Mutex<Vec<Vec<u8>>>,
    grown: Condvar,
}

/// One writer thread: waits for new frames, then writes all of them to each
/// of its sockets in one `write` (what a socket could not take waits in its
/// own buffer and goes first next time).
fn writer(log: &Log, sockets: Vec<TcpStream>, writes: &AtomicU64) {
    let mut sockets: Vec<(TcpStream, Vec<u8>)> = sockets.into_iter().map(|s| (s, Vec::new())).collect();
    let mut seen = 0;
    let mut batch = Vec::new();
    loop {
        {
            let mut frames = log.frames.lock().unwrap();
            while frames.len() == seen {
                frames = log.grown.wait(frames).unwrap();
            }
            if frames.last().is_some_and(Vec::is_empty) {
                return;
            }
            batch.clear();
            for frame in &frames[seen..] {
                batch.extend_from_slice(frame);
            }
            seen = frames.len();
        }
        for (socket, behind) in &mut sockets {
            let bytes: &[u8] = if behind.is_empty() {
                &batch
            } else {
                behind.extend_from_slice(&batch);
                behind
            };
            let written = match socket.write(bytes) {
                Ok(written) => written,
                Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
                Err(e) => panic!("write: {e}"),
            };
            let rest = bytes[written..].to_vec();
            *behind = rest;
            writes.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn run(n: usize, writers: usize, seconds: u64) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut clients = Command::new(std::env::current_exe().unwrap())
        .args(["--clients", &addr.to_string(), &n.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        let (socket, _) = listener.accept().unwrap();
        socket.set_nonblocking(true).unwrap();
        socket.set_nodelay(true).unwrap();
        sockets.push(socket);
    }
    eprintln!(
        "n={n} writers={writers}: {n} clients connected; sending {} messages over {seconds} s",
        RATE * seconds
    );
    let log = Arc::new(Log::default());
    let writes = Arc::new(AtomicU64::new(0));
    let per_writer = n.div_ceil(writers);
    let mut threads = Vec::new();
    let mut sockets = sockets.into_iter();
    for _ in 0..writers {
        let (log, writes) = (log.clone(), writes.clone());
        let mine: Vec<TcpStream> = sockets.by_ref().take(per_writer).collect();
        threads.push(std::thread::spawn(move || writer(&log, mine, &writes)));
    }
    let (own0, clients0) = (cpu_seconds(std::process::id()), cpu_seconds(clients.id()));
    let started = Instant::now();
    for seq in 0..RATE * seconds {
        let due = started + Duration::from_micros(seq * 1_000_000 / RATE);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let frame = message_frame(seq);
        log.frames.lock().unwrap().push(frame);
        log.grown.notify_all();
    }
    // Let the writers drain, then stop them: closing the sockets ends the
    // clients, which then report.
    let expected = RATE * seconds * n as u64;
    let mut lines = BufReader::new(clients.stdout.take().unwrap()).lines();
    let progress = lines.next().unwrap().unwrap();
    assert_eq!(progress, "ready", "the clients' first line");
    let elapsed = started.elapsed().as_secs_f64();
    let own = cpu_seconds(std::process::id()) - own0;
    let client_cpu = cpu_seconds(clients.id()) - clients0;
    log.frames.lock().unwrap().push(Vec::new());
    log.grown.notify_all();
    for thread in threads {
        thread.join().unwrap();
    }
    let report = lines.next().unwrap().unwrap();
    assert!(clients.wait().unwrap().success());
    let mut fields = report.split(' ').map(|f| f.parse::<f64>().unwrap());
    let (received, p50, p99, max) = (
        fields.next().unwrap() as u64,
        fields.next().unwrap(),
        fields.next().unwrap(),
        fields.next().unwrap(),
    );
    println!(
        "FLOOR n={n} writers={writers} rate={RATE}/s seconds={seconds} p50_ms={p50:.2} p99_ms={p99:.2} max_ms={max:.2} received={received}/{expected} writer_cpu_cores={:.2} clients_cpu_cores={:.2} writes_per_s={:.0}",
        own / elapsed,
        client_cpu / elapsed,
        writes.load(Ordering::Relaxed) as f64 / elapsed,
    );
}

/// The child process: `n` clients of `addr`. Prints `ready` once every
/// message has arrived (or 10 s after the last one came), then, when the
/// sockets close, `received p50_ms p99_ms max_ms`.
fn clients(addr: &str, n: usize, expected_each: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let received = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let received = received.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::with_capacity(expected_each as usize);
                read_text_frames(stream, |text| {
                    if let Some(sent) = sent_micros(text) {
                        mine.push(unix_micros().saturating_sub(sent));
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                })
                .await;
                mine
            }));
        }
        let expected = expected_each * n as u64;
        let mut last = (0, Instant::now());
        while received.load(Ordering::Relaxed) < expected && last.1.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = received.load(Ordering::Relaxed);
            if now != last.0 {
                last = (now, Instant::now());
            }
        }
        println!("ready");
        let mut all = Vec::with_capacity(expected as usize);
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all.sort_unstable();
        println!(
            "{} {} {} {}",
            all.len(),
            quantile_ms(&all, 0.50),
            quantile_ms(&all, 0.99),
            quantile_ms(&all, 1.0)
        );
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, addr, n, ..] = args.as_slice()
        && flag == "--clients"
    {
        let seconds = seconds_for(n.parse().unwrap());
        return clients(addr, n.parse().unwrap(), RATE * seconds);
    }
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![100, 1000, 10_000]
    } else {
        sizes
    };
    for n in sizes {
        for writers in [1, 2] {
            run(n, writers, seconds_for(n));
        }
    }
}

/// As in `fanout.rs`: 5 s at 10,000 sockets, 10 s below.
fn seconds_for(n: usize) -> u64 {
    if n >= 10_000 { 5 } else { 10 }
}
