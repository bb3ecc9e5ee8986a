//! A small, stateful stand-in for the few Twilio Conversations v1 endpoints
//! DAChat uses (users, conversations, participants, a user's
//! participations), for tests and benchmarks on one machine; and what
//! `dachat forget` needs (`erase.rs`: the service's conversations, a
//! message updated or deleted, a user deleted).
//!
//! It keeps state (get-or-create, 404 for what is missing, 409 with
//! Twilio's error body for duplicates), which a spec-driven mock cannot.
//! Its success bodies follow Twilio's OpenAPI description; the contract
//! tests run it behind `prism proxy --errors` so any drift from the spec
//! fails them.
//!
//! Test controls live under `/_standin/` (never a Twilio path):
//! `GET stats` (request count), `POST fail` (`{status, count}`: the next
//! `count` API requests answer `status`), `POST hold` (`{method,
//! pathContains, parties}`: the first `parties` matching requests wait for
//! each other, which makes a race deterministic), `POST reset`, and
//! `POST seed-participation` (`{identity, context}`), `POST as-user`
//! (what Twilio answers a token holder's action, see [`roles`]), and for
//! what the notifier reads (`reads.rs`): `POST message` (`{conversation,
//! author, body}`, as the SDK would send it), `POST read` (`{conversation,
//! identity, index}`: a read horizon) and `POST online` (`{identity,
//! online}`).

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

mod controls;
mod erase;
mod reads;
mod roles;

const ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
const PUBLIC_BASE: &str = "https://conversations.twilio.com";

#[derive(Debug, Clone)]
struct User {
    sid: String,
    identity: String,
}

#[derive(Debug, Clone)]
struct Conversation {
    sid: String,
    unique_name: Option<String>,
}

#[derive(Debug, Clone)]
struct Participant {
    sid: String,
    conversation_sid: String,
    identity: String,
    /// The conversation role, the service's default when it was added.
    role_sid: String,
}

#[derive(Debug)]
struct Hold {
    method: String,
    path_contains: String,
    barrier: Arc<tokio::sync::Barrier>,
    remaining: usize,
}

#[derive(Debug, Default)]
struct Store {
    next_id: u64,
    users: Vec<User>,
    conversations: Vec<Conversation>,
    participants: Vec<Participant>,
    requests: u64,
    failures: Option<(u16, u32)>,
    hold: Option<Hold>,
    /// Each service's roles and configuration, made on first use.
    access: std::collections::BTreeMap<String, roles::Access>,
    /// Messages posted through `/_standin/message` (the SDK's sends).
    messages: Vec<reads::StoredMessage>,
    /// Read horizons: (conversation SID, identity) → message index.
    reads: std::collections::BTreeMap<(String, String), i64>,
    /// Who is online (reachability).
    online: std::collections::BTreeSet<String>,
}

impl Store {
    fn sid(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:032x}", self.next_id)
    }

    fn access(&mut self, service: &str) -> &mut roles::Access {
        self.access.entry(service.to_owned()).or_default()
    }

    fn conversation(&self, sid_or_name: &str) -> Option<&Conversation> {
        self.conversations
            .iter()
            .find(|c| c.sid == sid_or_name || c.unique_name.as_deref() == Some(sid_or_name))
    }
}

/// The stand-in's state; clone it into the router and keep a handle to inspect it.
#[derive(Debug, Clone, Default)]
pub struct Standin {
    store: Arc<Mutex<Store>>,
}

impl Standin {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the next `count` API requests answer `status`.
    pub fn fail_next(&self, status: u16, count: u32) {
        self.store().failures = (count > 0).then_some((status, count));
    }

    /// Adds `identity` to the conversation `context` (creating both), as if
    /// an earlier token had allowed it.
    pub fn seed_participation(&self, identity: &str, context: &str) {
        let mut store = self.store();
        let conversation_sid = match store.conversation(context) {
            Some(c) => c.sid.clone(),
            None => {
                let sid = store.sid("CH");
                store.conversations.push(Conversation {
                    sid: sid.clone(),
                    unique_name: Some(context.to_owned()),
                });
                sid
            }
        };
        if !store.users.iter().any(|u| u.identity == identity) {
            let sid = store.sid("US");
            store.users.push(User {
                sid,
                identity: identity.to_owned(),
            });
        }
        if !store
            .participants
            .iter()
            .any(|p| p.conversation_sid == conversation_sid && p.identity == identity)
        {
            let sid = store.sid("MB");
            let role_sid = roles::Access::default().conversation_role;
            store.participants.push(Participant {
                sid,
                conversation_sid,
                identity: identity.to_owned(),
                role_sid,
            });
        }
    }

