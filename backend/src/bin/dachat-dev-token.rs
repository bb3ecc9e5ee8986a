//! The dev-extras Lambda: signs host JWTs with the key in SSM under
//! `/${STACK_NAME}-dev-extras/chat-development/` (see [`backend::dev_token`]).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    backend::telemetry::init(true);
    let aws = backend::config::aws_config().await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let key = backend::dev_token::load_from_ssm(&ssm, &backend::config::stack_name()).await?;
    lambda_http::run(backend::dev_token::router(key, backend::clock::Clock::system())).await
}
