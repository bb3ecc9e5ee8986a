//! DAChat's backend: the token service (a host-signed JWT in, a chat
//! session out), Twilio provisioning, and e-mail notifications.
//!
//! The core is [`api::router`], one axum router that the Lambda binary
//! (`dachat-lambda`) and the local server (`dachat serve`, in the `cli`
//! crate) both run. ARCHITECTURE.md has the map. Four folders by concern,
//! over a shared base, from the outside in; each imports only what is
//! below it (`cargo xtask tidy` checks this, `LAYERS`):
//!
//! - the HTTP layer: [`api`] (routes, JSON bodies, the one error
//!   rendering, the dev-extras router) over [`app`] (the service's state
//!   and operations, independent of HTTP);
//! - [`notify`]: e-mail notifications: subscriptions and codes, the digest
//!   sweep, replies by e-mail, their store and mail providers;
//! - [`twilio`]: Twilio's REST API, provisioning, webhook signatures;
//! - [`config`]: settings, parsed by pure code from what
//!   [`config::sources`] (the only reader of the environment, files and
//!   SSM) reads;
//! - [`tokens`]: host JWTs checked, the JWKS cached, access tokens minted;
//! - the shared base: [`domain`] (validated values), [`secret`],
//!   [`clock`], [`rate_limit`], [`http_client`] (the only outbound HTTP,
//!   with the one retry loop), [`telemetry`] (log set-up).

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod domain;
pub mod dynamo;
pub mod http_client;
pub mod notify;
pub mod rate_limit;
pub mod secret;
pub mod telemetry;
pub mod tokens;
pub mod twilio;
