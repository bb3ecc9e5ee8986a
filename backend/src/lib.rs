//! DAChat's token service: turns a host-signed JWT into a chat session.
//!
//! The core is [`api::router`], one axum router that the Lambda binary
//! (`dachat-lambda`) and the local server (`dachat serve`) both run. See
//! ARCHITECTURE.md for the map; the modules, from the outside in:
//!
//! - [`api`]: routes, JSON bodies, the one error rendering ([`error`]);
//! - [`app`]: state and the two operations (open a session, renew a token);
//! - [`host_jwt`], [`keys`], [`twilio_token`]: pure token logic;
//! - [`jwks`], [`twilio_rest`], [`provision`]: the only outbound I/O;
//! - [`config`]: the only reader of the environment, files and SSM;
//! - [`cli`]: the operator and developer commands.

pub mod api;
pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod host_jwt;
pub mod jwks;
pub mod keys;
pub mod provision;
pub mod telemetry;
pub mod twilio_rest;
pub mod twilio_token;
