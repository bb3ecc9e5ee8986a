//! The HTTP API: one axum router, used by the Lambda and the local server.
//!
//! | route | body | answer |
//! | --- | --- | --- |
//! | `POST /v1/session` | `{token, context, deviceId?}` | `{identity, contexts, context, conversationSid, accessToken, expiresAt, provider}` |
//! | `POST /v1/token` | `{token, deviceId?}` | `{accessToken, expiresAt}` |
//! | `GET /v1/me` | `Authorization: Bearer <host JWT>` | `{identity, contexts}` |
//! | `GET /healthz` | | `{status: "ok"}` |
//! | `POST /v1/webhooks/twilio` | Twilio's form, `X-Twilio-Signature` | 200 when signed with `twilio/authToken` for `chat/publicUrl` + this path |
//! | `GET /v1/notifications` | `Authorization: Bearer <host JWT>` | `{vouchedAddress, subscriptions: [{context, address}]}` |
//! | `POST /v1/notifications/subscribe` | `{token, context?, address?}` | `{state: "on" or "code_sent", address}` |
//! | `POST /v1/notifications/confirm` | `{token, context?, address, code}` | `{state: "on", address}` |
//! | `POST /v1/notifications/off` | `{token, context?}` | `{state: "off"}` |
//! | `GET`, `POST /v1/notifications/unsubscribe?u&c&s` | (RFC 8058 one-click) | a page; only the POST unsubscribes |
//! | `POST /v1/inbound/sendgrid?key=` | SendGrid Inbound Parse's form | `{outcome: "posted" or "repeat" or "dropped", reason?}` |
//! | `GET /.well-known/jwks.json` | | the local dev key's JWKS (local mode only) |
//!
//! Bodies are JSON objects of at most [`MAX_BODY_BYTES`], nested at most
//! [`protocol::shape::MAX_DEPTH`] deep (JWT headers and claims too). A
//! client address whose requests were answered 401 more than
//! [`HttpOptions::failed_auth_per_minute`] times in a minute gets 429 with
//! `Retry-After` until the minute ends. Every error is an
//! [`ApiError`], converted from the service's [`crate::app::AppError`] at
//! the handler. Errors are logged once, by [`log_errors`].
//!
//! The folder is the HTTP layer: this router, [`error`] (the one error
//! rendering), the notification and inbound-mail routes, and
//! [`dev_token`] (the dev-extras stack's own router). Imports: anything
//! below it (`app` and what `app` is built on); nothing imports it but
//! the binaries.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRef, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::app::{AppState, WebhookBody};
use crate::clock::Clock;
use crate::config::Settings;
use crate::rate_limit::WindowLimiter;
use error::{ApiError, ErrorDetail};

pub mod dev_token;
pub mod error;
mod inbound;
mod notify;
mod routes;

/// The largest request body accepted (the request reader, the error
/// messages and the docs read this one value).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

use routes::routes;
pub use routes::{Route, Takes, route_table};

/// What the HTTP layer adds to the service: who may call it from a
/// browser, the JWKS it publishes itself (local mode with a dev key), and
/// how many failed verifications one client address gets.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Exact origins allowed to call the API from a browser; empty means same origin only.
    pub cors_origins: Vec<String>,
    pub published_jwks: Option<serde_json::Value>,
    /// Requests answered 401 per client address per minute before that
    /// address gets 429 without its token being verified; 0 turns it off.
    /// The address is the TCP peer (`ConnectInfo`), so this applies where
    /// the server is served with connect info (the local server); the
    /// Lambda is protected by API Gateway's throttling instead.
    pub failed_auth_per_minute: u32,
}

impl HttpOptions {
    /// The options the settings give (no published JWKS).
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            cors_origins: settings.cors_origins.clone(),
            published_jwks: None,
            failed_auth_per_minute: settings.failed_auth_per_minute,
        }
    }
}

