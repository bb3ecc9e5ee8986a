//! What `dachat forget` calls (issue #30): the service's conversations,
//! paged; a message updated (its author) or deleted; a user deleted.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::reads::paged_meta;
use crate::{PUBLIC_BASE, Standin, conversation_json, not_found};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageQuery {
    page_size: Option<usize>,
    page: Option<usize>,
}

/// The service's conversations, oldest first.
pub async fn list_conversations(
    State(s): State<Standin>,
    Path(service): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let store = s.store();
    let page_size = query.page_size.unwrap_or(50).clamp(1, 100);
    let page = query.page.unwrap_or(0);
    let start = page.saturating_mul(page_size);
    let items: Vec<Value> = store
        .conversations
        .iter()
        .skip(start)
        .take(page_size)
        .map(|c| conversation_json(&service, c))
        .collect();
    let more = start.saturating_add(page_size) < store.conversations.len();
    let base = format!("{PUBLIC_BASE}/v1/Services/{service}/Conversations?");
    let meta = paged_meta(&base, "conversations", page_size, page, more);
    Json(json!({ "conversations": items, "meta": meta })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageUpdate {
    author: Option<String>,
    body: Option<String>,
}

/// Updates a message's author or body.
pub async fn update_message(
    State(s): State<Standin>,
    Path((_service, conversation, sid)): Path<(String, String, String)>,
    Form(form): Form<MessageUpdate>,
) -> Response {
    let mut store = s.store();
    let Some(conversation_sid) = store.conversation(&conversation).map(|c| c.sid.clone()) else {
        return not_found();
    };
    let Some(message) = store
        .messages
        .iter_mut()
        .find(|m| m.sid == sid && m.conversation_sid == conversation_sid)
    else {
        return not_found();
    };
    if let Some(author) = form.author {
        message.author = author;
    }
    if let Some(body) = form.body {
        message.body = body;
    }
    let answer = json!({ "sid": message.sid, "conversation_sid": message.conversation_sid, "author": message.author });
    Json(answer).into_response()
}

/// Deletes a message.
pub async fn delete_message(
    State(s): State<Standin>,
    Path((_service, conversation, sid)): Path<(String, String, String)>,
) -> Response {
    let mut store = s.store();
    let Some(conversation_sid) = store.conversation(&conversation).map(|c| c.sid.clone()) else {
        return not_found();
    };
    let before = store.messages.len();
    store
        .messages
        .retain(|m| !(m.sid == sid && m.conversation_sid == conversation_sid));
    if store.messages.len() == before {
        return not_found();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Deletes a user (by SID or identity), as Twilio does: its
/// participations stay until removed.
pub async fn delete_user(State(s): State<Standin>, Path((_service, sid)): Path<(String, String)>) -> Response {
    let mut store = s.store();
    let before = store.users.len();
    store.users.retain(|u| u.sid != sid && u.identity != sid);
    if store.users.len() == before {
        return not_found();
    }
    StatusCode::NO_CONTENT.into_response()
}
