//! A fault-injecting HTTP/1.1 proxy for tests (issue #28): put it between
//! DAChat and a real program on loopback (the Twilio stand-in, Prism,
//! moto, a JWKS server), then make chosen requests fail the ways networks
//! and services fail:
//!
//! - [`Fault::Refuse`]: the connection is closed before the request is
//!   read (a crashed or unreachable service);
//! - [`Fault::Delay`]: the request reaches the service late (a slow one);
//!   with a delay past the caller's timeout, the request may still take
//!   effect after the caller gave up, as on a real network;
//! - [`Fault::ResetAfterForward`]: the request reaches the service and
//!   takes effect, then the connection is closed before the answer (the
//!   case that doubles writes unless retries are idempotent);
//! - [`Fault::Answer`]: an answer of the proxy's own (a 500, a 429 with
//!   `Retry-After`, garbage) instead of the service's.
//!
//! A rule matches by method and a part of the path, for a number of
//! requests; requests no rule matches are forwarded untouched. Every
//! request is logged, so a test can count what was tried and what failed.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The largest request head or body the proxy reads.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// What happens to a matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    Refuse,
    Delay(Duration),
    ResetAfterForward,
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
}

impl Fault {
    /// An answer with `status`, an empty JSON body and these headers.
    pub fn status(status: u16, headers: &[(&str, &str)]) -> Self {
        Self::Answer {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: "{}".to_owned(),
        }
    }
}

#[derive(Debug)]
struct Rule {
    method: String,
    path_contains: String,
    fault: Fault,
    remaining: u32,
}

/// One request the proxy saw, and the fault it met (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The fault applied, by name (`refuse`, `delay`, `reset`, `answer
    /// <status>`), or `None` when it was forwarded untouched.
    pub fault: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: give this to the caller instead of the service's.
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl FaultProxy {
    /// A proxy on a free loopback port in front of `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let upstream = upstream.trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder().build().map_err(io::Error::other)?;
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (state, upstream, http) = (state.clone(), upstream.clone(), http.clone());
                    tokio::spawn(async move {
                        let _ = serve(stream, &state, &upstream, &http).await;
                    });
                }
            }
        });
        Ok(Self { url, state, task })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next `times` requests with `method` (`*` for any) whose path
    /// contains `path_contains` meet `fault`. Rules apply in the order given.
    pub fn inject(&self, method: &str, path_contains: &str, fault: Fault, times: u32) {
        self.lock().rules.push(Rule {
            method: method.to_owned(),
            path_contains: path_contains.to_owned(),
            fault,
            remaining: times,
        });
    }

    /// Removes every rule: from now on everything is forwarded.
    pub fn heal(&self) {
        self.lock().rules.clear();
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// How many requests met a fault.
    pub fn faults(&self) -> usize {
        self.lock().seen.iter().filter(|s| s.fault.is_some()).count()
    }
}

/// Answers the requests of one client connection until it closes or a
/// fault closes it.
async fn serve(stream: TcpStream, state: &Mutex<State>, upstream: &str, http: &reqwest::Client) -> io::Result<()> {
    let mut stream = BufReader::new(stream);
    while let Some(request) = read_request(&mut stream).await? {
        let fault = {
            let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
            let fault = state
                .rules
                .iter_mut()
                .find(|r| {
                    r.remaining > 0
                        && (r.method == "*" || r.method == request.method)
                        && request.path.contains(&r.path_contains)
                })
                .map(|rule| {
                    rule.remaining -= 1;
                    rule.fault.clone()
                });
            state.seen.push(Seen {
                method: request.method.clone(),
                path: request.path.clone(),
                fault: fault.as_ref().map(name),
            });
            fault
        };
        match fault {
            Some(Fault::Refuse) => return Ok(()),
            Some(Fault::Answer { status, headers, body }) => {
                write_response(stream.get_mut(), status, &headers, body.as_bytes()).await?;
            }
            Some(Fault::Delay(wait)) => {
                tokio::time::sleep(wait).await;
                let (status, headers, body) = forward(http, upstream, &request).await?;
                write_response(stream.get_mut(), status, &headers, &body).await?;
            }
            Some(Fault::ResetAfterForward) => {
                forward(http, upstream, &request).await?;
                return Ok(());
            }
            None => {
                let (status, headers, body) = forward(http, upstream, &request).await?;
                write_response(stream.get_mut(), status, &headers, &body).await?;
            }
        }
    }
    Ok(())
}

