//! Settings: parsed once at start-up into typed values. This module is
//! pure parsing; [`sources`] is the only code that reads the environment, a
//! settings file or AWS SSM. Imports: the shared base and `tokens` (the
//! bounds a setting is checked against: the JWT leeway, Twilio's token
//! lifetimes); every feature folder above reads its settings from here.
//!
//! Every setting has a key (the SSM name under `/${STACK_NAME}/`, as in the
//! 2020 original) and an environment name. Sources:
//! - Lambda: the SSM parameters under `/${STACK_NAME}/` (decrypted), then the
//!   environment for the settings that are not secrets (`DACHAT_*`);
//! - local: a settings file of `NAME=value` lines (environment names), then
//!   the environment, which wins.
//!
//! A missing or invalid setting fails start-up with an error that names it
//! the way its source does (`/twilio-integration-dev/twilio/apiKey` or
//! `DACHAT_TWILIO_API_KEY`). Secrets are wrapped in [`Secret`], which never
//! prints its value.

mod attachments;
mod notify;
mod retention;
pub mod sources;

pub use attachments::{AttachmentSettings, DEFAULT_QUOTA_BYTES, MAX_MAX_BYTES};
pub use retention::{MAX_RETENTION_DAYS, Retention};
pub use sources::{aws_config, load_from_ssm, read_ssm_folder, stack_name};

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::secret::Secret;
use crate::tokens::host_jwt::{MAX_LEEWAY_SECS, VerifyOptions};
use crate::tokens::twilio_token::{MAX_TTL, MIN_TTL};

/// One setting: its key (SSM name), environment name, and whether it is secret.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub key: &'static str,
    pub env: &'static str,
    pub secret: bool,
}

macro_rules! settings {
    ($($name:ident = $key:literal, $env:literal, $secret:literal;)*) => {
        $(pub const $name: Setting = Setting { key: $key, env: $env, secret: $secret };)*
        /// Every setting, for docs and `--help`.
        pub const ALL: &[Setting] = &[$($name),*];
    };
}

settings! {
    JWKS_URL = "chat/jwks.json", "DACHAT_JWKS_URL", false;
    TWILIO_ACCOUNT_SID = "twilio/accountSID", "DACHAT_TWILIO_ACCOUNT_SID", false;
    TWILIO_API_KEY = "twilio/apiKey", "DACHAT_TWILIO_API_KEY", false;
    TWILIO_API_SECRET = "twilio/apiSecret", "DACHAT_TWILIO_API_SECRET", true;
    TWILIO_AUTH_TOKEN = "twilio/authToken", "DACHAT_TWILIO_AUTH_TOKEN", true;
    TWILIO_CHAT_SERVICE_SID = "twilio/chatServiceSID", "DACHAT_TWILIO_CHAT_SERVICE_SID", false;
    TWILIO_BASE_URL = "twilio/baseUrl", "DACHAT_TWILIO_BASE_URL", false;
    SENDGRID_API_KEY = "sendgrid/apiKey", "DACHAT_SENDGRID_API_KEY", true;
    SENDGRID_DOMAIN = "sendgrid/domain", "DACHAT_SENDGRID_DOMAIN", false;
    SENDGRID_BASE_URL = "sendgrid/baseUrl", "DACHAT_SENDGRID_BASE_URL", false;
    CORS_ORIGINS = "chat/corsOrigins", "DACHAT_CORS_ORIGINS", false;
    ACCESS_TOKEN_TTL = "chat/accessTokenTtlSeconds", "DACHAT_ACCESS_TOKEN_TTL", false;
    JWT_ISSUER = "chat/jwtIssuer", "DACHAT_JWT_ISSUER", false;
    JWT_AUDIENCE = "chat/jwtAudience", "DACHAT_JWT_AUDIENCE", false;
    JWT_LEEWAY = "chat/jwtLeewaySeconds", "DACHAT_JWT_LEEWAY", false;
    ACCEPT_DEV_TOKENS = "chat/acceptDevTokens", "DACHAT_ACCEPT_DEV_TOKENS", false;
    FAILED_AUTH_PER_MINUTE = "chat/failedAuthPerMinute", "DACHAT_FAILED_AUTH_PER_MINUTE", false;
    NOTIFY_TABLE = "chat/notifyTable", "DACHAT_NOTIFY_TABLE", false;
    NOTIFY_SECRET = "chat/notifySecret", "DACHAT_NOTIFY_SECRET", true;
    NOTIFY_DELAY = "chat/notifyDelaySeconds", "DACHAT_NOTIFY_DELAY", false;
    NOTIFY_LINK = "chat/notifyLink", "DACHAT_NOTIFY_LINK", false;
    PUBLIC_URL = "chat/publicUrl", "DACHAT_PUBLIC_URL", false;
    PRODUCT_NAME = "chat/productName", "DACHAT_PRODUCT_NAME", false;
    SMTP_URL = "chat/smtpUrl", "DACHAT_SMTP_URL", false;
    MAIL_FROM = "chat/mailFrom", "DACHAT_MAIL_FROM", false;
    NOTIFY_EXCERPTS = "chat/notifyExcerpts", "DACHAT_NOTIFY_EXCERPTS", false;
    REPLY_DOMAIN = "chat/replyDomain", "DACHAT_REPLY_DOMAIN", false;
    INBOUND_KEY = "chat/inboundKey", "DACHAT_INBOUND_KEY", true;
    SMTP_LISTEN = "chat/smtpListen", "DACHAT_SMTP_LISTEN", false;
    ATTACHMENT_TYPES = "chat/attachmentTypes", "DACHAT_ATTACHMENT_TYPES", false;
    ATTACHMENT_MAX_BYTES = "chat/attachmentMaxBytes", "DACHAT_ATTACHMENT_MAX_BYTES", false;
    ATTACHMENT_QUOTA_BYTES = "chat/attachmentQuotaBytes", "DACHAT_ATTACHMENT_QUOTA_BYTES", false;
    RETENTION = "chat/retention", "DACHAT_RETENTION", false;
    REPORT_ADDRESS = "chat/reportAddress", "DACHAT_REPORT_ADDRESS", false;
}

