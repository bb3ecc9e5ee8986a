//! The Lambda binary started the way Lambda starts it: `cargo lambda
//! watch` (started by `cargo xtask test`) runs `dachat-lambda` under its
//! Lambda Runtime API emulator; the binary reads its settings from SSM on
//! moto at start and answers real API Gateway v2 events sent through the
//! emulator's Invoke API. The only production start-up path no other test
//! runs.

use aws_sdk_ssm::types::ParameterType;
use serde_json::{Value, json};

use crate::support::*;

/// Sends `event` to the function through the emulator's Invoke API and
/// returns the API Gateway response the function answered.
async fn invoke(event: &Value) -> Value {
    let url = format!(
        "{}/2015-03-31/functions/dachat-lambda/invocations",
        crate::service("DACHAT_TEST_LAMBDA")
    );
    let answer = reqwest::Client::new()
        .post(url)
        .json(event)
        .timeout(std::time::Duration::from_secs(600))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "invoke: HTTP {}", answer.status());
    answer.json().await.unwrap()
}

fn event(path: &str, body: &Value) -> Value {
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/fixtures/apigw-v2-token.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["body"] = json!(body.to_string());
    event
}

#[tokio::test]
async fn the_lambda_binary_starts_from_ssm_and_answers_api_gateway_events() {
    let stack = crate::service("DACHAT_TEST_LAMBDA_STACK");
    let host = HostKey::new("lambda-kid");
    let jwks = JwksServer::start(vec![host.standard_jwk()]).await;
    let ssm = aws_sdk_ssm::Client::new(&backend::config::aws_config().await);
    let p = |name: &str| format!("/{stack}/{name}");
    crate::put_parameter(&ssm, &p("chat/jwks.json"), &jwks.url, ParameterType::String).await;
    crate::put_parameter(&ssm, &p("twilio/accountSID"), ACCOUNT_SID, ParameterType::String).await;
    crate::put_parameter(&ssm, &p("twilio/apiKey"), API_KEY_SID, ParameterType::String).await;
    crate::put_parameter(
        &ssm,
        &p("twilio/apiSecret"),
        API_KEY_SECRET,
        ParameterType::SecureString,
    )
    .await;
    crate::put_parameter(&ssm, &p("twilio/chatServiceSID"), SERVICE_SID, ParameterType::String).await;

    // the first invocation starts the function: it reads SSM now
    let session = invoke(&event(
        "/v1/session",
        &json!({ "token": host.token("lambda-alice", &["general"]), "context": "general", "deviceId": "phone" }),
    ))
    .await;
    assert_eq!(session["statusCode"], 200, "{session}");
    let body: Value = serde_json::from_str(session["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["provider"], "twilio");
    assert_eq!(body["identity"], "lambda-alice");
    let grants = jwt_payload(body["accessToken"].as_str().unwrap());
    assert_eq!(grants["grants"]["chat"]["service_sid"], SERVICE_SID);

    let refused = invoke(&event("/v1/token", &json!({ "token": "not-a-jwt" }))).await;
    assert_eq!(refused["statusCode"], 401, "{refused}");
    let error: Value = serde_json::from_str(refused["body"].as_str().unwrap()).unwrap();
    assert_eq!(error["error"], "invalid_token");
}
