//! The service's state and its operations (verify a host token, open a
//! session, renew a token), independent of HTTP: they return [`AppError`],
//! which the HTTP layer (`api`, `error`) turns into a response. Clients
//! (HTTP, Twilio REST, JWKS) are built here once, in [`AppState::new`], and
//! injected; handlers never build them.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{ProviderSettings, Settings, SettingsError};
use crate::domain::{AccessToken, ContextName, DeviceId, Identity, InvalidValue};
use crate::http_client::RetryPolicy;
use crate::notify::{Notify, NotifyError};
use crate::tokens::es256::KeySet;
use crate::tokens::host_jwt::{self, HostClaims, HostTokenError, VerifyOptions};
use crate::tokens::jwks::{JwksCache, JwksPolicy, JwksUnavailable};
use crate::tokens::local_token::LocalTokenKey;
use crate::tokens::twilio_token::Minter;
use crate::twilio::aligned::AlignedStore;
use crate::twilio::moderation::{ModerationError, ModerationStore, TwilioModeration};

mod moderation;
mod notify;
use crate::twilio::provision::{ProvisionError, ProvisionPolicy, Provisioner};
use crate::twilio::rest::{ConversationsClient, RestError};

/// A session's answer, before it is rendered as JSON.
#[derive(Debug, Clone)]
pub struct Session {
    pub claims: HostClaims,
    pub context: ContextName,
    pub conversation_sid: String,
    pub token: AccessToken,
    pub provider: protocol::Provider,
}

/// Why an operation failed, in the service's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// A request value (context, device) is malformed.
    InvalidValue(InvalidValue),
    /// The host token does not verify.
    InvalidToken(HostTokenError),
    /// The token is good but does not list the context.
    ContextNotAllowed,
    /// The identity opened too many sessions that cost Twilio calls.
    RateLimited {
        retry_after_secs: u64,
    },
    /// The host's JWKS cannot be fetched and no earlier keys are at hand.
    KeysUnavailable(JwksUnavailable),
    /// Twilio failed or refused.
    Chat(RestError),
    /// The embedded local provider's store failed (log-safe description).
    LocalRooms(String),
    /// A Twilio webhook arrived, but this service has no Twilio settings.
    NoTwilio,
    /// A Twilio webhook arrived, but `twilio/authToken` is not set (what
    /// to tell the operator).
    WebhooksNotConfigured(String),
    /// A Twilio webhook's `X-Twilio-Signature` is missing or wrong.
    InvalidSignature,
    /// This service sends no notification e-mails (what is missing).
    NotifyOff(String),
    Notify(NotifyError),
    /// A one-click unsubscribe link that is not ours (or was cut short).
    BadUnsubscribeLink,
    /// An inbound e-mail POST without the right `?key=`.
    BadInboundKey,
    /// A moderator's action by someone the host token does not name a
    /// moderator of the room.
    NotModerator,
    /// This service carries no moderation through its API (why).
    ModerationOff(String),
    Moderation(ModerationError),
}

impl From<NotifyError> for AppError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::ContextNotAllowed => Self::ContextNotAllowed,
            other => Self::Notify(other),
        }
    }
}

impl From<HostTokenError> for AppError {
    fn from(e: HostTokenError) -> Self {
        Self::InvalidToken(e)
    }
}

impl From<JwksUnavailable> for AppError {
    fn from(e: JwksUnavailable) -> Self {
        Self::KeysUnavailable(e)
    }
}

impl From<ProvisionError> for AppError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            ProvisionError::Rest(e) => Self::Chat(e),
        }
    }
}

/// Room membership in the embedded local provider (the `local-chat`
/// crate implements it; the Lambda never has one).
pub trait LocalRooms: Send + Sync {
    /// Grants `identity` membership of `context`, and takes away every room
    /// not in `allowed` (revocation). The error is a log-safe description.
    fn grant(&self, identity: &Identity, context: &ContextName, allowed: &[ContextName]) -> Result<(), String>;

    /// Takes away every room not in `allowed` (a renewal: nothing granted).
    fn revoke_except(&self, identity: &Identity, allowed: &[ContextName]) -> Result<(), String>;

