//! Roles, the service configuration and its webhooks, and the permission
//! check Twilio makes when a token holder acts.
//!
//! A new service has Twilio's four built-in roles: `service admin` and
//! `service user` (service scope), `channel admin` and `channel user`
//! (conversation scope), with the default role of each kind generous as
//! Twilio's is (a `service user` may create and join any conversation, a
//! `channel user` may add participants). `dachat configure` replaces the
//! permissions and makes DAChat's own conversation roles (moderator,
//! muted); a participant takes the service's default conversation role
//! when it is added, and another conversation role when its `RoleSid` is
//! set (muting, unmuting).
//!
//! Token holders act over Twilio's realtime connection, which the stand-in
//! does not have; `POST /_standin/as-user` (`{service, token, action,
//! conversation?}`) answers what Twilio would: 204 when the user's role
//! grants `action`, else 403 with Twilio's error 50107. The access token's
//! identity is read, not verified (tokens are checked against Twilio's own
//! helper library elsewhere).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use axum::{Form, Json};
use serde_json::{Value, json};

use crate::{ACCOUNT_SID, PUBLIC_BASE, Standin, not_found, twilio_error};

/// Every permission Twilio accepts in a service-scoped role.
pub const SERVICE_PERMISSIONS: &[&str] = &[
    "addParticipant",
    "createConversation",
    "deleteAnyMessage",
    "deleteConversation",
    "editAnyMessage",
    "editAnyMessageAttributes",
    "editAnyUserInfo",
    "editConversationAttributes",
    "editConversationName",
    "editOwnMessage",
    "editOwnMessageAttributes",
    "editOwnUserInfo",
    "joinConversation",
    "removeParticipant",
];

/// Every permission Twilio accepts in a conversation-scoped role.
pub const CONVERSATION_PERMISSIONS: &[&str] = &[
    "addNonChatParticipant",
    "addParticipant",
    "deleteAnyMessage",
    "deleteConversation",
    "deleteOwnMessage",
    "editAnyMessage",
    "editAnyMessageAttributes",
    "editAnyParticipantAttributes",
    "editConversationAttributes",
    "editConversationName",
    "editNotificationLevel",
    "editOwnMessage",
    "editOwnMessageAttributes",
    "editOwnParticipantAttributes",
    "leaveConversation",
    "removeParticipant",
    "sendMediaMessage",
    "sendMessage",
];

#[derive(Debug, Clone)]
pub struct Role {
    pub sid: String,
    pub friendly_name: String,
    /// `service` or `conversation`.
    pub kind: &'static str,
    pub permissions: Vec<String>,
}

/// Roles, the service configuration and the service's webhooks.
#[derive(Debug, Clone)]
pub struct Access {
    pub roles: Vec<Role>,
    pub creator_role: String,
    pub conversation_role: String,
    pub service_role: String,
    pub reachability: bool,
    pub pre_webhook_url: Option<String>,
    pub post_webhook_url: Option<String>,
    pub filters: Vec<String>,
    pub method: String,
}

impl Default for Access {
    fn default() -> Self {
        let role = |n: u8, name: &str, kind: &'static str, permissions: &[&str]| Role {
            sid: format!("RL{n:032x}"),
            friendly_name: name.to_owned(),
            kind,
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        };
        let roles = vec![
            role(1, "service admin", "service", SERVICE_PERMISSIONS),
            role(
                2,
                "service user",
                "service",
                &["createConversation", "joinConversation", "editOwnUserInfo"],
            ),
            role(3, "channel admin", "conversation", CONVERSATION_PERMISSIONS),
            role(
                4,
                "channel user",
                "conversation",
                &[
                    "sendMessage",
                    "sendMediaMessage",
                    "leaveConversation",
                    "editOwnMessage",
                    "editOwnMessageAttributes",
                    "deleteOwnMessage",
                    "editOwnParticipantAttributes",
                    "addParticipant",
                ],
            ),
        ];
        Self {
            creator_role: roles[2].sid.clone(),
            conversation_role: roles[3].sid.clone(),
            service_role: roles[1].sid.clone(),
            roles,
            reachability: false,
            pre_webhook_url: None,
            post_webhook_url: None,
            filters: Vec::new(),
            method: "POST".to_owned(),
        }
    }
}

impl Access {
    fn role(&self, sid: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.sid == sid)
    }

    /// Whether `sid` is one of the service's conversation-scoped roles.
    pub fn is_conversation_role(&self, sid: &str) -> bool {
        self.role(sid).is_some_and(|r| r.kind == "conversation")
    }
}

