//! The notification sweep as an AWS Lambda, invoked once a minute by an
//! EventBridge schedule (one at a time: reserved concurrency 1; see
//! ARCHITECTURE.md, "Notification timing"). Settings as the token service
//! reads them (SSM, then the environment); each invocation runs one sweep
//! within a 45-second budget (the function's timeout is 60 s) and logs what
//! it did. It also deletes messages past their room's retention
//! (`chat/retention`, issue #30) on Twilio: within 10 s after the sweep,
//! once an hour, going on each minute until a run has looked at every
//! room; each finished walk also removes the reply addresses of digests
//! older than their room's retention (through the table's `reply-routes`
//! index, without a scan). Without its settings (notifications or a retention) it does not
//! start, and says which is missing.

use std::process::ExitCode;
use std::time::Duration;

use backend::config::{self, Settings, TwilioRequirement};
use backend::http_client::RetryPolicy;
use backend::notify::Notify as _;
use backend::twilio::rest::ConversationsClient;
use lambda_http::{LambdaEvent, service_fn};

/// How long one sweep may work; the rest stays due for the next minute.
const SWEEP_BUDGET: Duration = Duration::from_secs(45);

/// How long the retention's deletions may take in one invocation (after
/// the sweep, within the function's 60 s).
const RETENTION_BUDGET: Duration = Duration::from_secs(10);

/// How often the retention's walk starts over once it has finished.
const RETENTION_EVERY_MS: u64 = 3_600_000;

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
    let notifier =
        match backend::notify::production::production(&settings, &http, &aws, clock.clone(), Some(SWEEP_BUDGET)) {
            Ok(notifier) => Some(notifier),
            Err(why) if settings.retention.is_on() => {
                tracing::info!("{why}; deleting old messages only");
                None
            }
            Err(why) => return cannot_start(&why),
        };
    let retention = match (&settings.provider, settings.retention.is_on()) {
        (config::ProviderSettings::Twilio(twilio), true) => Some(std::sync::Arc::new(Retention {
            client: ConversationsClient::new(http.clone(), twilio, RetryPolicy::default()),
            rules: settings.retention.clone(),
            clock,
            finished_at: std::sync::Mutex::new(None),
        })),
        _ => None,
    };
    tracing::info!("dachat-notifier is ready");
    let handler = service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let (notifier, retention) = (notifier.clone(), retention.clone());
        async move {
            if let Some(retention) = retention
                && retention.run_if_due().await
                && let Some(notifier) = &notifier
            {
                match notifier.expire_reply_routes(&retention.rules).await {
                    Ok(gone) => {
                        tracing::info!(gone, "retention: reply addresses of rooms past their retention removed")
                    }
                    Err(e) => tracing::warn!(error = %e, "retention: could not remove old reply addresses; next hour"),
                }
            }
            let Some(notifier) = notifier else {
                return Ok::<_, lambda_http::Error>(serde_json::json!({ "sweep": "off" }));
            };
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

/// The retention's state in this instance.
struct Retention {
    client: ConversationsClient,
    rules: config::Retention,
    clock: backend::clock::Clock,
    /// When a walk last looked at every room (Unix ms).
    finished_at: std::sync::Mutex<Option<u64>>,
}

impl Retention {
    /// Deletes old messages when a walk is due; `true` when this one
    /// finished looking at every room.
    async fn run_if_due(&self) -> bool {
        let now = self.clock.now_ms();
        let last = *self.finished_at.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| now.saturating_sub(at) < RETENTION_EVERY_MS) {
            return false;
        }
        match backend::twilio::retention::expire(&self.client, &self.rules, &self.clock, RETENTION_BUDGET).await {
            Ok(done) => {
                tracing::info!(
                    rooms = done.rooms,
                    deleted = done.deleted,
                    finished = done.done,
                    "retention: messages past their room's retention deleted"
                );
                if done.done {
                    *self.finished_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
                }
                done.done
            }
            Err(e) => {
                tracing::warn!(error = %e, "retention: Twilio failed; trying again next minute");
                false
            }
        }
    }
}

fn cannot_start(error: &dyn std::fmt::Display) -> ExitCode {
    tracing::error!("cannot start: {error}");
    ExitCode::FAILURE
}
