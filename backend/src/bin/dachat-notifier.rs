//! The notification sweep as an AWS Lambda, invoked once a minute by an
//! EventBridge schedule (one at a time: reserved concurrency 1; see
//! ARCHITECTURE.md, "Notification timing"). Settings as the token service
//! reads them (SSM, then the environment); each invocation runs one sweep
//! within a 45-second budget (the function's timeout is 60 s) and logs what
//! it did. Without its settings it does not start, and says which is
//! missing.

use std::process::ExitCode;
use std::time::Duration;

use backend::config::{self, Settings, TwilioRequirement};
use backend::notify::Notify as _;
use lambda_http::{LambdaEvent, service_fn};

/// How long one sweep may work; the rest stays due for the next minute.
const SWEEP_BUDGET: Duration = Duration::from_secs(45);

#[tokio::main]
async fn main() -> ExitCode {
    backend::telemetry::init(true);
    let aws = config::aws_config().await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let raw = match config::load_from_ssm(&ssm, &config::stack_name()).await {
        Ok(raw) => raw,
        Err(e) => return cannot_start(&e),
    };
    let settings = match Settings::parse(&raw, TwilioRequirement::Required) {
        Ok(settings) => settings,
        Err(e) => return cannot_start(&e),
    };
    let http = match backend::http_client::build() {
        Ok(http) => http,
        Err(e) => return cannot_start(&e),
    };
    let clock = backend::clock::Clock::system();
    let notifier = match backend::notify::production::production(&settings, &http, &aws, clock, Some(SWEEP_BUDGET)) {
        Ok(notifier) => notifier,
        Err(why) => return cannot_start(&why),
    };
    tracing::info!("dachat-notifier is ready");
    let handler = service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let notifier = notifier.clone();
        async move {
            let report = notifier
                .sweep()
                .await
                .map_err(|e| lambda_http::Error::from(e.to_string()))?;
            tracing::info!(
                people = report.people,
                emails = report.emails,
                requests = report.requests,
                refused = report.refused,
                deferred = report.deferred,
                events = report.events,
                "notification sweep"
            );
            Ok::<_, lambda_http::Error>(serde_json::json!({
                "people": report.people,
                "emails": report.emails,
                "requests": report.requests,
                "deferred": report.deferred,
                "events": report.events,
            }))
        }
    });
    match lambda_http::lambda_runtime::run(handler).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cannot_start(&*e),
    }
}

fn cannot_start(error: &dyn std::fmt::Display) -> ExitCode {
    tracing::error!("cannot start: {error}");
    ExitCode::FAILURE
}
