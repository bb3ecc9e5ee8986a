//! Twilio: the service's side of Twilio Conversations.
//!
//! - [`rest`]: the Conversations REST API client (provisioning, what the
//!   notifier reads, `dachat configure`'s settings), checked against
//!   Twilio's own OpenAPI description by the contract tests;
//! - [`provision`]: users, conversations and participations made before a
//!   session is answered, and aligned with the host token on every token
//!   path (revocation), with the session rate limit;
//! - [`moderation`]: a moderator's removals and mutes carried out, reports
//!   and the record kept (`moderation_dynamo` in production);
//! - [`retention`]: messages past their room's retention deleted;
//! - [`signature`]: `X-Twilio-Signature` on webhooks (pure).
//!
//! Invariants: a participation exists only for a room the host token lists
//! now; provisioning is idempotent (get-or-create, "already exists" is
//! success); every REST call has a timeout and bounded retries.
//!
//! Imports: the shared base and `config`; never `tokens`, `notify` or the
//! HTTP layer.

pub mod aligned;
pub mod aligned_dynamo;

/// The conversation role of a room's moderators, made by `dachat
/// configure` beside Twilio's defaults (issue #30). It grants what a
/// participant's role grants and nothing more: a moderator's actions
/// (removing a message, muting a member, reading the reports) go through
/// DAChat's API, which checks the host token's `moderates` and records each
/// one; a permission in the role would let the holder act through the SDK
/// with no record. The role names the moderator to every client.
pub const MODERATOR_ROLE: &str = "dachat moderator";
/// The conversation role of a muted member: `deleteOwnMessage` only. They
/// read the room, and cannot send, send media or edit (an edit would be a
/// way to post).
pub const MUTED_ROLE: &str = "dachat muted";
pub mod moderation;
pub mod moderation_dynamo;
pub mod provision;
pub mod rest;
pub mod retention;
pub mod signature;
