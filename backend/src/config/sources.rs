//! Where settings come from: the only code that reads the process
//! environment, a settings file or AWS SSM. What it reads is handed to
//! the pure parser in [`super`].

use std::path::Path;

use super::{ALL, RawSettings, SettingsError};

impl RawSettings {
    /// Reads the settings file at `path` (if any), then the process
    /// environment on top.
    pub fn from_file_and_env(path: Option<&Path>) -> Result<Self, SettingsError> {
        let mut raw = match path {
            None => Self::env_named(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| SettingsError {
                    name: path.display().to_string(),
                    problem: format!("cannot read the settings file: {e}"),
                })?;
                Self::from_settings_text(&path.display().to_string(), &text)?
            }
        };
        raw.overlay_env();
        Ok(raw)
    }

    /// Every `DACHAT_*` setting present in the process environment replaces
    /// the value from any other source.
    pub fn overlay_env(&mut self) {
        for setting in ALL {
            if let Ok(value) = std::env::var(setting.env) {
                self.set(*setting, value);
            }
        }
    }
}

/// The stack name whose SSM parameters the Lambda reads (`STACK_NAME`).
pub fn stack_name() -> String {
    std::env::var("STACK_NAME")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "twilio-integration-dev".to_owned())
}

/// The AWS SDK configuration from the environment (region, credentials,
/// `AWS_ENDPOINT_URL`), with rustls on ring as its TLS stack.
pub async fn aws_config() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await
}

/// Reads every parameter under `/{stack}/` (decrypting SecureStrings),
/// then the environment on top.
pub async fn load_from_ssm(client: &aws_sdk_ssm::Client, stack: &str) -> Result<RawSettings, SettingsError> {
    let prefix = format!("/{stack}/");
    let parameters = read_ssm_folder(client, &prefix).await?;
    let mut raw = RawSettings::from_ssm(&prefix, parameters);
    raw.overlay_env();
    Ok(raw)
}

/// Every parameter under `prefix` (recursively, SecureStrings decrypted),
/// as (full name, value).
pub async fn read_ssm_folder(
    client: &aws_sdk_ssm::Client,
    prefix: &str,
) -> Result<Vec<(String, String)>, SettingsError> {
    let mut parameters = Vec::new();
    let mut pages = client
        .get_parameters_by_path()
        .path(prefix)
        .recursive(true)
        .with_decryption(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| SettingsError {
            name: prefix.to_owned(),
            problem: format!(
                "cannot read the SSM parameters: {}",
                aws_sdk_ssm::error::DisplayErrorContext(&e)
            ),
        })?;
        for parameter in page.parameters() {
            if let (Some(name), Some(value)) = (parameter.name(), parameter.value()) {
                parameters.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    Ok(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_settings_file_is_named() {
        let err = RawSettings::from_file_and_env(Some(Path::new("/nonexistent/dachat.env"))).unwrap_err();
        assert_eq!(err.name, "/nonexistent/dachat.env");
        assert!(
            err.problem.starts_with("cannot read the settings file"),
            "{}",
            err.problem
        );
    }
}