/// The default time away before a first e-mail.
pub const DEFAULT_NOTIFY_DELAY_SECS: u64 = 600;

/// The default product name in e-mail subjects and as the sender.
pub const DEFAULT_PRODUCT_NAME: &str = "DAChat";

/// The default SendGrid API base URL.
pub const SENDGRID_DEFAULT_BASE_URL: &str = "https://api.sendgrid.com";

/// The default Twilio Conversations API base URL.
pub const TWILIO_DEFAULT_BASE_URL: &str = "https://conversations.twilio.com";

/// A setting that is missing or invalid, named as its source names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub name: String,
    pub problem: String,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setting {}: {}", self.name, self.problem)
    }
}

impl std::error::Error for SettingsError {}

/// Raw values by setting key, each with the name its source gives it.
#[derive(Debug, Clone)]
pub struct RawSettings {
    values: HashMap<&'static str, (String, String)>,
    naming: Naming,
}

#[derive(Debug, Clone)]
enum Naming {
    Env,
    Ssm { prefix: String },
}

impl RawSettings {
    /// An empty set named like environment variables (tests start here).
    pub fn env_named() -> Self {
        Self {
            values: HashMap::new(),
            naming: Naming::Env,
        }
    }

    /// Sets a value as if it came from the environment.
    pub fn set(&mut self, setting: Setting, value: impl Into<String>) -> &mut Self {
        self.values.insert(setting.key, (value.into(), setting.env.to_owned()));
        self
    }

    /// Forgets `setting` (as if no source had it).
    pub fn remove(&mut self, setting: Setting) -> &mut Self {
        self.values.remove(setting.key);
        self
    }

    /// How the source of `setting` names it: the name its value came with,
    /// or, for a missing value, where it was expected.
    fn name_of(&self, setting: Setting) -> String {
        if let Some((_, name)) = self.values.get(setting.key) {
            return name.clone();
        }
        match &self.naming {
            Naming::Ssm { prefix } if is_ssm_setting(setting) => format!("{prefix}{}", setting.key),
            _ => setting.env.to_owned(),
        }
    }

    pub fn has(&self, setting: Setting) -> bool {
        self.get(setting).is_some()
    }

    /// The raw value, if set and not blank.
    pub fn get(&self, setting: Setting) -> Option<&str> {
        self.values
            .get(setting.key)
            .map(|(v, _)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    fn error(&self, setting: Setting, problem: impl Into<String>) -> SettingsError {
        SettingsError {
            name: self.name_of(setting),
            problem: problem.into(),
        }
    }

    /// The value, or an error naming the setting and, for an SSM
    /// parameter, the command that sets it.
    fn required(&self, setting: Setting) -> Result<&str, SettingsError> {
        self.get(setting).ok_or_else(|| {
            let name = self.name_of(setting);
            if name.starts_with('/') {
                let kind = if setting.secret { "SecureString" } else { "String" };
                self.error(
                    setting,
                    format!("is missing (aws ssm put-parameter --name {name} --type {kind} --value …)"),
                )
            } else {
                self.error(setting, "is missing")
            }
        })
    }

    /// Reads a settings file's text: `NAME=value` lines (environment
    /// names; `#` comments and blank lines allowed). `source` names the
    /// file in errors.
    pub fn from_settings_text(source: &str, text: &str) -> Result<Self, SettingsError> {
        let mut raw = Self::env_named();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                return Err(SettingsError {
                    name: format!("{source}:{}", n + 1),
                    problem: "expected NAME=value".into(),
                });
            };
            let setting = by_env_name(name.trim()).ok_or_else(|| SettingsError {
                name: format!("{source}:{}", n + 1),
                problem: format!("unknown setting {}", name.trim()),
            })?;
            raw.set(setting, value.trim());
        }
        Ok(raw)
    }