    /// Makes the first `parties` requests whose method is `method` and whose
    /// path contains `path_contains` wait for each other before answering.
    pub fn hold(&self, method: &str, path_contains: &str, parties: usize) {
        self.store().hold = Some(Hold {
            method: method.to_owned(),
            path_contains: path_contains.to_owned(),
            barrier: Arc::new(tokio::sync::Barrier::new(parties)),
            remaining: parties,
        });
    }

    pub fn reset(&self) {
        *self.store() = Store::default();
    }
}

fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Twilio's error body.
fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

fn not_found() -> Response {
    twilio_error(StatusCode::NOT_FOUND, 20404, "The requested resource was not found")
}

fn user_json(service: &str, user: &User, is_online: bool) -> Value {
    let now = now_rfc3339();
    json!({
        "sid": user.sid, "account_sid": ACCOUNT_SID, "chat_service_sid": service,
        "role_sid": null, "identity": user.identity, "friendly_name": null, "attributes": "{}",
        "is_online": is_online, "is_notifiable": null, "date_created": now, "date_updated": now,
        "url": format!("{PUBLIC_BASE}/v1/Services/{service}/Users/{}", user.sid),
        "links": { "user_conversations": format!("{PUBLIC_BASE}/v1/Services/{service}/Users/{}/Conversations", user.sid) },
    })
}

fn conversation_json(service: &str, c: &Conversation) -> Value {
    let now = now_rfc3339();
    let url = format!("{PUBLIC_BASE}/v1/Services/{service}/Conversations/{}", c.sid);
    json!({
        "account_sid": ACCOUNT_SID, "chat_service_sid": service, "messaging_service_sid": null,
        "sid": c.sid, "friendly_name": c.unique_name, "unique_name": c.unique_name, "attributes": "{}",
        "state": "active", "date_created": now, "date_updated": now, "timers": {},
        "links": { "participants": format!("{url}/Participants"), "messages": format!("{url}/Messages") },
        "url": url, "bindings": null,
    })
}

pub(crate) fn participant_json(service: &str, p: &Participant) -> Value {
    let now = now_rfc3339();
    json!({
        "account_sid": ACCOUNT_SID, "chat_service_sid": service, "conversation_sid": p.conversation_sid,
        "sid": p.sid, "identity": p.identity, "attributes": "{}", "messaging_binding": null, "role_sid": p.role_sid,
        "date_created": now, "date_updated": now,
        "url": format!("{PUBLIC_BASE}/v1/Services/{service}/Conversations/{}/Participants/{}", p.conversation_sid, p.sid),
        "last_read_message_index": null, "last_read_timestamp": null,
    })
}

pub fn router(standin: Standin) -> Router {
    let api = Router::new()
        .route("/v1/Services/{service}/Users", post(create_user))
        .route(
            "/v1/Services/{service}/Users/{sid}",
            get(fetch_user).delete(erase::delete_user),
        )
        .route(
            "/v1/Services/{service}/Conversations",
            post(create_conversation).get(erase::list_conversations),
        )
        .route("/v1/Services/{service}/Conversations/{sid}", get(fetch_conversation))
        .route(
            "/v1/Services/{service}/Conversations/{conversation}/Participants",
            post(create_participant).get(reads::list_participants),
        )
        .route(
            "/v1/Services/{service}/Conversations/{conversation}/Messages",
            get(reads::list_messages).post(reads::create_message),
        )
        .route(
            "/v1/Services/{service}/Conversations/{conversation}/Messages/{sid}",
            post(erase::update_message).delete(erase::delete_message),
        )
        .route(
            "/v1/Services/{service}/Users/{user}/Conversations",
            get(reads::user_conversations),
        )
        .route(
            "/v1/Services/{service}/Conversations/{conversation}/Participants/{sid}",
            get(fetch_participant)
                .post(roles::update_participant)
                .delete(delete_participant),
        )
        .route(
            "/v1/Services/{service}/ParticipantConversations",
            get(list_participations),
        )
        .route(
            "/v1/Services/{service}/Roles",
            get(roles::list_roles).post(roles::create_role),
        )
        .route(
            "/v1/Services/{service}/Roles/{sid}",
            get(roles::fetch_role).post(roles::update_role),
        )
        .route(
            "/v1/Services/{service}/Configuration",
            get(roles::fetch_configuration).post(roles::update_configuration),
        )
        .route(
            "/v1/Services/{service}/Configuration/Webhooks",
            get(roles::fetch_webhooks).post(roles::update_webhooks),
        )
        .fallback(|| async { not_found() })
        .layer(middleware::from_fn_with_state(standin.clone(), gate));
    let controls = Router::new()
        .route("/_standin/stats", get(controls::stats))
        .route("/_standin/fail", post(controls::fail))
        .route("/_standin/hold", post(controls::hold))
        .route("/_standin/reset", post(controls::reset))
        .route("/_standin/seed-participation", post(controls::seed))
        .route("/_standin/message", post(reads::post_message))
        .route("/_standin/read", post(reads::mark_read))
        .route("/_standin/online", post(reads::set_online))
        .route("/_standin/as-user", post(roles::as_user));
    api.merge(controls).with_state(standin)
}

