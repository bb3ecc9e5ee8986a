//! What DAChat's tests, benchmarks and `xtask` share, written once:
//!
//! - [`process`]: child processes started on free loopback ports, waited on
//!   until they accept connections, and stopped by PID (SIGTERM, then
//!   SIGKILL) when dropped, pass or fail;
//! - `ws` (feature `ws`): a WebSocket client for the local provider's
//!   frames, with a timeout on every read.
//!
//! Never linked into the service or the widget.

pub mod process;
#[cfg(feature = "ws")]
pub mod ws;

pub use process::{Supervised, free_port};
