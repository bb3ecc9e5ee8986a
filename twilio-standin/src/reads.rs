//! What the notifier reads, in Twilio's list shapes: a conversation's
//! participants and messages, and a user's conversations with their unread
//! counts and read horizons; and the controls that make that state
//! (messages as the SDK would send them, read horizons, presence).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ACCOUNT_SID, PUBLIC_BASE, Standin, not_found, now_rfc3339, participant_json};

/// A message, as the SDK would have sent it.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub(crate) sid: String,
    pub(crate) conversation_sid: String,
    index: i64,
    pub(crate) author: String,
    pub(crate) body: String,
    attributes: String,
    date_created: String,
}

fn page_meta(url: &str, key: &str) -> Value {
    json!({
        "page": 0, "page_size": 50, "first_page_url": format!("{url}?PageSize=50&Page=0"),
        "previous_page_url": null, "next_page_url": null, "url": format!("{url}?PageSize=50&Page=0"),
        "key": key,
    })
}

#[derive(Deserialize)]
pub struct MessageBody {
    conversation: String,
    author: String,
    body: String,
    /// When it was written (RFC 3339), if not now: an old message.
    #[serde(default, rename = "dateCreated")]
    date_created: Option<String>,
}

/// Stores a message in `conversation` (SID or unique name): its SID,
/// index and conversation SID, or `None` when there is no such conversation.
fn add_message(
    s: &Standin,
    conversation: &str,
    author: String,
    body: String,
    attributes: String,
    date_created: Option<String>,
) -> Option<(String, i64, String)> {
    let mut store = s.store();
    let conversation_sid = store.conversation(conversation).map(|c| c.sid.clone())?;
    // one more than the last, as Twilio's (deleted messages leave gaps)
    let index = store
        .messages
        .iter()
        .filter(|x| x.conversation_sid == conversation_sid)
        .map(|x| x.index + 1)
        .max()
        .unwrap_or(0);
    let sid = store.sid("IM");
    store.messages.push(StoredMessage {
        sid: sid.clone(),
        conversation_sid: conversation_sid.clone(),
        index,
        author,
        body,
        attributes,
        date_created: date_created.unwrap_or_else(now_rfc3339),
    });
    Some((sid, index, conversation_sid))
}