    /// Values read from SSM under `prefix` (e.g. `/twilio-integration-dev/`);
    /// parameter names that are not settings are ignored.
    pub fn from_ssm(prefix: &str, parameters: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut raw = Self {
            values: HashMap::new(),
            naming: Naming::Ssm {
                prefix: prefix.to_owned(),
            },
        };
        for (name, value) in parameters {
            if let Some(setting) = name.strip_prefix(prefix).and_then(by_key) {
                raw.values.insert(setting.key, (value, name));
            }
        }
        raw
    }
}

/// The settings the 2020 original kept in SSM; the rest come from the environment.
fn is_ssm_setting(setting: Setting) -> bool {
    setting.key.starts_with("twilio/") && setting.key != TWILIO_BASE_URL.key
        || setting.key.starts_with("sendgrid/") && setting.key != SENDGRID_BASE_URL.key
        || setting.key == JWKS_URL.key
        || setting.key == NOTIFY_SECRET.key
        || setting.key == INBOUND_KEY.key
}

fn by_env_name(name: &str) -> Option<Setting> {
    ALL.iter().copied().find(|s| s.env == name)
}

fn by_key(key: &str) -> Option<Setting> {
    ALL.iter().copied().find(|s| s.key == key)
}

/// Twilio credentials and the Conversations service.
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    pub account_sid: String,
    pub api_key_sid: String,
    pub api_key_secret: Secret,
    /// Twilio signs its webhooks with the account's auth token. Optional
    /// until a feature that checks webhooks is used: tokens and
    /// provisioning do not need it.
    pub auth_token: Option<Secret>,
    /// What to tell an operator when `auth_token` is needed and missing:
    /// the setting as its source names it, and the command that sets it.
    pub auth_token_missing: String,
    pub chat_service_sid: String,
    pub base_url: String,
}

#[derive(Debug, Clone)]
pub struct SendgridSettings {
    pub api_key: Secret,
    pub domain: String,
    /// `https://api.sendgrid.com` unless set (tests point it at a mock).
    pub base_url: String,
}

/// How notification e-mails behave. Whether they are on is the
/// composition's call (the local server always has a mailer; the Lambda
/// needs SendGrid and the table); what is missing then is named by
/// [`NotifySettings::require`].
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Keys codes and unsubscribe links (`chat/notifySecret`).
    pub secret: Option<Secret>,
    pub delay: Duration,
    /// The host's room URL with `{context}` (`chat/notifyLink`).
    pub link_template: Option<String>,
    /// The API's public base URL (`chat/publicUrl`): unsubscribe links, and
    /// the URL Twilio's webhook signatures are checked against.
    pub public_url: Option<String>,
    pub product: String,
    /// Local mode: an SMTP server (`smtp://host:port`); else the dev inbox.
    pub smtp_url: Option<String>,
    /// Local mode: the sender address over SMTP.
    pub mail_from: Option<String>,
    /// Digests quote the newest unread messages and their authors
    /// (`DACHAT_NOTIFY_EXCERPTS=on`; off by default: personal data).
    pub excerpts: bool,
    /// Where replies by e-mail arrive (`reply-<tag>@<domain>`): SendGrid
    /// Inbound Parse's host name in production, the local SMTP listener's
    /// domain locally. Unset: digests cannot be answered by e-mail.
    pub reply_domain: Option<String>,
    /// What SendGrid Inbound Parse's URL carries (`?key=`), so nobody else
    /// can post to it (`chat/inboundKey`, production).
    pub inbound_key: Option<Secret>,
    /// Local mode: where the SMTP listener for replies listens.
    pub smtp_listen: Option<std::net::SocketAddr>,
    /// How each setting is named by its source, for [`Self::require`].
    pub names: NotifyNames,
}

/// The notification settings' names as their source gives them.
#[derive(Debug, Clone, Default)]
pub struct NotifyNames {
    pub secret: String,
    pub link: String,
    pub public_url: String,
}