/// Counts 401 answers per client address; an address over its limit is
/// answered 429 before its token costs a signature check. A valid request
/// is never counted, and addresses do not share a budget, so one client's
/// junk never slows another.
struct FailedAuthGuard {
    limiter: WindowLimiter<IpAddr>,
    clock: Clock,
}

/// At most this many client addresses are tracked at once.
const MAX_TRACKED_ADDRESSES: usize = 100_000;

async fn limit_failed_auth(State(guard): State<Arc<FailedAuthGuard>>, request: Request, next: Next) -> Response {
    let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() else {
        return next.run(request).await;
    };
    let address = client_of(peer.ip());
    if let Err(retry_after_secs) = guard.limiter.check(&address, guard.clock.now_ms()) {
        return ApiError::TooManyInvalidTokens { retry_after_secs }.into_response();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        guard.limiter.charge(&address, guard.clock.now_ms());
    }
    response
}

/// The client an address stands for, as the limit counts it: an IPv4
/// address (also written IPv4-mapped), or an IPv6 /64, which one
/// subscriber's link holds whole (counting its 2^64 spellings apart would
/// give one client 2^64 budgets).
fn client_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

/// The router's state; each handler takes only the part it needs.
#[derive(Clone)]
struct ApiState {
    app: Arc<AppState>,
    published_jwks: PublishedJwks,
}

#[derive(Clone)]
struct PublishedJwks(Option<Arc<serde_json::Value>>);

impl FromRef<ApiState> for Arc<AppState> {
    fn from_ref(state: &ApiState) -> Self {
        state.app.clone()
    }
}

impl FromRef<ApiState> for PublishedJwks {
    fn from_ref(state: &ApiState) -> Self {
        state.published_jwks.clone()
    }
}

type Shared = Arc<AppState>;

pub fn router(app: Shared, options: HttpOptions) -> Router {
    let cors = cors_layer(&options.cors_origins);
    let guard = (options.failed_auth_per_minute > 0).then(|| {
        Arc::new(FailedAuthGuard {
            limiter: WindowLimiter::per_minute(options.failed_auth_per_minute, MAX_TRACKED_ADDRESSES),
            clock: app.clock().clone(),
        })
    });
    let state = ApiState {
        app,
        published_jwks: PublishedJwks(options.published_jwks.map(Arc::new)),
    };
    let mut router = Router::new();
    for (route, handler) in routes() {
        // each route's body limit is the one its table entry states
        router = router.route(route.path, handler.layer(DefaultBodyLimit::max(route.max_body)));
    }
    let router = router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn(json_errors));
    let mut router = router.with_state(state);
    if let Some(guard) = guard {
        router = router.layer(middleware::from_fn_with_state(guard, limit_failed_auth));
    }
    if let Some(cors) = cors {
        router = router.layer(cors);
    }
    router.layer(middleware::from_fn(log_errors))
}

/// A query string read into `T`; a query that does not read is our 400
/// (axum's own rejection is plain text). Like [`JsonBody`], the message
/// names the problem without echoing the input.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query).map(ApiQuery).map_err(|e| {
            ApiError::BadRequest(format!(
                "the query string cannot be read: {}",
                describe_serde(&e.to_string())
            ))
        })
    }
}

/// serde's message about input of the wrong shape, keeping field names
/// (`duplicate field `key``) but never the values it quotes.
fn describe_serde(text: &str) -> String {
    let what = text.split(" at line ").next().unwrap_or("unexpected shape");
    if what.starts_with("duplicate field") || what.starts_with("missing field") {
        what.to_owned()
    } else {
        "a value is not of the expected kind".to_owned()
    }
}

