//! JSON over HTTP as the tests and benchmarks speak it to a server on
//! loopback: the one `post_json`.

use serde_json::Value;

/// POSTs `body` as JSON to `url`; the status and the JSON answer (`Null`
/// when the answer is not JSON). `Err` only when no answer came.
pub async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> Result<(u16, Value), reqwest::Error> {
    let response = http.post(url).json(body).send().await?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}