impl NotifySettings {
    /// The secret, link template and public URL, or an error naming the
    /// first that is missing.
    pub fn require(&self) -> Result<(Secret, String, String), SettingsError> {
        let missing = |name: &str| SettingsError {
            name: name.to_owned(),
            problem: "is missing (needed for notification e-mails)".into(),
        };
        Ok((
            self.secret.clone().ok_or_else(|| missing(&self.names.secret))?,
            self.link_template.clone().ok_or_else(|| missing(&self.names.link))?,
            self.public_url.clone().ok_or_else(|| missing(&self.names.public_url))?,
        ))
    }
}

/// Where chat happens.
#[derive(Debug, Clone)]
pub enum ProviderSettings {
    Twilio(TwilioSettings),
    /// The embedded local provider (no cloud account).
    Local,
}

/// Everything the service needs, typed and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub jwks_url: String,
    pub verify: VerifyOptions,
    pub provider: ProviderSettings,
    pub sendgrid: Option<SendgridSettings>,
    /// Exact origins allowed to call the API from a browser; empty means same origin only.
    pub cors_origins: Vec<String>,
    pub access_token_ttl: Duration,
    /// Invalid-token answers per client address per minute before 429 (0: off).
    pub failed_auth_per_minute: u32,
    /// The notifications' DynamoDB table (set by the stack); none locally.
    pub notify_table: Option<String>,
    pub notify: NotifySettings,
    pub attachments: AttachmentSettings,
    /// How long rooms' messages are kept (unset: for ever).
    pub retention: Retention,
    /// Where each report of a message is e-mailed (the operator), if anywhere.
    pub report_address: Option<String>,
}

/// Whether Twilio settings are required (Lambda) or optional (local: without
/// them the embedded local provider is used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwilioRequirement {
    Required,
    Optional,
}

impl Settings {
    pub fn parse(raw: &RawSettings, twilio: TwilioRequirement) -> Result<Self, SettingsError> {
        let jwks_url = parse_url(raw, JWKS_URL)?;
        let provider = parse_provider(raw, twilio)?;
        let sendgrid = match (raw.get(SENDGRID_API_KEY), raw.get(SENDGRID_DOMAIN)) {
            (None, None) => None,
            (Some(key), Some(domain)) => Some(SendgridSettings {
                api_key: Secret::new(key.to_owned()),
                domain: domain.to_owned(),
                base_url: match raw.get(SENDGRID_BASE_URL) {
                    Some(_) => parse_url(raw, SENDGRID_BASE_URL)?,
                    None => SENDGRID_DEFAULT_BASE_URL.to_owned(),
                },
            }),
            (None, Some(_)) => {
                return Err(raw.error(SENDGRID_API_KEY, "is missing (sendgrid/domain is set)"));
            }
            (Some(_), None) => {
                return Err(raw.error(SENDGRID_DOMAIN, "is missing (sendgrid/apiKey is set)"));
            }
        };
        let cors_origins = match raw.get(CORS_ORIGINS) {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|o| parse_origin(o).map_err(|p| raw.error(CORS_ORIGINS, p)))
                .collect::<Result<_, _>>()?,
        };
        let ttl_secs = parse_number(raw, ACCESS_TOKEN_TTL, 3600, "seconds")?;
        let access_token_ttl = Duration::from_secs(ttl_secs);
        if !(MIN_TTL..=MAX_TTL).contains(&access_token_ttl) {
            return Err(raw.error(
                ACCESS_TOKEN_TTL,
                format!(
                    "must be between {} and {} seconds (Twilio's limits)",
                    MIN_TTL.as_secs(),
                    MAX_TTL.as_secs()
                ),
            ));
        }
        let leeway_secs = parse_number(raw, JWT_LEEWAY, 30, "seconds")?;
        if leeway_secs > MAX_LEEWAY_SECS {
            return Err(raw.error(JWT_LEEWAY, format!("must be at most {MAX_LEEWAY_SECS} seconds")));
        }
        let failed_auth_per_minute = u32::try_from(parse_number(raw, FAILED_AUTH_PER_MINUTE, 30, "requests")?)
            .map_err(|_| raw.error(FAILED_AUTH_PER_MINUTE, "is too large"))?;
        let verify = VerifyOptions {
            issuer: raw.get(JWT_ISSUER).map(str::to_owned),
            audience: raw.get(JWT_AUDIENCE).map(str::to_owned),
            leeway_secs,
            accept_dev_tokens: parse_on_off(raw, ACCEPT_DEV_TOKENS)?,
        };
        Ok(Self {
            jwks_url,
            verify,
            provider,
            sendgrid,
            cors_origins,
            access_token_ttl,
            failed_auth_per_minute,
            notify_table: raw.get(NOTIFY_TABLE).map(str::to_owned),
            notify: notify::parse_notify(raw)?,
            attachments: attachments::parse_attachments(raw)?,
            retention: retention::parse_retention(raw)?,
            // checked to be an address where it is used (the notifier's rules)
            report_address: raw.get(REPORT_ADDRESS).map(|a| a.trim().to_owned()),
        })
    }
}

