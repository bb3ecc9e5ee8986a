//! Settings from AWS SSM, read by the production code path (the Lambda's
//! `config::aws_config` and `config::load_from_ssm`) from moto.

use aws_sdk_ssm::types::ParameterType;
use backend::config::{self, ProviderSettings, Settings, TwilioRequirement};

use crate::support::*;

async fn ssm() -> aws_sdk_ssm::Client {
    // the endpoint is moto's, from AWS_ENDPOINT_URL
    crate::service("AWS_ENDPOINT_URL");
    aws_sdk_ssm::Client::new(&config::aws_config().await)
}

#[tokio::test]
async fn the_lambda_reads_its_settings_from_ssm() {
    let client = ssm().await;
    let stack = format!("dachat-test-{}", std::process::id());
    let p = |name: &str| format!("/{stack}/{name}");
    crate::put_parameter(
        &client,
        &p("chat/jwks.json"),
        "https://toolbox.example/.well-known/jwks.json",
        ParameterType::String,
    )
    .await;
    crate::put_parameter(&client, &p("twilio/accountSID"), ACCOUNT_SID, ParameterType::String).await;
    crate::put_parameter(&client, &p("twilio/apiKey"), API_KEY_SID, ParameterType::String).await;
    crate::put_parameter(
        &client,
        &p("twilio/apiSecret"),
        API_KEY_SECRET,
        ParameterType::SecureString,
    )
    .await;
    crate::put_parameter(&client, &p("twilio/authToken"), AUTH_TOKEN, ParameterType::SecureString).await;
    crate::put_parameter(&client, &p("twilio/chatServiceSID"), SERVICE_SID, ParameterType::String).await;
    crate::put_parameter(&client, &p("sendgrid/apiKey"), "SG.test", ParameterType::SecureString).await;
    crate::put_parameter(
        &client,
        &p("sendgrid/domain"),
        "mail.toolbox.example",
        ParameterType::String,
    )
    .await;
    // a parameter of another stack is not read
    crate::put_parameter(
        &client,
        &format!("/{stack}-other/twilio/apiSecret"),
        "other",
        ParameterType::SecureString,
    )
    .await;

    let raw = config::load_from_ssm(&client, &stack).await.unwrap();
    let settings = Settings::parse(&raw, TwilioRequirement::Required).unwrap();
    assert_eq!(settings.jwks_url, "https://toolbox.example/.well-known/jwks.json");
    let ProviderSettings::Twilio(twilio) = &settings.provider else {
        panic!("expected Twilio settings")
    };
    assert_eq!(twilio.account_sid, ACCOUNT_SID);
    assert_eq!(twilio.api_key_secret.expose(), API_KEY_SECRET, "SecureString decrypted");
    assert_eq!(twilio.auth_token.as_ref().unwrap().expose(), AUTH_TOKEN);
    let sendgrid = settings.sendgrid.as_ref().unwrap();
    assert_eq!(
        (sendgrid.api_key.expose(), sendgrid.domain.as_str()),
        ("SG.test", "mail.toolbox.example")
    );
}

#[tokio::test]
async fn a_missing_parameter_is_named_at_start_up() {
    let client = ssm().await;
    let stack = format!("dachat-missing-{}", std::process::id());
    let p = |name: &str| format!("/{stack}/{name}");
    crate::put_parameter(
        &client,
        &p("chat/jwks.json"),
        "https://toolbox.example/jwks.json",
        ParameterType::String,
    )
    .await;
    crate::put_parameter(&client, &p("twilio/accountSID"), ACCOUNT_SID, ParameterType::String).await;
    crate::put_parameter(&client, &p("twilio/apiKey"), API_KEY_SID, ParameterType::String).await;
    let raw = config::load_from_ssm(&client, &stack).await.unwrap();
    let err = Settings::parse(&raw, TwilioRequirement::Required).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "setting /{stack}/twilio/apiSecret: is missing \
             (aws ssm put-parameter --name /{stack}/twilio/apiSecret --type SecureString --value …)"
        )
    );
    // an invalid value is named too
    crate::put_parameter(&client, &p("twilio/apiSecret"), "s", ParameterType::SecureString).await;
    crate::put_parameter(&client, &p("twilio/authToken"), "a", ParameterType::SecureString).await;
    crate::put_parameter(&client, &p("twilio/chatServiceSID"), "not-a-sid", ParameterType::String).await;
    let raw = config::load_from_ssm(&client, &stack).await.unwrap();
    let err = Settings::parse(&raw, TwilioRequirement::Required).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("setting /{stack}/twilio/chatServiceSID: must be IS followed by 32 hexadecimal digits")
    );
}
