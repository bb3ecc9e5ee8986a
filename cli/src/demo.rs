//! The demo host page of the local server: a stand-in for the toolbox that
//! signs dev host tokens with the local key and embeds the real loader.
//! Mounted only when `serve` is given `--dev-keys`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use backend::api::JsonBody;
use backend::api::error::ApiError;
use serde::Deserialize;
use serde_json::json;

use crate::DevKeys;

const PAGE: &str = include_str!("demo.html");

pub fn router(keys: Arc<DevKeys>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/dev/token", post(token))
        .with_state(keys)
}

#[derive(Deserialize)]
struct TokenRequest {
    sub: String,
    contexts: Vec<String>,
    /// Seconds; negative makes an already expired token (for tests).
    ttl: Option<i64>,
    /// An address the host vouches for (`email_verified: true`).
    email: Option<String>,
    /// Rooms they moderate (each one of `contexts`).
    #[serde(default)]
    moderates: Vec<String>,
}

async fn token(
    State(keys): State<Arc<DevKeys>>,
    JsonBody(request): JsonBody<TokenRequest>,
) -> Result<Response, ApiError> {
    let ttl = request.ttl.unwrap_or(3600).clamp(-86_400, 86_400);
    let token = keys
        .token(&crate::DevClaims {
            sub: &request.sub,
            contexts: &request.contexts,
            moderates: &request.moderates,
            ttl,
            iss: None,
            aud: None,
            email: request.email.as_deref().filter(|e| !e.trim().is_empty()),
        })
        .map_err(|e| ApiError::BadRequest(format!("{e:#}")))?;
    Ok(Json(json!({ "token": token })).into_response())
}