/// The Twilio settings alone (what `dachat configure` needs), all required.
pub fn parse_twilio(raw: &RawSettings) -> Result<TwilioSettings, SettingsError> {
    match parse_provider(raw, TwilioRequirement::Required)? {
        ProviderSettings::Twilio(twilio) => Ok(twilio),
        ProviderSettings::Local => Err(raw.error(TWILIO_ACCOUNT_SID, "is missing")),
    }
}

fn parse_provider(raw: &RawSettings, twilio: TwilioRequirement) -> Result<ProviderSettings, SettingsError> {
    let credentials = [
        TWILIO_ACCOUNT_SID,
        TWILIO_API_KEY,
        TWILIO_API_SECRET,
        TWILIO_AUTH_TOKEN,
        TWILIO_CHAT_SERVICE_SID,
    ];
    let any_set = credentials.iter().any(|s| raw.get(*s).is_some());
    if !any_set && twilio == TwilioRequirement::Optional {
        return Ok(ProviderSettings::Local);
    }
    let account_sid = parse_sid(raw, TWILIO_ACCOUNT_SID, "AC")?;
    let api_key_sid = parse_sid(raw, TWILIO_API_KEY, "SK")?;
    let api_key_secret = Secret::new(raw.required(TWILIO_API_SECRET)?.to_owned());
    let auth_token = raw.get(TWILIO_AUTH_TOKEN).map(|t| Secret::new(t.to_owned()));
    let auth_token_missing = raw
        .required(TWILIO_AUTH_TOKEN)
        .err()
        .map_or_else(String::new, |e| e.to_string());
    let chat_service_sid = parse_sid(raw, TWILIO_CHAT_SERVICE_SID, "IS")?;
    let base_url = match raw.get(TWILIO_BASE_URL) {
        Some(_) => parse_url(raw, TWILIO_BASE_URL)?,
        None => TWILIO_DEFAULT_BASE_URL.to_owned(),
    };
    Ok(ProviderSettings::Twilio(TwilioSettings {
        account_sid,
        api_key_sid,
        api_key_secret,
        auth_token,
        auth_token_missing,
        chat_service_sid,
        base_url,
    }))
}

fn parse_sid(raw: &RawSettings, setting: Setting, prefix: &str) -> Result<String, SettingsError> {
    let value = raw.required(setting)?.trim();
    let hex = value.strip_prefix(prefix).unwrap_or("");
    if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_owned())
    } else {
        Err(raw.error(setting, format!("must be {prefix} followed by 32 hexadecimal digits")))
    }
}

/// `on` or `off` (the default when unset).
fn parse_on_off(raw: &RawSettings, setting: Setting) -> Result<bool, SettingsError> {
    match raw.get(setting).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("off") => Ok(false),
        Some("on") => Ok(true),
        Some(_) => Err(raw.error(setting, "must be on or off")),
    }
}

fn parse_url(raw: &RawSettings, setting: Setting) -> Result<String, SettingsError> {
    let value = raw.required(setting)?.trim();
    let url = reqwest::Url::parse(value).map_err(|e| raw.error(setting, format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(raw.error(setting, "must be an http or https URL"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn parse_origin(origin: &str) -> Result<String, String> {
    if origin == "*" {
        return Err("must list origins explicitly; * is not accepted".into());
    }
    let url =
        reqwest::Url::parse(origin).map_err(|_| format!("{origin:?} is not an origin like https://example.org"))?;
    let is_origin = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && !origin.ends_with('/');
    if is_origin {
        Ok(origin.to_owned())
    } else {
        Err(format!(
            "{origin:?} is not an origin like https://example.org (scheme, host and port only)"
        ))
    }
}

/// A whole number of `unit`s, or `default` when the setting is absent.
fn parse_number(raw: &RawSettings, setting: Setting, default: u64, unit: &str) -> Result<u64, SettingsError> {
    match raw.get(setting) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| raw.error(setting, format!("must be a whole number of {unit}"))),
    }
}

#[cfg(test)]
mod tests;
