//! Twilio: the service's side of Twilio Conversations.
//!
//! - [`rest`]: the Conversations REST API client (provisioning, what the
//!   notifier reads, `dachat configure`'s settings), checked against
//!   Twilio's own OpenAPI description by the contract tests;
//! - [`provision`]: users, conversations and participations made before a
//!   session is answered, and aligned with the host token on every token
//!   path (revocation), with the session rate limit;
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
pub mod provision;
pub mod rest;
pub mod retention;
pub mod signature;