fn role_json(service: &str, role: &Role) -> Value {
    json!({
        "sid": role.sid, "account_sid": ACCOUNT_SID, "chat_service_sid": service,
        "friendly_name": role.friendly_name, "type": role.kind, "permissions": role.permissions,
        "date_created": "2020-01-01T00:00:00Z", "date_updated": "2020-01-01T00:00:00Z",
        "url": format!("{PUBLIC_BASE}/v1/Services/{service}/Roles/{}", role.sid),
    })
}

pub async fn list_roles(State(s): State<Standin>, Path(service): Path<String>) -> Response {
    let mut store = s.store();
    let roles: Vec<Value> = store
        .access(&service)
        .roles
        .iter()
        .map(|r| role_json(&service, r))
        .collect();
    let url = format!("{PUBLIC_BASE}/v1/Services/{service}/Roles?PageSize=50&Page=0");
    Json(json!({
        "roles": roles,
        "meta": { "page": 0, "page_size": 50, "first_page_url": url, "previous_page_url": null,
                  "url": url, "next_page_url": null, "key": "roles" },
    }))
    .into_response()
}

pub async fn fetch_role(State(s): State<Standin>, Path((service, sid)): Path<(String, String)>) -> Response {
    match s.store().access(&service).role(&sid) {
        Some(role) => Json(role_json(&service, role)).into_response(),
        None => not_found(),
    }
}

/// `FriendlyName`, `Type` (`conversation` or `service`) and `Permission`
/// once per permission: a new role, 201.
pub async fn create_role(
    State(s): State<Standin>,
    Path(service): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let value = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let Some(friendly_name) = value("FriendlyName").filter(|n| !n.is_empty() && n.chars().count() <= 64) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            20001,
            "Missing required parameter FriendlyName",
        );
    };
    let kind = match value("Type").as_deref() {
        Some("conversation") => "conversation",
        Some("service") => "service",
        _ => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Type must be conversation or service"),
    };
    let permissions = match permissions_of(&form, kind) {
        Ok(permissions) => permissions,
        Err((code, message)) => return twilio_error(StatusCode::BAD_REQUEST, code, &message),
    };
    let mut store = s.store();
    let access = store.access(&service);
    let role = Role {
        sid: format!("RL{:032x}", 0x100 + access.roles.len()),
        friendly_name,
        kind,
        permissions,
    };
    let body = role_json(&service, &role);
    access.roles.push(role);
    (StatusCode::CREATED, Json(body)).into_response()
}

/// The form's `Permission`s, each one Twilio accepts for a `kind` role.
fn permissions_of(form: &[(String, String)], kind: &str) -> Result<Vec<String>, (u32, String)> {
    let permissions: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "Permission")
        .map(|(_, v)| v.clone())
        .collect();
    if permissions.is_empty() {
        return Err((20001, "Missing required parameter Permission".to_owned()));
    }
    let allowed = if kind == "service" {
        SERVICE_PERMISSIONS
    } else {
        CONVERSATION_PERMISSIONS
    };
    if let Some(bad) = permissions.iter().find(|p| !allowed.contains(&p.as_str())) {
        return Err((50001, format!("Invalid permission {bad} for a {kind} role")));
    }
    Ok(permissions)
}

