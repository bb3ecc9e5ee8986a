//! The operator commands against real programs on 127.0.0.1 that `cargo
//! xtask test` starts (it passes their addresses in the environment):
//! `dachat publish` against S3 on moto, through a recording proxy that can
//! refuse chosen uploads; `dachat configure` against the Twilio stand-in
//! behind Prism's validating proxy; notification e-mail from `dachat
//! serve` over SMTP to aiosmtpd.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod configure;
mod moderation_log;
mod proxy;
mod publish;
mod smtp;
#[path = "../support/mod.rs"]
mod support;

/// The address of a service `cargo xtask test` started.
pub fn service(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: the operator tests need the services that `cargo xtask test` starts")
    })
}

pub use support::DACHAT;

/// A fresh, empty temporary folder.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    testkit::serve::temp_dir(&format!("operator-{name}")).unwrap()
}
