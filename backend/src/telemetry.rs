//! Log set-up: one line per event, filtered by `RUST_LOG` (default `info`).
//! Nothing logs request bodies, headers or tokens; see `api::log_errors`.

use tracing_subscriber::EnvFilter;

/// `json` for CloudWatch (Lambda), plain text for a terminal.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // colours for a terminal only, not for a log file or CloudWatch
        .with_ansi(!json && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // A second init (tests) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
