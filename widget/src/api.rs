//! Calls to the DAChat API (`/v1/session`, `/v1/token`) with `fetch`, and
//! their failures as messages a person can act on.

use protocol::js::{self as json, FromJs, ToJs};
use protocol::{ErrorBody, SessionRequest, SessionResponse, TokenRequest, TokenResponse};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Why a call failed, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub message: String,
}

impl ApiFailure {
    fn unreachable() -> Self {
        Self {
            status: 0,
            message: "Cannot reach the chat service. Check your connection.".into(),
        }
    }
}

/// What the user should read for an error answer.
pub fn failure_message(status: u16, body: Option<ErrorBody>) -> String {
    match (status, body) {
        (401, _) => "Your sign-in has expired or is not valid. Reload the page to sign in again.".into(),
        (403, _) => "You don't have access to this chat.".into(),
        (429, _) => "Too many attempts. Please wait a moment.".into(),
        (500..=599, _) => "The chat service is not available right now.".into(),
        (_, Some(body)) => body.message,
        _ => "Something went wrong talking to the chat service.".into(),
    }
}

async fn post<B: ToJs, R: FromJs>(url: &str, body: &B) -> Result<R, ApiFailure> {
    let window = web_sys::window().ok_or_else(ApiFailure::unreachable)?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&json::stringify(body).unwrap_or_default()));
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(|_| ApiFailure::unreachable())?;
    request
        .headers()
        .set("Content-Type", "application/json")
        .map_err(|_| ApiFailure::unreachable())?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| ApiFailure::unreachable())?
        .dyn_into()
        .map_err(|_| ApiFailure::unreachable())?;
    let text = JsFuture::from(response.text().map_err(|_| ApiFailure::unreachable())?)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_default();
    let status = response.status();
    if response.ok() {
        json::parse(&text).ok_or_else(|| ApiFailure {
            status,
            message: "The chat service answered strangely.".into(),
        })
    } else {
        Err(ApiFailure {
            status,
            message: failure_message(status, json::parse(&text)),
        })
    }
}

pub async fn open_session(
    api: &str,
    token: &str,
    context: &str,
    device_id: &str,
) -> Result<SessionResponse, ApiFailure> {
    let body = SessionRequest {
        token: token.into(),
        context: context.into(),
        device_id: Some(device_id.into()),
    };
    post(&format!("{api}/v1/session"), &body).await
}

pub async fn renew(api: &str, token: &str, device_id: &str) -> Result<TokenResponse, ApiFailure> {
    post(
        &format!("{api}/v1/token"),
        &TokenRequest {
            token: token.into(),
            device_id: Some(device_id.into()),
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_for_people() {
        assert!(failure_message(401, None).contains("Reload the page"));
        assert_eq!(failure_message(403, None), "You don't have access to this chat.");
        let body = ErrorBody {
            error: "bad_request".into(),
            message: "context is empty".into(),
        };
        assert_eq!(failure_message(400, Some(body)), "context is empty");
        assert!(failure_message(503, None).contains("not available"));
    }
}
