//! The AWS Lambda entry point: settings from SSM, then the same router as
//! the local server, behind API Gateway (HTTP API, payload v2).
//!
//! Notification e-mail (subscriptions, the Twilio webhook's events) is on
//! when its settings are there (`backend::notify::production`); otherwise the start
//! logs why it is off and those routes answer 503 saying so. The last
//! aligned room sets are kept in the same table for every instance to see
//! (`backend::twilio::aligned_dynamo`).
//!
//! A setting that is missing or wrong stops the start with one log line
//! naming it (and, for an SSM parameter, the command that sets it); a
//! good start logs how long it took, and how much of that was SSM.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use backend::api::{self, HttpOptions};
use backend::app::{AppState, Deps};
use backend::config::{self, Settings, TwilioRequirement};
use backend::http_client;

#[tokio::main]
async fn main() -> ExitCode {
    let started = Instant::now();
    backend::telemetry::init(true);
    let aws = config::aws_config().await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let asked = Instant::now();
    let raw = match config::load_from_ssm(&ssm, &config::stack_name()).await {
        Ok(raw) => raw,
        Err(e) => return cannot_start(&e),
    };
    let ssm_ms = asked.elapsed().as_secs_f64() * 1e3;
    let settings = match Settings::parse(&raw, TwilioRequirement::Required) {
        Ok(settings) => settings,
        Err(e) => return cannot_start(&e),
    };
    let http = match http_client::build() {
        Ok(http) => http,
        Err(e) => return cannot_start(&e),
    };
    let mut deps = Deps::new(http.clone());
    deps.notify = backend::notify::production::production(&settings, &http, &aws, deps.clock.clone(), None)
        .map(|n| n as Arc<dyn backend::notify::Notify>);
    if let Err(why) = &deps.notify {
        tracing::info!("{why}");
    }
    // every instance sees the others' alignments (the stack always sets the table)
    deps.aligned = settings.notify_table.as_ref().map(|table| {
        Arc::new(backend::twilio::aligned_dynamo::DynamoAligned::new(
            aws_sdk_dynamodb::Client::new(&aws),
            table.clone(),
        )) as Arc<dyn backend::twilio::aligned::AlignedStore>
    });
    // moderation on Twilio keeps its mutes, reports and record there too
    deps.moderation = settings.notify_table.as_ref().map(|table| {
        Arc::new(backend::twilio::moderation_dynamo::DynamoModeration::new(
            aws_sdk_dynamodb::Client::new(&aws),
            table.clone(),
        )) as Arc<dyn backend::twilio::moderation::ModerationStore>
    });
    // reports on Twilio, e-mailed to the operator through SendGrid
    deps.report_mail = match (&settings.sendgrid, settings.report_address.as_deref()) {
        (Some(sendgrid), Some(address)) => match backend::notify::email_address::EmailAddress::parse(address) {
            Ok(to) => Some(backend::notify::report_mail::ReportMail {
                mailer: Arc::new(backend::notify::sendgrid::SendgridClient::new(
                    http.clone(),
                    sendgrid,
                    &settings.notify.product,
                    backend::http_client::RetryPolicy::default(),
                )),
                to,
                product: settings.notify.product.clone(),
            }),
            Err(e) => {
                tracing::error!(error = %e, "chat/reportAddress is not an e-mail address: reports are not e-mailed");
                None
            }
        },
        _ => None,
    };
    let state = match AppState::new(&settings, deps) {
        Ok(state) => state,
        Err(e) => return cannot_start(&e),
    };
    let init_ms = started.elapsed().as_secs_f64() * 1e3;
    tracing::info!(
        init_ms = format!("{init_ms:.1}"),
        ssm_ms = format!("{ssm_ms:.1}"),
        without_ssm_ms = format!("{:.1}", init_ms - ssm_ms),
        "dachat-lambda is ready"
    );
    match lambda_http::run(api::router(Arc::new(state), HttpOptions::from_settings(&settings))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cannot_start(&*e),
    }
}

fn cannot_start(error: &dyn std::fmt::Display) -> ExitCode {
    tracing::error!("cannot start: {error}");
    ExitCode::FAILURE
}
