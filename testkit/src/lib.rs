//! What DAChat's tests, benchmarks and `xtask` share, written once:
//!
//! - [`process`]: child processes started on free loopback ports, waited on
//!   until they accept connections, and stopped by PID (SIGTERM, then
//!   SIGKILL) when dropped, pass or fail;
//! - [`serve`]: the real `dachat serve` with dev keys, the one way tests
//!   and benchmarks start it;
//! - `http` (feature `http`): the one `post_json`;
//! - `fault` (feature `fault`): a fault-injecting HTTP proxy (refuse,
//!   delay, reset after forwarding, answer a status) for the failure tests;
//! - `ws` (feature `ws`): a WebSocket client for the local provider's
//!   frames, with a timeout on every read.
//!
//! Never linked into the service or the widget.

#[cfg(feature = "fault")]
pub mod fault;
#[cfg(feature = "http")]
pub mod http;
pub mod process;
pub mod serve;
#[cfg(feature = "ws")]
pub mod ws;

pub use process::{Supervised, free_port};