/// Counts requests, requires Basic auth, injects failures, applies holds.
async fn gate(State(standin): State<Standin>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/_standin/") {
        return next.run(request).await;
    }
    let barrier = {
        let mut store = standin.store();
        store.requests += 1;
        if let Some((status, count)) = store.failures {
            store.failures = (count > 1).then_some((status, count - 1));
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = twilio_error(status, 20500, "Injected failure");
            if status == StatusCode::TOO_MANY_REQUESTS {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("0"));
            }
            return response;
        }
        let method = request.method().as_str().to_owned();
        let path = request.uri().path().to_owned();
        match &mut store.hold {
            Some(hold) if hold.remaining > 0 && hold.method == method && path.contains(&hold.path_contains) => {
                hold.remaining -= 1;
                Some(hold.barrier.clone())
            }
            _ => None,
        }
    };
    if !request
        .headers()
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"Basic "))
    {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    if let Some(barrier) = barrier {
        barrier.wait().await;
    }
    next.run(request).await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdentityForm {
    identity: Option<String>,
}

async fn create_user(
    State(s): State<Standin>,
    Path(service): Path<String>,
    Form(form): Form<IdentityForm>,
) -> Response {
    let Some(identity) = form.identity.filter(|i| !i.is_empty()) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            20001,
            "Missing required parameter Identity in the post body",
        );
    };
    let mut store = s.store();
    if store.users.iter().any(|u| u.identity == identity) {
        return twilio_error(StatusCode::CONFLICT, 50201, "User already exists");
    }
    let user = User {
        sid: store.sid("US"),
        identity,
    };
    store.users.push(user.clone());
    (StatusCode::CREATED, Json(user_json(&service, &user, false))).into_response()
}

