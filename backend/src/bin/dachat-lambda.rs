//! The AWS Lambda entry point: settings from SSM, then the same router as
//! the local server, behind API Gateway (HTTP API, payload v2).

use std::sync::Arc;

use backend::api::{self, HttpOptions};
use backend::app::{AppState, Deps};
use backend::config::{self, Settings, TwilioRequirement};
use backend::http_client;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    backend::telemetry::init(true);
    let aws = config::aws_config().await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let raw = config::load_from_ssm(&ssm, &config::stack_name()).await?;
    let settings = Settings::parse(&raw, TwilioRequirement::Required)?;
    let state = AppState::new(&settings, Deps::new(http_client::build()?))?;
    lambda_http::run(api::router(Arc::new(state), HttpOptions::from_settings(&settings))).await
}
