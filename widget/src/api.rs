//! Calls to the DAChat API (`/v1/session`, `/v1/token`, the notification
//! routes) with `fetch`, and their failures as messages a person can act on.

use protocol::js::{self as json, FromJs};
use protocol::{ErrorBody, SessionRequest, TokenRequest};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::i18n::{self, Msg, t};

/// Why a call failed, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub message: String,
}

impl ApiFailure {
    pub fn unreachable() -> Self {
        Self {
            status: 0,
            message: t(Msg::ErrorUnreachable),
        }
    }
}

/// What the user should read for an error answer.
pub fn failure_message(status: u16, body: Option<ErrorBody>) -> String {
    match (status, body) {
        (401, _) => t(Msg::ErrorSignedOut),
        (403, _) => t(Msg::ErrorNoAccess),
        // the notification routes' refusals say what to do (codes, addresses)
        (400 | 429 | 502 | 503, Some(body))
            if body.error.starts_with("code_")
                || matches!(body.error.as_str(), "wrong_code" | "no_code" | "bad_address")
                || body.error.starts_with("mail_") =>
        {
            i18n::refusal(&body.error, &body.message, None)
        }
        (429, _) => t(Msg::ErrorTooMany),
        (500..=599, _) => t(Msg::ErrorUnavailable),
        (_, Some(body)) => body.message,
        _ => t(Msg::ErrorUnknown),
    }
}

/// POSTs `body` (JSON) to `url`; the answer's text when it is a 2xx.
pub async fn post(url: &str, body: &str) -> Result<String, ApiFailure> {
    fetch(url, Some(body), None).await
}

/// GETs `url` with the host token as `Authorization: Bearer`.
pub async fn get(url: &str, bearer: &str) -> Result<String, ApiFailure> {
    fetch(url, None, Some(bearer)).await
}

async fn fetch(url: &str, body: Option<&str>, bearer: Option<&str>) -> Result<String, ApiFailure> {
    let window = web_sys::window().ok_or_else(ApiFailure::unreachable)?;
    let init = web_sys::RequestInit::new();
    let headers = web_sys::Headers::new().map_err(|_| ApiFailure::unreachable())?;
    if let Some(body) = body {
        init.set_method("POST");
        init.set_body(&JsValue::from_str(body));
        let _ = headers.set("Content-Type", "application/json");
    }
    if let Some(bearer) = bearer {
        let _ = headers.set("Authorization", &format!("Bearer {bearer}"));
    }
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(|_| ApiFailure::unreachable())?;
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
        Ok(text)
    } else {
        Err(ApiFailure {
            status,
            message: failure_message(status, json::parse(&text)),
        })
    }
}

/// The body of `/v1/session` (with a context) or `/v1/token` (without).
pub fn body(token: &str, context: Option<&str>, device_id: &str) -> String {
    let (token, device_id) = (token.to_owned(), Some(device_id.to_owned()));
    match context {
        Some(context) => json::stringify(&SessionRequest {
            token,
            context: context.to_owned(),
            device_id,
        }),
        None => json::stringify(&TokenRequest { token, device_id }),
    }
    .unwrap_or_default()
}

/// A 2xx answer's body as `R`.
pub fn read<R: FromJs>(text: &str) -> Result<R, ApiFailure> {
    json::parse(text).ok_or_else(|| ApiFailure {
        status: 200,
        message: t(Msg::ErrorStrange),
    })
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
        let refusal = |error: &str| ErrorBody {
            error: error.into(),
            message: "the server's words".into(),
        };
        for error in [
            "code_limit",
            "wrong_code",
            "code_locked",
            "bad_address",
            "mail_unavailable",
        ] {
            let status = if error == "code_limit" { 429 } else { 400 };
            assert_eq!(
                failure_message(status, Some(refusal(error))),
                "the server's words",
                "{error}"
            );
        }
        assert!(failure_message(429, Some(refusal("rate_limited"))).starts_with("Too many attempts"));
    }
}
