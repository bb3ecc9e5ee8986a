//! The HTTP API's request and response bodies, shared by the backend and
//! the widget. Serde types, and with feature `js` a serde-free codec to and
//! from JavaScript values (`js`, what the widget uses): nothing here may
//! pull in tokio, aws-* or any other native-only crate (CI checks this
//! crate on `wasm32-unknown-unknown`).
//!
//! Field names are camelCase on the wire. Times are Unix seconds.

use serde::{Deserialize, Serialize};

/// The longest message either provider takes, in UTF-16 code units (what a
/// `<textarea maxlength>` and JavaScript count): Twilio's limit ("up to
/// 1,600 characters"), counted the stricter way, and the local provider's.
/// The composer holds no more; replies by e-mail are cut to it.
pub const MAX_MESSAGE_UNITS: usize = 1600;

/// A message's length as [`MAX_MESSAGE_UNITS`] counts it.
pub fn message_units(body: &str) -> usize {
    body.encode_utf16().count()
}

pub mod files;
#[cfg(feature = "js")]
pub mod js;
pub mod local;
pub mod moderation;
pub mod shape;

/// `POST /v1/session`: open the chat for one context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRequest {
    /// The host's JWT.
    pub token: String,
    /// The context (room) to open; must be listed in the token.
    pub context: String,
    /// One browser or device of the user; defaults to `web`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

/// Which chat provider the session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Twilio Conversations, through Twilio's JS SDK.
    Twilio,
    /// The embedded local provider of the local server.
    Local,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    pub identity: String,
    /// Every context the token allows, in the token's order.
    pub contexts: Vec<String>,
    /// The context this session opened.
    pub context: String,
    /// The provider's id of the context's conversation.
    pub conversation_sid: String,
    /// The provider's access token (for Twilio: a Twilio access token).
    pub access_token: String,
    /// When `access_token` expires (Unix seconds).
    pub expires_at: u64,
    pub provider: Provider,
    /// What files may be attached; absent when attachments are off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<AttachmentPolicy>,
}

/// The operator's attachment settings, as the window needs them to refuse
/// a file before uploading it (the server checks again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentPolicy {
    /// MIME types, a subset of `files::KNOWN_TYPES`.
    pub types: Vec<String>,
    /// The largest file, in bytes.
    pub max_bytes: u64,
}

/// `POST /v1/token`: renew the provider access token (no provisioning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_at: u64,
}

/// `GET /v1/me` with `Authorization: Bearer <host JWT>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeResponse {
    pub identity: String,
    pub contexts: Vec<String>,
}

/// `GET /v1/notifications` with `Authorization: Bearer <host JWT>`: the
/// person's e-mail subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsResponse {
    /// The address the host's token vouches for (`email` with
    /// `email_verified`): subscribing to it needs no code.
    pub vouched_address: Option<String>,
    pub subscriptions: Vec<NotificationSubscription>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSubscription {
    /// The room; `None`: every room.
    pub context: Option<String>,
    /// Where e-mail goes; `None`: this room is muted (an exception to an
    /// every-room subscription).
    pub address: Option<String>,
}

/// `POST /v1/notifications/subscribe`: e-mail me about `context` (absent:
/// every room) at `address` (absent: the vouched address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeRequest {
    pub token: String,
    #[serde(default)]
    pub context: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

/// `POST /v1/notifications/confirm`: the code sent to `address`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmRequest {
    pub token: String,
    #[serde(default)]
    pub context: Option<String>,
    pub address: String,
    pub code: String,
}

/// `POST /v1/notifications/off`: no more e-mail about `context` (absent:
/// about anything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnsubscribeRequest {
    pub token: String,
    #[serde(default)]
    pub context: Option<String>,
}

/// What a subscribe, confirm or off request left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyState {
    On,
    /// A code went to the address; confirm it.
    CodeSent,
    Off,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionState {
    pub state: NotifyState,
    pub address: Option<String>,
}

/// Every error answer: a stable code and a message fit to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_camel_case() {
        let request: SessionRequest =
            serde_json::from_str(r#"{"token":"t","context":"general","deviceId":"d"}"#).unwrap();
        assert_eq!(request.device_id.as_deref(), Some("d"));
        let response = SessionResponse {
            identity: "a".into(),
            contexts: vec!["general".into()],
            context: "general".into(),
            conversation_sid: "CH1".into(),
            access_token: "x".into(),
            expires_at: 1,
            provider: Provider::Twilio,
            attachments: None,
        };
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["conversationSid"], "CH1");
        assert_eq!(json["expiresAt"], 1);
        assert_eq!(json["provider"], "twilio");
    }

    #[test]
    fn device_id_is_optional() {
        let request: TokenRequest = serde_json::from_str(r#"{"token":"t"}"#).unwrap();
        assert_eq!(request.device_id, None);
    }
}
