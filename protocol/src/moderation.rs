//! Moderation on the local provider's WebSocket (issue #30): the frames a
//! moderator (named by the host token's `moderates`) and any member send,
//! and what comes back. Apart from [`crate::local`]'s frames, so the
//! window's core carries none of it; the server reads a frame as these
//! when it is not one of those. Refusals come back as
//! `local::ServerFrame::Error` (`not_moderator`, `not_found`, `bad_frame`),
//! and a muted member's send as `muted`.

use serde::{Deserialize, Serialize};

/// The longest reason a report may give, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// The most reports one person may make in an hour (each may e-mail the
/// operator: a member cannot flood their mailbox).
pub const MAX_REPORTS_PER_HOUR: u32 = 20;

/// The longest a mute may last, in minutes (30 days).
pub const MAX_MUTE_MINUTES: u32 = 30 * 24 * 60;

/// From a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ModerationFrame {
    /// Removes any message of the room (a moderator): its text and file
    /// are gone, every window drops it (`local::ServerFrame::Deleted`).
    Remove { room: String, id: i64 },
    /// Mutes a member of the room for `minutes` (a moderator): they can
    /// read, not send or edit.
    Mute {
        room: String,
        identity: String,
        minutes: u32,
    },
    /// Ends a mute (a moderator).
    Unmute { room: String, identity: String },
    /// Reports a message to the room's moderators (any member).
    Report { room: String, id: i64, reason: String },
    /// The room's reports, newest first (a moderator).
    Reports { room: String },
}

/// `POST /v1/moderation` (Twilio): the host token and a frame, answered
/// as the local provider answers the frame on its connection
/// ([`ModerationEvent`], or an error body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModerationRequest {
    pub token: String,
    pub frame: ModerationFrame,
}

/// One report of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub id: i64,
    pub room: String,
    pub message_id: i64,
    pub reporter: String,
    pub reason: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// To a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ModerationEvent {
    /// A new report, to the room's moderators who are connected.
    Reported { report: Report },
    /// The answer to `reports`.
    ReportList { room: String, reports: Vec<Report> },
    /// The frame was carried out (`remove`, `mute`, `unmute`, `report`).
    Done { action: String, room: String },
}
