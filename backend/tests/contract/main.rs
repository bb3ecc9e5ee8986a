//! Contract tests against real programs on 127.0.0.1, started by
//! `cargo xtask test` (which passes their addresses in the environment):
//! Prism serving Twilio's OpenAPI description (as a mock, and as a
//! validating proxy in front of our Twilio stand-in), moto for AWS SSM,
//! and Twilio's official helper library (PyPI `twilio`) for access tokens.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

mod dynamo_store;
mod lambda_runtime;
mod prism_mock;
mod prism_proxy;
mod sendgrid;
mod ssm;
mod twilio_helper;

/// The address of a service `cargo xtask test` started.
pub fn service(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: the contract tests need the services that `cargo xtask test` starts")
    })
}

/// Puts an SSM parameter (overwriting), as an operator's `aws ssm put-parameter` does.
pub async fn put_parameter(
    client: &aws_sdk_ssm::Client,
    name: &str,
    value: &str,
    kind: aws_sdk_ssm::types::ParameterType,
) {
    client
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}
