//! The AWS Lambda entry point: settings from SSM, then the same router as
//! the local server, behind API Gateway (HTTP API, payload v2).

use std::sync::Arc;

use dachat_backend::app::{AppState, Policies, http_client};
use dachat_backend::config::{self, Settings, TwilioRequirement};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    dachat_backend::telemetry::init(true);
    let aws = config::aws_config().await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let raw = config::load_from_ssm(&ssm, &config::stack_name()).await?;
    let settings = Settings::parse(&raw, TwilioRequirement::Required)?;
    let state = AppState::new(&settings, http_client()?, Policies::default(), None)?;
    lambda_http::run(dachat_backend::api::router(Arc::new(state))).await
}