    /// The rooms `identity` moderates become exactly `rooms` (the host
    /// token's `moderates`), on every token path as membership is.
    fn moderate(&self, identity: &Identity, rooms: &[ContextName]) -> Result<(), String>;
}

/// The embedded local provider, as the token service sees it: where
/// membership is recorded, and the key its access tokens are signed with.
#[derive(Clone)]
pub struct LocalProvider {
    pub rooms: Arc<dyn LocalRooms>,
    pub tokens: LocalTokenKey,
}

impl std::fmt::Debug for LocalProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalProvider").finish_non_exhaustive()
    }
}

/// Where sessions get their rooms and tokens.
enum Provider {
    Twilio {
        provisioner: Box<Provisioner>,
        minter: Box<Minter>,
        /// Moderation through the API, with its store (none: not carried).
        moderation: Option<Box<TwilioModeration>>,
    },
    Local(LocalProvider),
}

/// Tunables that are not settings (tests shorten them).
#[derive(Debug, Clone, Default)]
pub struct Policies {
    pub jwks: JwksPolicy,
    pub retry: RetryPolicy,
    pub provision: ProvisionPolicy,
}

/// What [`AppState::new`] is built from besides the settings.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The one outbound HTTP client ([`crate::http_client::build`]).
    pub http: reqwest::Client,
    pub policies: Policies,
    pub clock: Clock,
    /// Trust these keys instead of fetching the settings' JWKS URL (the
    /// local server's own dev key).
    pub fixed_keys: Option<KeySet>,
    /// The embedded local provider; required exactly when the settings
    /// name no Twilio service.
    pub local: Option<LocalProvider>,
    /// Notification e-mails (built by the composition: store, provider
    /// view and mailer differ between the Lambda and the local server), or
    /// why there are none.
    pub notify: Result<Arc<dyn Notify>, String>,
    /// Where the Twilio provider keeps the last aligned room sets for every
    /// instance to see (the notifications' table on Lambda, SQLite in the
    /// local server); `None`: each instance remembers its own.
    pub aligned: Option<Arc<dyn AlignedStore>>,
    /// Where moderation on Twilio is kept (the notifications' table on
    /// Lambda, the chat database in the local server); `None`: moderators
    /// act only on the local provider.
    pub moderation: Option<Arc<dyn ModerationStore>>,
    /// Where a report on Twilio is e-mailed (`DACHAT_REPORT_ADDRESS`), if
    /// anywhere.
    pub report_mail: Option<crate::notify::report_mail::ReportMail>,
}

impl Deps {
    /// Default policies, the system clock, keys from the JWKS URL, no local provider.
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            policies: Policies::default(),
            clock: Clock::system(),
            fixed_keys: None,
            local: None,
            notify: Err("notification e-mails are not set up on this server".into()),
            aligned: None,
            moderation: None,
            report_mail: None,
        }
    }
}

