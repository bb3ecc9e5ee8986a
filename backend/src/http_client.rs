//! The outbound HTTP client and what every caller of it shares: one
//! connection pool, one retry loop with its [`RetryPolicy`], log-safe
//! error descriptions and a bounded body read. Its callers: the host's
//! JWKS ([`crate::tokens::jwks`]), Twilio's REST API
//! ([`crate::twilio::rest`]) and SendGrid ([`crate::notify::sendgrid`]).

use std::time::Duration;

/// The one outbound HTTP client (one connection pool for every service).
pub fn build() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("dachat/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(3))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
}

/// How requests are timed and retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Each attempt's own time limit.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
        }
    }
}

/// An answer that is not to be retried: its status and its body, read up
/// to a bound (`Err`: why it could not be read; the status still counts,
/// e.g. a 2xx means the request was done).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Result<Vec<u8>, String>,
}

/// Sends the request `request` builds, retrying 429 and 5xx answers and
/// failed connections with exponential backoff (a `Retry-After` in
/// seconds replaces the backoff, bounded by [`RetryPolicy::max_backoff`]).
/// Every other answer is returned, with a body of at most `max_body`
/// bytes. `Err` says, log-safely and naming `service`, why the last
/// attempt failed once the attempts are used up.
pub async fn send_with_retry(
    policy: &RetryPolicy,
    service: &str,
    max_body: usize,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Answer, String> {
    let mut backoff = policy.first_backoff;
    let mut last = String::new();
    for attempt in 1..=policy.attempts.max(1) {
        let mut wait = backoff;
        match request().timeout(policy.timeout).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                if status != 429 && status < 500 {
                    let body = read_body(response, max_body).await;
                    return Ok(Answer { status, body });
                }
                last = format!("{service} answered HTTP {status}");
                if let Some(secs) = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                {
                    wait = Duration::from_secs(secs).min(policy.max_backoff);
                }
            }
            Err(e) => last = format!("{service}: {}", describe_error(&e)),
        }
        if attempt < policy.attempts {
            tracing::debug!(attempt, problem = %last, "retrying");
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(policy.max_backoff);
        }
    }
    Err(last)
}

/// A short, log-safe description of a client error (no URL query, no body).
pub fn describe_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else if e.is_body() || e.is_decode() {
        "broken response body".into()
    } else {
        "request failed".into()
    }
}

/// Reads a response body of at most `max` bytes; a larger one is an error
/// (and is not read further).
pub async fn read_body(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(format!("body is larger than {max} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe_error(&e))? {
        if body.len() + chunk.len() > max {
            return Err(format!("body is larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