fn name(fault: &Fault) -> String {
    match fault {
        Fault::Refuse => "refuse".to_owned(),
        Fault::Delay(_) => "delay".to_owned(),
        Fault::ResetAfterForward => "reset".to_owned(),
        Fault::Answer { status, .. } => format!("answer {status}"),
    }
}

/// One HTTP/1.1 request (request line, headers, a `Content-Length` body);
/// `None` when the client closed the connection between requests.
async fn read_request(stream: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if stream.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Err(io::Error::other(format!("not an HTTP request line: {line:?}")));
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let mut headers = Vec::new();
    let mut head_bytes = line.len();
    loop {
        let mut header = String::new();
        head_bytes += stream.read_line(&mut header).await?;
        if head_bytes > MAX_REQUEST_BYTES {
            return Err(io::Error::other("request head too large"));
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse::<usize>().ok())
        .unwrap_or(0);
    if length > MAX_REQUEST_BYTES {
        return Err(io::Error::other("request body too large"));
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

/// The request sent on to `upstream`; its status, headers and body.
async fn forward(
    http: &reqwest::Client,
    upstream: &str,
    request: &Request,
) -> io::Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(io::Error::other)?;
    let mut outgoing = http
        .request(method, format!("{upstream}{}", request.path))
        .body(request.body.clone());
    for (name, value) in &request.headers {
        if !matches!(
            name.as_str(),
            "host" | "connection" | "content-length" | "transfer-encoding"
        ) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await.map_err(io::Error::other)?;
    let status = answer.status().as_u16();
    let headers = answer
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "connection" | "content-length" | "transfer-encoding"))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let body = answer.bytes().await.map_err(io::Error::other)?.to_vec();
    Ok((status, headers, body))
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A proxy whose every request is answered by its own rule stands in
    /// for the service behind the proxy under test.
    async fn service() -> FaultProxy {
        // its upstream is never reached: every request meets the rule
        let service = FaultProxy::start("http://127.0.0.1:9").await.unwrap();
        service.inject(
            "*",
            "/",
            Fault::Answer {
                status: 200,
                headers: vec![("x-from".into(), "service".into())],
                body: "hello".into(),
            },
            u32::MAX,
        );
        service
    }

    #[tokio::test]
    async fn forwards_what_no_rule_matches_and_applies_each_rule_its_number_of_times() {
        let service = service().await;
        let proxy = FaultProxy::start(&service.url).await.unwrap();
        proxy.inject("POST", "/things", Fault::status(503, &[("retry-after", "2")]), 1);
        let http = reqwest::Client::new();
        let post = |path: &'static str| http.post(format!("{}{path}", proxy.url)).body("x").send();

        let faulted = post("/things").await.unwrap();
        assert_eq!(faulted.status(), 503);
        assert_eq!(faulted.headers()["retry-after"], "2");
        let passed = post("/things").await.unwrap();
        assert_eq!(passed.status(), 200);
        assert_eq!(passed.headers()["x-from"], "service");
        assert_eq!(passed.text().await.unwrap(), "hello");

        let seen = proxy.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].fault.as_deref(), Some("answer 503"));
        assert_eq!(seen[1].fault, None);
        assert_eq!(service.seen().len(), 1, "only the second reached the service");
    }

    #[tokio::test]
    async fn a_reset_after_forwarding_reaches_the_service_but_not_the_caller() {
        let service = service().await;
        let proxy = FaultProxy::start(&service.url).await.unwrap();
        proxy.inject("*", "/pay", Fault::ResetAfterForward, 1);
        let refused = reqwest::Client::new().post(format!("{}/pay", proxy.url)).send().await;
        assert!(refused.is_err(), "the caller gets no answer");
        assert_eq!(service.seen().len(), 1, "the request took effect");

        proxy.inject("*", "/pay", Fault::Refuse, 1);
        assert!(
            reqwest::Client::new()
                .post(format!("{}/pay", proxy.url))
                .send()
                .await
                .is_err()
        );
        assert_eq!(service.seen().len(), 1, "a refused request never arrives");
        proxy.heal();
        let healed = reqwest::Client::new().post(format!("{}/pay", proxy.url)).send().await;
        assert_eq!(healed.unwrap().status(), 200);
        assert_eq!(proxy.faults(), 2);
    }
}
