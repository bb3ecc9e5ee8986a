//! DAChat's token service: turns a host-signed JWT into a chat session.
//!
//! The core is [`api::router`], one axum router that the Lambda binary
//! (`dachat-lambda`) and the local server (`dachat serve`, in the `cli`
//! crate) both run. See ARCHITECTURE.md for the map. The modules, from the
//! outside in; each imports only modules below it:
//!
//! - [`api`]: routes and JSON bodies; [`error`]: the one error rendering;
//!   [`telemetry`]: log output; [`dev_token`]: the dev-extras stack's own
//!   small router (host JWTs for trying a deployed stage);
//! - [`app`]: state and the operations (open a session, renew a token);
//! - [`notifier`]: the notifications' operations (subscriptions, the
//!   digest loop) over the store, the chat provider and a mailer;
//!   [`notify_twilio`]: what it reads of Twilio; [`compose`]: the
//!   production notifier (DynamoDB, Twilio, SendGrid) or why it is off;
//! - [`provision`] (Twilio users, conversations, participants and the
//!   session rate limit) over [`twilio_rest`]; [`jwks`]; [`sendgrid`]
//!   (mail out); all over [`http_client`], the only outbound I/O;
//!   [`mail`]: digests rendered as e-mails (pure); [`digest_plan`]: who
//!   gets a digest when (pure); [`unsubscribe_link`]: signed one-click
//!   unsubscribe links (pure); [`codes`]: address
//!   confirmation codes (pure); [`notify_store`]: what notifications keep
//!   (the trait; SQLite in `local-chat`, DynamoDB in [`notify_dynamo`]);
//! - [`config`]: settings, parsed by pure code from what
//!   [`config::sources`] (the only reader of the environment, files and
//!   SSM) reads;
//! - [`host_jwt`], [`keys`], [`twilio_token`], [`local_token`], [`hs256`],
//!   [`twilio_signature`]: pure token and signature logic;
//! - [`domain`], [`secret`], [`clock`], [`limits`], [`rate_limit`]: plain
//!   values and counters.

pub mod api;
pub mod app;
pub mod clock;
pub mod codes;
pub mod compose;
pub mod config;
pub mod dev_token;
pub mod digest_plan;
pub mod domain;
pub mod email_address;
pub mod error;
pub mod host_jwt;
pub mod hs256;
pub mod http_client;
pub mod inbound;
pub mod jwks;
pub mod keys;
pub mod limits;
pub mod local_token;
pub mod mail;
pub mod notifier;
pub mod notify_dynamo;
pub mod notify_store;
pub mod notify_twilio;
pub mod provision;
pub mod rate_limit;
pub mod reply_address;
pub mod reply_text;
pub mod secret;
pub mod sendgrid;
pub mod telemetry;
pub mod twilio_rest;
pub mod twilio_signature;
pub mod twilio_token;
pub mod unsubscribe_link;
