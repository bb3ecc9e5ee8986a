//! `POST /v1/inbound/sendgrid?key=…`: replies by e-mail as SendGrid
//! Inbound Parse posts them (multipart/form-data, in its default "parsed"
//! mode or with "POST the raw, full MIME message"). The key is the
//! `chat/inboundKey` setting (in the query, which the access log leaves
//! out). Answers 200 for every e-mail that was decided (posted, a repeat,
//! or dropped with its reason), so SendGrid does not deliver it again; 503
//! when the store or the chat provider failed, so it does.

use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{ApiQuery, Shared};
use crate::api::error::ApiError;
use crate::notify::ReplyOutcome;
use crate::notify::inbound_mail::MAX_INBOUND_BYTES;

/// The form fields read; the rest (attachments, spam reports) are skipped.
const FIELDS: &[&str] = &[
    "email", "headers", "text", "html", "from", "to", "cc", "envelope", "SPF", "dkim", "subject",
];

/// The most a request may carry: the mail and SendGrid's form around it.
pub const MAX_REQUEST_BYTES: usize = MAX_INBOUND_BYTES + 1024 * 1024;

#[derive(Deserialize)]
pub(super) struct KeyQuery {
    key: Option<String>,
}

pub(super) async fn sendgrid(
    State(app): State<Shared>,
    ApiQuery(query): ApiQuery<KeyQuery>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let mut form = form.map_err(|_| ApiError::BadRequest("SendGrid posts multipart/form-data".into()))?;
    let mut fields = Vec::new();
    let mut size = 0;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::BadRequest(format!("the form cannot be read: {}", e.body_text())))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let keep = FIELDS.contains(&name.as_str()) && field.file_name().is_none();
        let value = field
            .text()
            .await
            .map_err(|e| ApiError::BadRequest(format!("the form cannot be read: {}", e.body_text())))?;
        size += value.len();
        if size > MAX_REQUEST_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        if keep {
            fields.push((name, value));
        }
    }
    let outcome = app.inbound_sendgrid(query.key.as_deref(), &fields).await?;
    let body = match outcome {
        ReplyOutcome::Posted { .. } => json!({ "outcome": "posted" }),
        ReplyOutcome::Repeat => json!({ "outcome": "repeat" }),
        ReplyOutcome::Dropped(why) => json!({ "outcome": "dropped", "reason": why.code(), "message": why.to_string() }),
    };
    Ok(Json(body).into_response())
}