async fn fetch_user(State(s): State<Standin>, Path((service, sid)): Path<(String, String)>) -> Response {
    let store = s.store();
    match store.users.iter().find(|u| u.sid == sid || u.identity == sid) {
        Some(user) => Json(user_json(&service, user, store.online.contains(&user.identity))).into_response(),
        None => not_found(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConversationForm {
    unique_name: Option<String>,
}

async fn create_conversation(
    State(s): State<Standin>,
    Path(service): Path<String>,
    Form(form): Form<ConversationForm>,
) -> Response {
    let mut store = s.store();
    if form
        .unique_name
        .as_deref()
        .is_some_and(|name| store.conversation(name).is_some())
    {
        return twilio_error(
            StatusCode::CONFLICT,
            50353,
            "Conversation with provided unique name already exists",
        );
    }
    let conversation = Conversation {
        sid: store.sid("CH"),
        unique_name: form.unique_name,
    };
    store.conversations.push(conversation.clone());
    (StatusCode::CREATED, Json(conversation_json(&service, &conversation))).into_response()
}

async fn fetch_conversation(State(s): State<Standin>, Path((service, sid)): Path<(String, String)>) -> Response {
    let store = s.store();
    match store.conversation(&sid) {
        Some(c) => Json(conversation_json(&service, c)).into_response(),
        None => not_found(),
    }
}

async fn create_participant(
    State(s): State<Standin>,
    Path((service, conversation)): Path<(String, String)>,
    Form(form): Form<IdentityForm>,
) -> Response {
    let Some(identity) = form.identity.filter(|i| !i.is_empty()) else {
        return twilio_error(StatusCode::BAD_REQUEST, 50350, "Identity is required");
    };
    let mut store = s.store();
    let Some(conversation_sid) = store.conversation(&conversation).map(|c| c.sid.clone()) else {
        return not_found();
    };
    if store
        .participants
        .iter()
        .any(|p| p.conversation_sid == conversation_sid && p.identity == identity)
    {
        return twilio_error(StatusCode::CONFLICT, 50433, "Participant already exists");
    }
    if !store.users.iter().any(|u| u.identity == identity) {
        // Twilio creates the user when a participant joins by identity.
        let sid = store.sid("US");
        store.users.push(User {
            sid,
            identity: identity.clone(),
        });
    }
    let participant = Participant {
        sid: store.sid("MB"),
        conversation_sid,
        identity,
        role_sid: store.access(&service).conversation_role.clone(),
    };
    store.participants.push(participant.clone());
    (StatusCode::CREATED, Json(participant_json(&service, &participant))).into_response()
}

pub(crate) fn find_participant<'a>(store: &'a Store, conversation: &str, sid: &str) -> Option<&'a Participant> {
    let conversation_sid = store.conversation(conversation)?.sid.clone();
    store
        .participants
        .iter()
        .find(|p| p.conversation_sid == conversation_sid && (p.sid == sid || p.identity == sid))
}

async fn fetch_participant(
    State(s): State<Standin>,
    Path((service, conversation, sid)): Path<(String, String, String)>,
) -> Response {
    let store = s.store();
    match find_participant(&store, &conversation, &sid) {
        Some(p) => Json(participant_json(&service, p)).into_response(),
        None => not_found(),
    }
}

async fn delete_participant(
    State(s): State<Standin>,
    Path((_service, conversation, sid)): Path<(String, String, String)>,
) -> Response {
    let mut store = s.store();
    let Some(target) = find_participant(&store, &conversation, &sid).map(|p| p.sid.clone()) else {
        return not_found();
    };
    store.participants.retain(|p| p.sid != target);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListQuery {
    identity: Option<String>,
    page_size: Option<usize>,
    page: Option<usize>,
}

async fn list_participations(
    State(s): State<Standin>,
    Path(service): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    let store = s.store();
    let identity = query.identity.unwrap_or_default();
    let page_size = query.page_size.unwrap_or(50).clamp(1, 50);
    let page = query.page.unwrap_or(0);
    let user_sid = store
        .users
        .iter()
        .find(|u| u.identity == identity)
        .map(|u| u.sid.clone());
    let all: Vec<Value> = store
        .participants
        .iter()
        .filter(|p| p.identity == identity)
        .filter_map(|p| {
            let c = store.conversation(&p.conversation_sid)?;
            Some(json!({
                "account_sid": ACCOUNT_SID, "chat_service_sid": service,
                "participant_sid": p.sid, "participant_user_sid": user_sid,
                "participant_identity": p.identity, "participant_messaging_binding": null,
                "conversation_sid": c.sid, "conversation_unique_name": c.unique_name,
                "conversation_friendly_name": c.unique_name, "conversation_attributes": "{}",
                "conversation_date_created": now_rfc3339(), "conversation_date_updated": now_rfc3339(),
                "conversation_created_by": "system", "conversation_state": "active", "conversation_timers": {},
                "links": {
                    "participant": format!("{PUBLIC_BASE}/v1/Services/{service}/Conversations/{}/Participants/{}", c.sid, p.sid),
                    "conversation": format!("{PUBLIC_BASE}/v1/Services/{service}/Conversations/{}", c.sid),
                },
            }))
        })
        .collect();
    let list_url = |page: usize| {
        format!(
            "{PUBLIC_BASE}/v1/Services/{service}/ParticipantConversations?Identity={identity}&PageSize={page_size}&Page={page}"
        )
    };
    let start = page * page_size;
    let items: Vec<Value> = all.iter().skip(start).take(page_size).cloned().collect();
    let next = (start + page_size < all.len()).then(|| list_url(page + 1));
    let previous = (page > 0).then(|| list_url(page - 1));
    Json(json!({
        "conversations": items,
        "meta": {
            "page": page, "page_size": page_size, "first_page_url": list_url(0),
            "previous_page_url": previous, "url": list_url(page), "next_page_url": next, "key": "conversations",
        },
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339() {
        let d = now_rfc3339();
        assert_eq!(d.len(), 20);
        assert!(
            d.starts_with("20") && d.ends_with('Z') && d.as_bytes()[10] == b'T',
            "{d}"
        );
    }
}