pub async fn post_message(State(s): State<Standin>, Json(m): Json<MessageBody>) -> Response {
    match add_message(&s, &m.conversation, m.author, m.body, "{}".to_owned(), m.date_created) {
        Some((sid, index, conversation_sid)) => {
            Json(json!({ "sid": sid, "index": index, "conversationSid": conversation_sid })).into_response()
        }
        None => not_found(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateMessage {
    author: Option<String>,
    body: Option<String>,
    attributes: Option<String>,
}

/// `POST …/Conversations/{conversation}/Messages`, as the REST API makes a
/// message (replies by e-mail): 201 with the message.
pub async fn create_message(
    State(s): State<Standin>,
    Path((service, conversation)): Path<(String, String)>,
    axum::Form(m): axum::Form<CreateMessage>,
) -> Response {
    let author = m.author.unwrap_or_else(|| "system".to_owned());
    let body = m.body.unwrap_or_default();
    let attributes = m.attributes.unwrap_or_else(|| "{}".to_owned());
    let Some((sid, index, conversation_sid)) = add_message(
        &s,
        &conversation,
        author.clone(),
        body.clone(),
        attributes.clone(),
        None,
    ) else {
        return not_found();
    };
    let url = format!("{PUBLIC_BASE}/v1/Services/{service}/Conversations/{conversation_sid}/Messages/{sid}");
    let message = json!({
        "account_sid": ACCOUNT_SID, "chat_service_sid": service, "conversation_sid": conversation_sid,
        "sid": sid, "index": index, "author": author, "body": body, "media": null,
        "attributes": attributes, "participant_sid": null, "date_created": now_rfc3339(),
        "date_updated": now_rfc3339(), "delivery": null, "content_sid": null, "url": url, "links": {},
    });
    (StatusCode::CREATED, Json(message)).into_response()
}

#[derive(Deserialize)]
pub struct ReadBody {
    conversation: String,
    identity: String,
    index: i64,
}

pub async fn mark_read(State(s): State<Standin>, Json(r): Json<ReadBody>) -> StatusCode {
    let mut store = s.store();
    let Some(conversation_sid) = store.conversation(&r.conversation).map(|c| c.sid.clone()) else {
        return StatusCode::NOT_FOUND;
    };
    store.reads.insert((conversation_sid, r.identity), r.index);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
pub struct OnlineBody {
    identity: String,
    online: bool,
}

pub async fn set_online(State(s): State<Standin>, Json(o): Json<OnlineBody>) -> StatusCode {
    let mut store = s.store();
    if o.online {
        store.online.insert(o.identity);
    } else {
        store.online.remove(&o.identity);
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessagesQuery {
    order: Option<String>,
    page_size: Option<usize>,
    page: Option<usize>,
}

/// One page of a conversation's messages (`Order=desc`: newest first).
pub async fn list_messages(
    State(s): State<Standin>,
    Path((service, conversation)): Path<(String, String)>,
    Query(query): Query<MessagesQuery>,
) -> Response {
    let store = s.store();
    let Some(conversation_sid) = store.conversation(&conversation).map(|c| c.sid.clone()) else {
        return not_found();
    };
    let mut messages: Vec<&StoredMessage> = store
        .messages
        .iter()
        .filter(|m| m.conversation_sid == conversation_sid)
        .collect();
    let order = query.order.as_deref().unwrap_or("asc");
    if order == "desc" {
        messages.reverse();
    }
    let page_size = query.page_size.unwrap_or(50).clamp(1, 100);
    let page = query.page.unwrap_or(0);
    let start = page.saturating_mul(page_size);
    let more = start.saturating_add(page_size) < messages.len();
    let url = format!("{PUBLIC_BASE}/v1/Services/{service}/Conversations/{conversation_sid}/Messages");
    let messages: Vec<Value> = messages
        .iter()
        .skip(start)
        .take(page_size)
        .map(|m| {
            json!({
                "account_sid": ACCOUNT_SID, "chat_service_sid": service, "conversation_sid": m.conversation_sid,
                "sid": m.sid, "index": m.index, "author": m.author, "body": m.body, "media": null,
                "attributes": m.attributes, "participant_sid": null, "date_created": m.date_created,
                "date_updated": m.date_created, "delivery": null, "content_sid": null,
                "url": format!("{url}/{}", m.sid), "links": {},
            })
        })
        .collect();
    let meta = paged_meta(&format!("{url}?Order={order}"), "messages", page_size, page, more);
    Json(json!({ "messages": messages, "meta": meta })).into_response()
}

/// A list's `meta`, pages numbered from 0 (`base` holds a query already).
pub(crate) fn paged_meta(base: &str, key: &str, page_size: usize, page: usize, more: bool) -> Value {
    let at = |page: usize| format!("{base}&PageSize={page_size}&Page={page}");
    json!({
        "page": page, "page_size": page_size, "first_page_url": at(0),
        "previous_page_url": (page > 0).then(|| at(page - 1)), "url": at(page),
        "next_page_url": more.then(|| at(page + 1)), "key": key,
    })
}

/// A user's conversations with their unread counts and read horizons.
pub async fn user_conversations(State(s): State<Standin>, Path((service, user)): Path<(String, String)>) -> Response {
    let store = s.store();
    let Some(identity) = store
        .users
        .iter()
        .find(|u| u.sid == user || u.identity == user)
        .map(|u| u.identity.clone())
    else {
        return not_found();
    };
    let conversations: Vec<Value> = store
        .participants
        .iter()
        .filter(|p| p.identity == identity)
        .filter_map(|p| {
            let c = store.conversation(&p.conversation_sid)?;
            let read = store.reads.get(&(c.sid.clone(), identity.clone())).copied();
            let unread = store
                .messages
                .iter()
                .filter(|m| m.conversation_sid == c.sid && m.index > read.unwrap_or(-1))
                .count();
            Some(json!({
                "account_sid": ACCOUNT_SID, "chat_service_sid": service, "conversation_sid": c.sid,
                "unread_messages_count": unread, "last_read_message_index": read,
                "participant_sid": p.sid, "user_sid": null, "friendly_name": c.unique_name,
                "conversation_state": "active", "timers": {}, "attributes": "{}",
                "date_created": now_rfc3339(), "date_updated": now_rfc3339(), "created_by": "system",
                "notification_level": "default", "unique_name": c.unique_name,
                "url": format!("{PUBLIC_BASE}/v1/Services/{service}/Users/{user}/Conversations/{}", c.sid),
                "links": {},
            }))
        })
        .collect();
    let url = format!("{PUBLIC_BASE}/v1/Services/{service}/Users/{user}/Conversations");
    Json(json!({ "conversations": conversations, "meta": page_meta(&url, "conversations") })).into_response()
}

/// One page of a conversation's participants (all of them: the stand-in's
/// rooms are small), in Twilio's list shape.
pub async fn list_participants(
    State(s): State<Standin>,
    Path((service, conversation)): Path<(String, String)>,
) -> Response {
    let store = s.store();
    let Some(conversation_sid) = store.conversation(&conversation).map(|c| c.sid.clone()) else {
        return not_found();
    };
    let participants: Vec<Value> = store
        .participants
        .iter()
        .filter(|p| p.conversation_sid == conversation_sid)
        .map(|p| participant_json(&service, p))
        .collect();
    let url = format!("{PUBLIC_BASE}/v1/Services/{service}/Conversations/{conversation_sid}/Participants");
    Json(json!({ "participants": participants, "meta": page_meta(&url, "participants") })).into_response()
}
