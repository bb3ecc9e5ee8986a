//! The outbound HTTP client and what every caller of it shares: one
//! connection pool (JWKS, Twilio REST), log-safe error descriptions and a
//! bounded body read. Only [`crate::jwks`] and [`crate::twilio_rest`] use it.

use std::time::Duration;

/// The one outbound HTTP client (connection pool shared by JWKS and Twilio).
pub fn build() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("dachat/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(3))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
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
