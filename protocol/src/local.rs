//! The WebSocket frames of the embedded local chat provider.
//!
//! The widget connects to `<api>/v1/local/ws?token=<accessToken>` with the
//! access token of a `provider: "local"` session. Every frame is one JSON
//! object with a `type`. A user reaches only the rooms their sessions
//! admitted them to; anything else is answered with an [`ServerFrame::Error`]
//! and never affects other connections.

use serde::{Deserialize, Serialize};

/// The most bytes a message of [`crate::MAX_MESSAGE_UNITS`] can take in
/// UTF-8 (three per UTF-16 unit at most).
pub const MAX_BODY_BYTES: usize = 3 * crate::MAX_MESSAGE_UNITS;
/// The longest nickname, in characters.
pub const MAX_NICK_CHARS: usize = 32;
/// The most messages one history page holds.
pub const MAX_PAGE: u32 = 50;
/// The most members a `Joined` frame lists.
pub const MAX_MEMBERS_LISTED: usize = 200;
/// The largest frame a client may send, in bytes.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// A message as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Increasing within the provider; later messages have larger ids.
    pub id: i64,
    pub room: String,
    pub author: String,
    pub body: String,
    /// Unix milliseconds.
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    #[serde(default)]
    pub deleted: bool,
    /// A file sent with the message (at most one; the body is its caption).
    /// Boxed: most messages have none, and frames and rows stay small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Box<Attachment>>,
}

/// A file attached to a message: what the window needs to show it. The
/// bytes are fetched from the provider by `id` (local: `GET
/// /v1/local/files/{id}`; Twilio: the media SID, through the SDK).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: String,
    /// Cleaned by `files::clean_name` when stored; shown as text only.
    pub name: String,
    pub content_type: String,
    /// Bytes.
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ClientFrame {
    /// Start receiving a room's events (the user must be admitted to it).
    Join {
        room: String,
    },
    /// A page of messages older than `before` (newest first when `before` is absent).
    History {
        room: String,
        #[serde(default)]
        before: Option<i64>,
        #[serde(default)]
        limit: Option<u32>,
    },
    /// Post a message; `client_id` comes back in the `Ack`.
    Send {
        room: String,
        client_id: String,
        body: String,
        /// The id of a file this user uploaded to the room
        /// (`POST /v1/local/files`) and has not sent yet.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<String>,
    },
    Edit {
        room: String,
        id: i64,
        body: String,
    },
    Delete {
        room: String,
        id: i64,
    },
    Typing {
        room: String,
    },
    /// The user has read everything up to and including `up_to`.
    Read {
        room: String,
        up_to: i64,
    },
    Nick {
        nick: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub identity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    pub online: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ServerFrame {
    Welcome {
        identity: String,
        nick: Option<String>,
        rooms: Vec<String>,
    },
    /// Joined: the room's members and the user's read horizon.
    Joined {
        room: String,
        /// At most [`MAX_MEMBERS_LISTED`] members, those online first.
        members: Vec<Member>,
        /// How many members the room has in all.
        member_count: u32,
        read_up_to: Option<i64>,
        last_id: Option<i64>,
        /// Messages by others after the read horizon (all of them when the
        /// user has read nothing yet).
        #[serde(default)]
        unread: u32,
    },
    Message {
        message: Message,
    },
    /// Oldest first; `has_more` when older messages exist.
    History {
        room: String,
        messages: Vec<Message>,
        has_more: bool,
    },
    Ack {
        client_id: String,
        id: i64,
    },
    Edited {
        message: Message,
    },
    Deleted {
        room: String,
        id: i64,
    },
    Typing {
        room: String,
        identity: String,
    },
    Presence {
        room: String,
        identity: String,
        online: bool,
    },
    Nick {
        identity: String,
        nick: Option<String>,
    },
    Read {
        room: String,
        up_to: i64,
    },
    /// Something was refused or failed. `client_id` names a refused send;
    /// `room` a room the user can no longer use (code `room_closed`).
    Error {
        code: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_tagged_and_camel_case() {
        let frame: ClientFrame =
            serde_json::from_str(r#"{"type":"send","room":"general","clientId":"c1","body":"hi"}"#).unwrap();
        assert_eq!(
            frame,
            ClientFrame::Send {
                room: "general".into(),
                client_id: "c1".into(),
                body: "hi".into(),
                attachment: None,
            }
        );
        let read: ClientFrame = serde_json::from_str(r#"{"type":"read","room":"general","upTo":5}"#).unwrap();
        assert_eq!(
            read,
            ClientFrame::Read {
                room: "general".into(),
                up_to: 5
            }
        );
        let ack = serde_json::to_value(ServerFrame::Ack {
            client_id: "c1".into(),
            id: 7,
        })
        .unwrap();
        assert_eq!(ack, serde_json::json!({"type": "ack", "clientId": "c1", "id": 7}));
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shout"}"#).is_err());
    }
}
