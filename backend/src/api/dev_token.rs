//! The dev-extras token API (the seed's `cloudformation-dev-extras`): a
//! development stand-in for the host, which signs host JWTs with a private
//! key kept in SSM, so a deployed stage can be tried without the toolbox:
//!
//! `POST /token?identity=alex&context=general,random` with
//! `Authorization: Bearer <apiKey>` → `{"token": JWT}`.
//!
//! It runs as its own Lambda in its own stack (`${STACK_NAME}-dev-extras`),
//! never in the token service, and reads its key from
//! `/${STACK_NAME}-dev-extras/chat-development/privateKey` (PEM: PKCS#8, or
//! SEC1 from the seed's `openssl ecparam`), `.../keyId` and `.../apiKey`.
//!
//! Safe by default (issue #32): it signs for any identity and any room, so
//! it answers only callers holding the API key (at least 32 characters,
//! compared in constant time), and its tokens carry their own issuer
//! ([`DEV_TOKEN_ISSUER`]), which the token service refuses unless the
//! stage sets `chat/acceptDevTokens=on`. A stack left up, or a key shared
//! with the toolbox's JWKS, then opens no room to anyone.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

use crate::api::error::ApiError;
use crate::clock::Clock;
use crate::config::SettingsError;
use crate::domain::{ContextName, Identity, MAX_CONTEXTS};
use crate::secret::Secret;
use crate::tokens::es256::SigningKey;
use crate::tokens::host_jwt::{self, DEV_TOKEN_ISSUER};

/// How long a dev token is valid.
pub const TTL_SECS: u64 = 3600;

/// The signing key, its id, and the API key callers must present.
#[derive(Debug)]
pub struct DevTokenKey {
    pub kid: String,
    pub key: SigningKey,
    pub api_key: Secret,
}

/// The shortest API key taken.
pub const MIN_API_KEY_LEN: usize = 32;

/// The SSM folder of the dev-extras stack of `stack`.
pub fn parameter_path(stack: &str) -> String {
    format!("/{stack}-dev-extras/chat-development/")
}

impl DevTokenKey {
    /// From the three parameters, each named in its error.
    pub fn from_parameters(
        path: &str,
        private_key: Option<&str>,
        key_id: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<Self, SettingsError> {
        let missing = |name: &str, how: &str| SettingsError {
            name: format!("{path}{name}"),
            problem: format!("is missing: aws ssm put-parameter --name {path}{name} --type String --value {how}"),
        };
        let pem = private_key.ok_or_else(|| missing("privateKey", "\"$(cat ecdsa-p256-$KEY_ID-private.pem)\""))?;
        let kid = key_id
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| missing("keyId", "$KEY_ID"))?;
        let key = SigningKey::from_pem(pem).map_err(|e| SettingsError {
            name: format!("{path}privateKey"),
            problem: e.to_string(),
        })?;
        let api_key = api_key
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| missing("apiKey", "$(openssl rand -hex 32) --type SecureString"))?;
        if api_key.len() < MIN_API_KEY_LEN {
            return Err(SettingsError {
                name: format!("{path}apiKey"),
                problem: format!("must be at least {MIN_API_KEY_LEN} characters (e.g. openssl rand -hex 32)"),
            });
        }
        Ok(Self {
            kid: kid.to_owned(),
            key,
            api_key: Secret::new(api_key.to_owned()),
        })
    }
}

/// Reads the key from SSM (decrypting, should it be a SecureString).
pub async fn load_from_ssm(client: &aws_sdk_ssm::Client, stack: &str) -> Result<DevTokenKey, SettingsError> {
    let path = parameter_path(stack);
    let parameters = crate::config::read_ssm_folder(client, &path).await?;
    let value = |name: &str| {
        let full = format!("{path}{name}");
        parameters.iter().find(|(n, _)| *n == full).map(|(_, v)| v.as_str())
    };
    DevTokenKey::from_parameters(&path, value("privateKey"), value("keyId"), value("apiKey"))
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    identity: Option<String>,
    context: Option<String>,
}

struct DevState {
    key: DevTokenKey,
    clock: Clock,
}

/// `POST /token?identity=…&context=a,b`.
pub fn router(key: DevTokenKey, clock: Clock) -> Router {
    Router::new()
        .route("/token", post(token))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn(crate::api::json_errors))
        .with_state(Arc::new(DevState { key, clock }))
}

async fn token(
    State(state): State<Arc<DevState>>,
    headers: axum::http::HeaderMap,
    query: Result<Query<TokenQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // the credential first: without it, nothing about the request is looked at
    if !crate::api::bearer_token(&headers).is_some_and(|key| state.key.api_key.matches(key)) {
        return ApiError::InvalidToken(
            "send the dev-extras API key as Authorization: Bearer <key> (SSM parameter .../chat-development/apiKey)"
                .into(),
        )
        .into_response();
    }
    let Ok(Query(query)) = query else {
        return ApiError::BadRequest("the query must be identity=…&context=a,b".into()).into_response();
    };
    let identity = match query.identity.as_deref().map(Identity::parse) {
        Some(Ok(identity)) => identity,
        Some(Err(e)) => return ApiError::BadRequest(format!("identity: {e}")).into_response(),
        None => return ApiError::BadRequest("identity is required".into()).into_response(),
    };
    let names: Vec<&str> = query
        .context
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if names.is_empty() {
        return ApiError::BadRequest("context is required: one or more names, comma-separated".into()).into_response();
    }
    if names.len() > MAX_CONTEXTS {
        return ApiError::BadRequest(format!("context: at most {MAX_CONTEXTS} names")).into_response();
    }
    for name in &names {
        if let Err(e) = ContextName::parse(name) {
            return ApiError::BadRequest(format!("context {name:?}: {e}")).into_response();
        }
    }
    let now = state.clock.now_secs();
    let claims = serde_json::json!({
        "sub": identity.as_str(), "contexts": names, "iat": now, "exp": now + TTL_SECS, "iss": DEV_TOKEN_ISSUER,
    });
    match host_jwt::sign(&state.key.key, &state.key.kid, &claims) {
        Ok(token) => axum::Json(serde_json::json!({ "token": token, "expiresAt": now + TTL_SECS })).into_response(),
        Err(_) => ApiError::UpstreamRejected("the dev key could not sign".into()).into_response(),
    }
}