/// A webhook's body as Twilio signs it.
#[derive(Debug, Clone, Copy)]
pub enum WebhookBody<'a> {
    /// Form-encoded: the parameters are signed.
    Form(&'a [(String, String)]),
    /// JSON: covered by the `bodySHA256` in the signed URL.
    Json(&'a [u8]),
}

/// The path of Twilio's post-event webhook under the API's public URL
/// (what `dachat configure` registers).
pub const TWILIO_WEBHOOK_PATH: &str = "/v1/webhooks/twilio";

/// What checks Twilio's webhook signatures: the auth token, and the URL the
/// webhook is registered at. Twilio signs every webhook of an account with
/// the same token, so the URL is the configured one, never one rebuilt from
/// the request's `Host` or `X-Forwarded-Proto` (a webhook signed for another
/// endpoint of the account would pass with a matching `Host`).
enum WebhookKey {
    NoTwilio,
    Missing(String),
    AuthToken {
        token: crate::secret::Secret,
        /// `<chat/publicUrl>/v1/webhooks/twilio`
        url: String,
    },
}

pub struct AppState {
    notify: Result<Arc<dyn Notify>, String>,
    /// What SendGrid Inbound Parse's URL must carry; `None`: replies by
    /// e-mail do not come in over HTTP here.
    inbound_key: Option<crate::secret::Secret>,
    webhook_key: WebhookKey,
    verify: VerifyOptions,
    jwks: JwksCache,
    provider: Provider,
    ttl: std::time::Duration,
    clock: Clock,
    attachments: crate::config::AttachmentSettings,
    report_mail: Option<crate::notify::report_mail::ReportMail>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// The clock the service decides time by (shared with the HTTP layer's limits).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Builds every client once.
    pub fn new(settings: &Settings, deps: Deps) -> Result<Self, SettingsError> {
        let Deps {
            http,
            policies,
            clock,
            fixed_keys,
            local,
            notify,
            aligned,
            moderation,
            report_mail,
        } = deps;
        let jwks = match fixed_keys {
            Some(keys) => JwksCache::fixed(keys),
            None => JwksCache::new(settings.jwks_url.clone(), http.clone(), policies.jwks, clock.clone()),
        };
        let ttl = settings.access_token_ttl;
        let provider = match (&settings.provider, local) {
            (ProviderSettings::Twilio(twilio), _) => Provider::Twilio {
                minter: Box::new(
                    Minter::new(
                        &twilio.account_sid,
                        &twilio.api_key_sid,
                        &twilio.api_key_secret,
                        &twilio.chat_service_sid,
                        ttl,
                    )
                    .map_err(|e| SettingsError {
                        name: crate::config::TWILIO_API_SECRET.env.to_owned(),
                        problem: e.to_string(),
                    })?,
                ),
                moderation: moderation.map(|store| {
                    Box::new(TwilioModeration::new(
                        ConversationsClient::new(http.clone(), twilio, policies.retry.clone()),
                        store,
                        clock.clone(),
                    ))
                }),
                provisioner: Box::new({
                    let provisioner = Provisioner::new(
                        ConversationsClient::new(http, twilio, policies.retry),
                        policies.provision,
                        clock.clone(),
                    );
                    match aligned {
                        Some(store) => provisioner.with_shared(store),
                        None => provisioner,
                    }
                }),
            },
            (ProviderSettings::Local, Some(local)) => Provider::Local(local),
            (ProviderSettings::Local, None) => {
                return Err(SettingsError {
                    name: crate::config::TWILIO_ACCOUNT_SID.env.to_owned(),
                    problem: "is missing: without Twilio settings only the local server, with its embedded chat provider, can run".into(),
                });
            }
        };
        let webhook_key = match &settings.provider {
            ProviderSettings::Twilio(twilio) => match (&twilio.auth_token, &settings.notify.public_url) {
                (Some(token), Some(public_url)) => WebhookKey::AuthToken {
                    token: token.clone(),
                    url: format!("{public_url}{TWILIO_WEBHOOK_PATH}"),
                },
                (None, _) => WebhookKey::Missing(twilio.auth_token_missing.clone()),
                (Some(_), None) => WebhookKey::Missing(format!(
                    "setting {} is missing: the API's public base URL, as `dachat configure --api` registered it (signatures are checked against it)",
                    settings.notify.names.public_url
                )),
            },
            ProviderSettings::Local => WebhookKey::NoTwilio,
        };
        Ok(Self {
            notify,
            inbound_key: settings.notify.inbound_key.clone(),
            webhook_key,
            verify: settings.verify.clone(),
            jwks,
            provider,
            ttl,
            clock,
            attachments: settings.attachments.clone(),
            report_mail,
        })
    }

    /// What may be attached (the operator's settings).
    pub fn attachments(&self) -> &crate::config::AttachmentSettings {
        &self.attachments
    }

    /// Checks that a webhook request carries Twilio's signature over the
    /// registered webhook URL with the request's `query` (Twilio adds
    /// `bodySHA256` to a JSON webhook's) and its body. Nothing of the
    /// request but its query and body goes into the signed text.
    pub fn check_twilio_webhook(
        &self,
        query: Option<&str>,
        body: WebhookBody<'_>,
        signature: Option<&str>,
    ) -> Result<(), AppError> {
        let (token, registered) = match &self.webhook_key {
            WebhookKey::NoTwilio => return Err(AppError::NoTwilio),
            WebhookKey::Missing(hint) => return Err(AppError::WebhooksNotConfigured(hint.clone())),
            WebhookKey::AuthToken { token, url } => (token, url),
        };
        let Some(signature) = signature else {
            return Err(AppError::InvalidSignature);
        };
        let url = match query {
            Some(query) => format!("{registered}?{query}"),
            None => registered.clone(),
        };
        let signed = match body {
            WebhookBody::Form(params) => crate::twilio::signature::verify(token, &url, params, signature),
            WebhookBody::Json(bytes) => crate::twilio::signature::verify_json(token, &url, bytes, signature),
        };
        if signed {
            Ok(())
        } else {
            Err(AppError::InvalidSignature)
        }
    }

    /// Verifies a host token: form and header, key by `kid`, signature, claims.
    pub async fn verify_host_token(&self, token: &str) -> Result<HostClaims, AppError> {
        let unverified = host_jwt::parse(token)?;
        let key = self
            .jwks
            .key_for(unverified.kid())
            .await?
            .ok_or(HostTokenError::UnknownKid)?;
        Ok(unverified.verify(&key, &self.verify, self.clock.now_secs())?)
    }

    /// `POST /v1/session`: verify, check the context, provision, mint.
    pub async fn open_session(&self, token: &str, context: &str, device: Option<&str>) -> Result<Session, AppError> {
        let context = ContextName::parse(context).map_err(AppError::InvalidValue)?;
        let device = parse_device(device)?;
        let claims = self.verify_host_token(token).await?;
        if !claims.allows(&context) {
            return Err(AppError::ContextNotAllowed);
        }
        let (conversation_sid, provider) = match &self.provider {
            Provider::Twilio {
                provisioner,
                moderation,
                ..
            } => {
                let sid = provisioner
                    .session(&claims.identity, &context, &claims.contexts)
                    .await?;
                lift_due_mutes(moderation.as_deref(), &claims.identity).await;
                (sid, protocol::Provider::Twilio)
            }
            Provider::Local(local) => {
                local
                    .rooms
                    .grant(&claims.identity, &context, &claims.contexts)
                    .map_err(AppError::LocalRooms)?;
                local
                    .rooms
                    .moderate(&claims.identity, &claims.moderates)
                    .map_err(AppError::LocalRooms)?;
                (context.as_str().to_owned(), protocol::Provider::Local)
            }
        };
        let token = self.mint(&claims.identity, &device);
        Ok(Session {
            claims,
            context,
            conversation_sid,
            token,
            provider,
        })
    }

    /// `POST /v1/token`: verify, bring memberships in line with the token's
    /// contexts (as a session does), and mint.
    pub async fn renew_token(&self, token: &str, device: Option<&str>) -> Result<AccessToken, AppError> {
        let device = parse_device(device)?;
        let claims = self.verify_host_token(token).await?;
        match &self.provider {
            Provider::Twilio {
                provisioner,
                moderation,
                ..
            } => {
                provisioner
                    .align(&claims.identity, &claims.contexts)
                    .await
                    .map_err(AppError::Chat)?;
                lift_due_mutes(moderation.as_deref(), &claims.identity).await;
            }
            Provider::Local(local) => {
                local
                    .rooms
                    .revoke_except(&claims.identity, &claims.contexts)
                    .map_err(AppError::LocalRooms)?;
                local
                    .rooms
                    .moderate(&claims.identity, &claims.moderates)
                    .map_err(AppError::LocalRooms)?;
            }
        }
        Ok(self.mint(&claims.identity, &device))
    }

    fn mint(&self, identity: &Identity, device: &DeviceId) -> AccessToken {
        let now = self.clock.now_secs();
        match &self.provider {
            Provider::Twilio { minter, .. } => minter.mint(identity, device, now),
            Provider::Local(local) => local.tokens.mint(identity, device, now, self.ttl),
        }
    }
}

/// Lifts the identity's mutes past their end (a token path). A failure
/// is logged, not the request's: the mute lasts until the next path.
async fn lift_due_mutes(moderation: Option<&TwilioModeration>, identity: &Identity) {
    if let Some(moderation) = moderation
        && let Err(e) = moderation.lift_due(identity).await
    {
        tracing::warn!(%identity, error = ?e, "a mute past its end could not be lifted yet");
    }
}

fn parse_device(device: Option<&str>) -> Result<DeviceId, AppError> {
    match device {
        None => Ok(DeviceId::web()),
        Some(d) => DeviceId::parse(d).map_err(AppError::InvalidValue),
    }
}