/// `Permission` repeated once per permission; replaces them all.
pub async fn update_role(
    State(s): State<Standin>,
    Path((service, sid)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let mut store = s.store();
    let Some(role) = store.access(&service).roles.iter_mut().find(|r| r.sid == sid) else {
        return not_found();
    };
    role.permissions = match permissions_of(&form, role.kind) {
        Ok(permissions) => permissions,
        Err((code, message)) => return twilio_error(StatusCode::BAD_REQUEST, code, &message),
    };
    Json(role_json(&service, role)).into_response()
}

/// `RoleSid`: the participant's conversation role (how a member is muted
/// and unmuted, or named a moderator).
pub async fn update_participant(
    State(s): State<Standin>,
    Path((service, conversation, sid)): Path<(String, String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let mut store = s.store();
    let Some(target) = crate::find_participant(&store, &conversation, &sid).map(|p| p.sid.clone()) else {
        return not_found();
    };
    if let Some((_, role_sid)) = form.iter().find(|(k, _)| k == "RoleSid") {
        if !store.access(&service).is_conversation_role(role_sid) {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                20001,
                &format!("RoleSid {role_sid} is not a conversation role of the service"),
            );
        }
        if let Some(p) = store.participants.iter_mut().find(|p| p.sid == target) {
            p.role_sid = role_sid.clone();
        }
    }
    match store.participants.iter().find(|p| p.sid == target) {
        Some(p) => Json(crate::participant_json(&service, p)).into_response(),
        None => not_found(),
    }
}

fn configuration_json(service: &str, access: &Access) -> Value {
    let url = format!("{PUBLIC_BASE}/v1/Services/{service}/Configuration");
    json!({
        "chat_service_sid": service,
        "default_conversation_creator_role_sid": access.creator_role,
        "default_conversation_role_sid": access.conversation_role,
        "default_chat_service_role_sid": access.service_role,
        "url": url,
        "links": { "notifications": format!("{url}/Notifications"), "webhooks": format!("{url}/Webhooks") },
        "reachability_enabled": access.reachability,
    })
}

pub async fn fetch_configuration(State(s): State<Standin>, Path(service): Path<String>) -> Response {
    Json(configuration_json(&service, s.store().access(&service))).into_response()
}

pub async fn update_configuration(
    State(s): State<Standin>,
    Path(service): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let mut store = s.store();
    let access = store.access(&service);
    for (key, value) in form {
        let role_kind = match key.as_str() {
            "DefaultConversationCreatorRoleSid" | "DefaultConversationRoleSid" => Some("conversation"),
            "DefaultChatServiceRoleSid" => Some("service"),
            _ => None,
        };
        if let Some(kind) = role_kind
            && access.role(&value).is_none_or(|r| r.kind != kind)
        {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                50200,
                &format!("{key}: no {kind} role {value}"),
            );
        }
        match key.as_str() {
            "DefaultConversationCreatorRoleSid" => access.creator_role = value,
            "DefaultConversationRoleSid" => access.conversation_role = value,
            "DefaultChatServiceRoleSid" => access.service_role = value,
            "ReachabilityEnabled" => access.reachability = value == "true",
            _ => {}
        }
    }
    Json(configuration_json(&service, access)).into_response()
}

fn webhooks_json(service: &str, access: &Access) -> Value {
    json!({
        "account_sid": ACCOUNT_SID, "chat_service_sid": service,
        "pre_webhook_url": access.pre_webhook_url, "post_webhook_url": access.post_webhook_url,
        "filters": access.filters, "method": access.method,
        "url": format!("{PUBLIC_BASE}/v1/Services/{service}/Configuration/Webhooks"),
    })
}

pub async fn fetch_webhooks(State(s): State<Standin>, Path(service): Path<String>) -> Response {
    Json(webhooks_json(&service, s.store().access(&service))).into_response()
}

pub async fn update_webhooks(
    State(s): State<Standin>,
    Path(service): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let mut store = s.store();
    let filters: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "Filters")
        .map(|(_, v)| v.clone())
        .collect();
    let access = store.access(&service);
    if !filters.is_empty() {
        access.filters = filters;
    }
    for (key, value) in form {
        match key.as_str() {
            "PreWebhookUrl" => access.pre_webhook_url = Some(value).filter(|v| !v.is_empty()),
            "PostWebhookUrl" => access.post_webhook_url = Some(value).filter(|v| !v.is_empty()),
            "Method" => access.method = value,
            _ => {}
        }
    }
    Json(webhooks_json(&service, access)).into_response()
}

#[derive(serde::Deserialize)]
pub struct AsUser {
    service: String,
    token: String,
    action: String,
    conversation: Option<String>,
}

/// The identity in an access token's grants (read, not verified).
fn token_identity(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64url(payload)?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["grants"]["identity"].as_str().map(str::to_owned)
}

fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

/// What Twilio's realtime service would answer a token holder doing `action`.
pub async fn as_user(State(s): State<Standin>, Json(body): Json<AsUser>) -> Response {
    let Some(identity) = token_identity(&body.token) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20101, "Invalid Access Token");
    };
    let mut store = s.store();
    let access = store.access(&body.service).clone();
    let grants = |role_sid: &str| {
        access
            .role(role_sid)
            .is_some_and(|r| r.permissions.contains(&body.action))
    };
    // the service role holds across the service; a participant's role in its conversation
    let mut allowed = grants(&access.service_role);
    if !allowed && let Some(name) = &body.conversation {
        let Some(conversation) = store.conversation(name) else {
            return not_found();
        };
        allowed = store
            .participants
            .iter()
            .find(|p| p.conversation_sid == conversation.sid && p.identity == identity)
            .is_some_and(|p| grants(&p.role_sid));
    }
    if allowed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        twilio_error(
            StatusCode::FORBIDDEN,
            50107,
            &format!("User unauthorized to perform {}", body.action),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_is_read_from_the_grants() {
        // {"grants":{"identity":"alice"}}
        let token = "e30.eyJncmFudHMiOnsiaWRlbnRpdHkiOiJhbGljZSJ9fQ.sig";
        assert_eq!(token_identity(token).as_deref(), Some("alice"));
        assert_eq!(token_identity("not a token"), None);
    }
}
