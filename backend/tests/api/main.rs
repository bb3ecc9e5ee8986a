//! The API test binary: drives the router with `oneshot` (no socket), with
//! a JWKS server and the Twilio stand-in on loopback. Organised by what a
//! client does: open sessions, renew tokens, send bad input; and by what the
//! service depends on: the host's keys, Twilio, the Lambda runtime, logs.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod dev_token;
mod failed_auth;
mod faults;
mod host_keys;
mod instances;
mod lambda;
mod moderation;
mod provisioning;
mod retention;
mod routes;
mod sendgrid_retries;
mod sessions;
mod spec_form_keys;
mod webhook;