/// The safety net under every route: an error answer that is not ours
/// (an extractor's rejection, a layer's refusal: axum answers those in
/// plain text) becomes our small JSON body with the same status, so a
/// client always gets `{error, message}`. Our own errors carry
/// [`ErrorDetail`]; the unsubscribe link's HTML pages are left alone.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let ours = response.extensions().get::<ErrorDetail>().is_some();
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || ours || html {
        return response;
    }
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        status if status.is_client_error() => ApiError::BadRequest("the request cannot be read".into()),
        _ => ApiError::Internal,
    };
    let mut answer = error.into_response();
    let said = answer
        .extensions()
        .get::<ErrorDetail>()
        .map(|d| d.0.clone())
        .unwrap_or_default();
    answer
        .extensions_mut()
        .insert(ErrorDetail(format!("{said} (answered {status} by the framework)")));
    answer
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Logs every error response once, with its internal detail; successful
/// requests are not logged (the platform's access logs cover them).
async fn log_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(ErrorDetail(detail)) = response.extensions().get::<ErrorDetail>() {
        let status = response.status().as_u16();
        if response.status().is_server_error() {
            tracing::warn!(%method, %path, status, "{detail}");
        } else {
            tracing::info!(%method, %path, status, "{detail}");
        }
    }
    response
}

/// A JSON body: `Content-Type: application/json`, at most
/// [`MAX_BODY_BYTES`], one JSON object (never an array a struct could be
/// read from) nested at most [`protocol::shape::MAX_DEPTH`] deep, of the
/// expected shape, and nothing after it.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state).await.map_err(body_rejection)?;
        protocol::shape::check_object(&bytes).map_err(|e| ApiError::BadRequest(format!("request body {e}")))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(describe_json_error(&e)))
    }
}

/// A body that could not be read: over the limit, or cut off.
fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest("request body could not be read".into())
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// A message about a body that did not parse, naming the problem but not
/// echoing the input.
fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            format!(
                "request body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            )
        }
        Category::Data => {
            // Keep serde's field names ("missing field `token`", "duplicate
            // field `token`") but not the values it quotes in type errors.
            let text = e.to_string();
            let what = text.split(" at line ").next().unwrap_or("unexpected shape");
            match what.split_once(", expected ") {
                Some((_, expected)) => {
                    format!("request body has the wrong shape: a value should be {expected}")
                }
                None => format!("request body has the wrong shape: {what}"),
            }
        }
    }
}

async fn session(
    State(state): State<Shared>,
    JsonBody(body): JsonBody<protocol::SessionRequest>,
) -> Result<Response, ApiError> {
    let session = state
        .open_session(&body.token, &body.context, body.device_id.as_deref())
        .await
        .map_err(ApiError::from)?;
    Ok(no_store(Json(protocol::SessionResponse {
        identity: session.claims.identity.to_string(),
        contexts: session.claims.contexts.iter().map(ToString::to_string).collect(),
        context: session.context.to_string(),
        conversation_sid: session.conversation_sid,
        access_token: session.token.jwt,
        expires_at: session.token.expires_at,
        provider: session.provider,
        attachments: state.attachments().policy(),
    })))
}

async fn token(
    State(state): State<Shared>,
    JsonBody(body): JsonBody<protocol::TokenRequest>,
) -> Result<Response, ApiError> {
    let token = state
        .renew_token(&body.token, body.device_id.as_deref())
        .await
        .map_err(ApiError::from)?;
    Ok(no_store(Json(protocol::TokenResponse {
        access_token: token.jwt,
        expires_at: token.expires_at,
    })))
}

/// `POST /v1/moderation` (issue #30): a moderator's action, a report, or
/// the room's reports, on Twilio; answered as the local provider answers
/// the same frame on its WebSocket.
async fn moderate(
    State(state): State<Shared>,
    JsonBody(body): JsonBody<protocol::moderation::ModerationRequest>,
) -> Result<Response, ApiError> {
    let event = state.moderate(&body.token, body.frame).await.map_err(ApiError::from)?;
    Ok(no_store(Json(event)))
}

/// The host token of a GET: `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    bearer_token(headers)
        .ok_or_else(|| ApiError::InvalidToken("send the host token as Authorization: Bearer <token>".into()))
}

/// The credential of `Authorization: Bearer <credential>`, if one is there
/// (the host token here; the dev-extras API key; the local chat token).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

