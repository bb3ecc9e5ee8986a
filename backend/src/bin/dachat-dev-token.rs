//! The dev-extras Lambda: signs host JWTs with the key in SSM under
//! `/${STACK_NAME}-dev-extras/chat-development/` (see [`backend::api::dev_token`]).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    backend::telemetry::init(true);
    let aws = backend::config::aws_config().await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let key = match backend::api::dev_token::load_from_ssm(&ssm, &backend::config::stack_name()).await {
        Ok(key) => key,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match lambda_http::run(backend::api::dev_token::router(key, backend::clock::Clock::system())).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}
