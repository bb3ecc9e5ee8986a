//! The `cli` crate's self-contained tests, one binary: the real `dachat`
//! as a person runs it, each test starting its own `dachat serve` (through
//! `testkit::serve`) and, where Twilio is needed, the Twilio stand-in in
//! this process. (The operator tests, `tests/operator`, need the services
//! `cargo xtask test` starts, so they are a binary of their own.)
//!
//! - [`crash`]: `kill -9` while a sweep's digest is on the wire, and while
//!   replies by e-mail are posted to Twilio;
//! - [`export`]: `dachat export` of 10,000 local messages (JSON, HTML), and
//!   on Twilio stopped halfway, then resumed;
//! - [`forget`]: `dachat forget` on the local data folder, and on Twilio
//!   cut short halfway, then run again;
//! - [`disk`]: the data folder's disk full, then read-only, under the server;
//! - [`local_server`]: keygen, token, serve; a message acknowledged
//!   survives `kill -9`; files on the real server;
//! - [`moderation`]: moderators named by the host token: remove, mute,
//!   reports, and the operator's record;
//! - [`notifications`]: subscribe, confirm, digest, read, unsubscribe;
//! - [`search`]: a room's history searched by its members;
//! - [`replies`]: replies by e-mail over SMTP and the dev inbox;
//! - [`twilio_webhook`]: Twilio's `onMessageAdded` into the notifier.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod crash;
mod disk;
mod export;
mod forget;
mod local_server;
mod moderation;
mod notifications;
mod replies;
mod search;
#[path = "../support/mod.rs"]
mod support;
mod twilio_webhook;