async fn me(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    let token = bearer(&headers)?;
    let claims = state.verify_host_token(token).await.map_err(ApiError::from)?;
    Ok(no_store(Json(protocol::MeResponse {
        identity: claims.identity.to_string(),
        contexts: claims.contexts.iter().map(ToString::to_string).collect(),
    })))
}

/// `POST /v1/webhooks/twilio`: Twilio's post-event webhooks (registered by
/// `dachat configure`; form-encoded, signed with the account's auth token).
/// The signature is checked first; then `onMessageAdded` goes to the
/// notifier (once per message SID) and the rest is acknowledged. Only the
/// event type is logged: the rest is people's messages.
async fn twilio_webhook(
    State(app): State<Shared>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let body = body.map_err(body_rejection)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    let signature = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok());
    let query = uri.query();
    let params: Vec<(String, String)> = if content_type.starts_with(b"application/x-www-form-urlencoded") {
        let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|_| ApiError::BadRequest("the form body cannot be read".into()))?;
        app.check_twilio_webhook(query, WebhookBody::Form(&params), signature)?;
        params
    } else if content_type.starts_with(b"application/json") {
        app.check_twilio_webhook(query, WebhookBody::Json(&body), signature)?;
        protocol::shape::check_object(&body).map_err(|e| ApiError::BadRequest(format!("the JSON body {e}")))?;
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&body).map_err(|_| ApiError::BadRequest("the JSON body is not an object".into()))?;
        object
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
            .collect()
    } else {
        return Err(ApiError::BadRequest(
            "Twilio webhooks are form-encoded or JSON (Content-Type)".into(),
        ));
    };
    let event = params
        .iter()
        .find(|(name, _)| name == "EventType")
        .map_or("(none)", |(_, value)| value.as_str());
    tracing::info!(event, "Twilio webhook received");
    app.twilio_event(&params).await?;
    Ok(StatusCode::OK)
}

async fn healthz() -> Response {
    no_store(Json(serde_json::json!({ "status": "ok" })))
}

async fn published_jwks(State(PublishedJwks(jwks)): State<PublishedJwks>) -> Result<Response, ApiError> {
    let jwks = jwks.ok_or(ApiError::NotFound)?;
    let mut response = Json(&*jwks).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    Ok(response)
}

/// Answers carry tokens: no cache may keep them.
fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_limit_counts_clients_not_spellings_of_their_addresses() {
        let client = |text: &str| client_of(text.parse().unwrap()).to_string();
        assert_eq!(client("203.0.113.7"), "203.0.113.7");
        assert_eq!(client("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(client("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
        assert_eq!(client("2001:db8:1:2:ffff::1"), client("2001:db8:1:2::9"));
        assert_ne!(client("2001:db8:1:2::1"), client("2001:db8:1:3::1"));
    }

    #[test]
    fn json_content_types() {
        let check = |value: &str, expected: bool| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
            assert_eq!(is_json(&headers), expected, "{value}");
        };
        check("application/json", true);
        check("application/json; charset=utf-8", true);
        check("Application/JSON", true);
        check("text/plain", false);
        check("application/jsonp", false);
        check("application/x-www-form-urlencoded", false);
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn json_errors_do_not_echo_input() {
        let e = serde_json::from_str::<protocol::TokenRequest>(r#"{"token": 5, "secret-value": 1}"#).unwrap_err();
        let message = describe_json_error(&e);
        assert_eq!(message, "request body has the wrong shape: a value should be a string");
        let e = serde_json::from_str::<protocol::TokenRequest>(r#"{"token":"a","token":"b"}"#).unwrap_err();
        assert_eq!(
            describe_json_error(&e),
            "request body has the wrong shape: duplicate field `token`"
        );
        let e = serde_json::from_str::<protocol::TokenRequest>(r#"{"token":"abc"} trailing"#).unwrap_err();
        assert_eq!(
            describe_json_error(&e),
            "request body is not valid JSON (line 1, column 17)"
        );
    }
}
