//! A small client for the Twilio Conversations REST API v1, limited to the
//! operations provisioning needs, all under one Conversations service.
//!
//! Every request has a timeout; 429 and 5xx answers and connection failures
//! are retried with exponential backoff (honouring a short `Retry-After`).
//! What is sent is checked against Twilio's own OpenAPI description by the
//! contract tests (`FORM_KEYS` lists every form key per operation).
//!
//! Besides provisioning, the service's own settings for `dachat
//! configure`: its roles, default roles, reachability and webhooks; and
//! what the notifier reads (`reads.rs`).

mod erase;
mod reads;

use serde::Deserialize;

pub use erase::{ListedMedia, ListedMessage, Page, ServiceConversation};
pub use reads::{MessageSummary, UserConversation};

use crate::config::TwilioSettings;
use crate::domain::{ContextName, Identity};
use crate::http_client;

use crate::http_client::RetryPolicy;
use crate::secret::Secret;

/// The largest response body read (a page of 50 participations is ~50 KB).
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Why a call failed, once retries are used up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestError {
    /// Twilio could not be reached, timed out, or kept answering 429/5xx.
    Unavailable(String),
    /// Twilio answered in a way we cannot use (4xx other than the expected
    /// ones, e.g. 401 for bad credentials; or an unreadable body).
    Rejected(String),
}

impl std::fmt::Display for RestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "Twilio is unavailable: {why}"),
            Self::Rejected(why) => write!(f, "Twilio rejected a request: {why}"),
        }
    }
}

impl std::error::Error for RestError {}

/// The operations used, and the form keys each sends (checked against the spec).
pub const FORM_KEYS: &[(&str, &str, &[&str])] = &[
    ("post", "/v1/Services/{ChatServiceSid}/Users", &["Identity"]),
    (
        "post",
        "/v1/Services/{ChatServiceSid}/Conversations",
        &["UniqueName", "FriendlyName"],
    ),
    (
        "post",
        "/v1/Services/{ChatServiceSid}/Conversations/{ConversationSid}/Participants",
        &["Identity"],
    ),
    (
        "post",
        "/v1/Services/{ChatServiceSid}/Configuration",
        &[
            "DefaultConversationCreatorRoleSid",
            "DefaultConversationRoleSid",
            "DefaultChatServiceRoleSid",
            "ReachabilityEnabled",
        ],
    ),
    ("post", "/v1/Services/{ChatServiceSid}/Roles/{Sid}", &["Permission"]),
    (
        "post",
        "/v1/Services/{ChatServiceSid}/Roles",
        &["FriendlyName", "Type", "Permission"],
    ),
    (
        "post",
        "/v1/Services/{ChatServiceSid}/Conversations/{ConversationSid}/Participants/{Sid}",
        &["RoleSid"],
    ),
    (
        "post",
        "/v1/Services/{ChatServiceSid}/Configuration/Webhooks",
        &["PostWebhookUrl", "Filters", "Method"],
    ),
    (
        "post",
        "/v1/Services/{ChatServiceSid}/Conversations/{ConversationSid}/Messages",
        &["Author", "Body", "Attributes"],
    ),
    (
        "post",
        "/v1/Services/{ChatServiceSid}/Conversations/{ConversationSid}/Messages/{Sid}",
        &["Author"],
    ),
];

/// The service's default roles and reachability (`/Configuration`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServiceConfiguration {
    pub default_conversation_creator_role_sid: String,
    pub default_conversation_role_sid: String,
    pub default_chat_service_role_sid: String,
    #[serde(default)]
    pub reachability_enabled: bool,
}

/// A role and its permissions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Role {
    pub sid: String,
    pub friendly_name: String,
    /// `service` or `conversation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub permissions: Vec<String>,
}

#[derive(Deserialize)]
struct RolePage {
    roles: Vec<Role>,
    meta: PageMeta,
}

/// The service-scoped webhook (`/Configuration/Webhooks`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServiceWebhooks {
    pub pre_webhook_url: Option<String>,
    pub post_webhook_url: Option<String>,
    #[serde(default)]
    pub filters: Vec<String>,
    pub method: Option<String>,
}

/// A conversation, as far as provisioning cares.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Conversation {
    pub sid: String,
}

/// One of a user's participations, from `ParticipantConversations`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Participation {
    pub conversation_sid: String,
    pub participant_sid: String,
    pub conversation_unique_name: Option<String>,
}

#[derive(Deserialize)]
struct ParticipationPage {
    conversations: Vec<Participation>,
    meta: PageMeta,
}

#[derive(Deserialize)]
struct PageMeta {
    next_page_url: Option<String>,
}

/// The outcome of a create: made now, or there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    AlreadyExists,
}

impl Created {
    fn of(made_now: bool) -> Self {
        if made_now { Self::New } else { Self::AlreadyExists }
    }
}

#[derive(Debug, Clone)]
pub struct ConversationsClient {
    http: reqwest::Client,
    base_url: String,
    service_path: String,
    api_key_sid: String,
    api_key_secret: Secret,
    retry: RetryPolicy,
}

/// An answer to use: its status and its whole body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// Percent-encodes one path segment (our identities and context names are
/// already restricted to safe characters; this keeps it so for any input).
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl ConversationsClient {
    pub fn new(http: reqwest::Client, settings: &TwilioSettings, retry: RetryPolicy) -> Self {
        Self {
            http,
            base_url: settings.base_url.clone(),
            service_path: format!("/v1/Services/{}", segment(&settings.chat_service_sid)),
            api_key_sid: settings.api_key_sid.clone(),
            api_key_secret: settings.api_key_secret.clone(),
            retry,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        form: &[(&str, &str)],
    ) -> Result<Answer, RestError> {
        self.call_with(method, path_and_query, form, &[]).await
    }

    /// [`Self::call`] with extra request headers.
    async fn call_with(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Result<Answer, RestError> {
        self.call_with_policy(&self.retry, method, path_and_query, form, headers)
            .await
    }

    /// [`Self::call_with`] retried as `policy` says.
    async fn call_with_policy(
        &self,
        policy: &RetryPolicy,
        method: reqwest::Method,
        path_and_query: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Result<Answer, RestError> {
        let url = format!("{}{}", self.base_url, path_and_query);
        let answer = http_client::send_with_retry(policy, "Twilio", MAX_RESPONSE_BYTES, || {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .basic_auth(&self.api_key_sid, Some(self.api_key_secret.expose()));
            if !form.is_empty() {
                request = request.form(form);
            }
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request
        })
        .await
        .map_err(RestError::Unavailable)?;
        let body = answer.body.map_err(RestError::Unavailable)?;
        Ok(Answer {
            status: answer.status,
            body,
        })
    }

    fn parse<T: for<'de> Deserialize<'de>>(answer: &Answer, what: &str) -> Result<T, RestError> {
        serde_json::from_slice(&answer.body).map_err(|_| RestError::Rejected(format!("unreadable {what} body")))
    }

    fn unexpected(answer: &Answer, what: &str) -> RestError {
        RestError::Rejected(format!("HTTP {} for {what}", answer.status))
    }

    /// GETs a resource: `Some` for 200, `None` for 404 (it does not exist).
    async fn fetch(&self, path: &str, what: &str) -> Result<Option<Answer>, RestError> {
        let answer = self.call(reqwest::Method::GET, path, &[]).await?;
        match answer.status {
            200 => Ok(Some(answer)),
            404 => Ok(None),
            _ => Err(Self::unexpected(&answer, &format!("fetch {what}"))),
        }
    }

    /// POSTs a new resource: `Some` when made now (200, 201), `None` when it
    /// exists already (409).
    async fn create(&self, path: &str, form: &[(&str, &str)], what: &str) -> Result<Option<Answer>, RestError> {
        let answer = self.call(reqwest::Method::POST, path, form).await?;
        match answer.status {
            200 | 201 => Ok(Some(answer)),
            409 => Ok(None),
            _ => Err(Self::unexpected(&answer, &format!("create {what}"))),
        }
    }

    /// Get-or-create: the resource at `path`, made under `parent` with
    /// `form` when it does not exist. "Already exists" (409: another
    /// session created it between our fetch and our create) is success too,
    /// answered `None`, as no body is at hand then.
    async fn ensure(
        &self,
        path: &str,
        parent: &str,
        form: &[(&str, &str)],
        what: &str,
    ) -> Result<Option<Answer>, RestError> {
        match self.fetch(path, what).await? {
            Some(answer) => Ok(Some(answer)),
            None => self.create(parent, form, what).await,
        }
    }

    fn user_path(&self, identity: &Identity) -> (String, String) {
        let parent = format!("{}/Users", self.service_path);
        (format!("{parent}/{}", segment(identity.as_str())), parent)
    }

    fn conversation_path(&self, context: &ContextName) -> (String, String) {
        let parent = format!("{}/Conversations", self.service_path);
        (format!("{parent}/{}", segment(context.as_str())), parent)
    }

    fn participant_path(&self, conversation_sid: &str, identity: &Identity) -> (String, String) {
        let parent = format!(
            "{}/Conversations/{}/Participants",
            self.service_path,
            segment(conversation_sid)
        );
        (format!("{parent}/{}", segment(identity.as_str())), parent)
    }

    /// Whether the user exists.
    pub async fn user_exists(&self, identity: &Identity) -> Result<bool, RestError> {
        Ok(self.fetch(&self.user_path(identity).0, "user").await?.is_some())
    }

    pub async fn create_user(&self, identity: &Identity) -> Result<Created, RestError> {
        let (_, parent) = self.user_path(identity);
        let made = self.create(&parent, &[("Identity", identity.as_str())], "user").await?;
        Ok(Created::of(made.is_some()))
    }

    /// Makes sure the user exists.
    pub async fn ensure_user(&self, identity: &Identity) -> Result<(), RestError> {
        let (path, parent) = self.user_path(identity);
        self.ensure(&path, &parent, &[("Identity", identity.as_str())], "user")
            .await
            .map(|_| ())
    }

    /// The conversation whose unique name is `context`, if there is one.
    pub async fn fetch_conversation(&self, context: &ContextName) -> Result<Option<Conversation>, RestError> {
        match self.fetch(&self.conversation_path(context).0, "conversation").await? {
            Some(answer) => Self::parse(&answer, "conversation").map(Some),
            None => Ok(None),
        }
    }

    /// Creates the conversation for `context`; `Ok(None)` when it already exists.
    pub async fn create_conversation(&self, context: &ContextName) -> Result<Option<Conversation>, RestError> {
        let (_, parent) = self.conversation_path(context);
        let form = [("UniqueName", context.as_str()), ("FriendlyName", context.as_str())];
        match self.create(&parent, &form, "conversation").await? {
            Some(answer) => Self::parse(&answer, "conversation").map(Some),
            None => Ok(None),
        }
    }

    /// The conversation whose unique name is `context`, created if needed.
    pub async fn ensure_conversation(&self, context: &ContextName) -> Result<Conversation, RestError> {
        let (path, parent) = self.conversation_path(context);
        let form = [("UniqueName", context.as_str()), ("FriendlyName", context.as_str())];
        let answer = match self.ensure(&path, &parent, &form, "conversation").await? {
            Some(answer) => answer,
            None => self
                .fetch(&path, "conversation")
                .await?
                .ok_or_else(|| RestError::Rejected("conversation exists but cannot be fetched".into()))?,
        };
        Self::parse(&answer, "conversation")
    }

    /// Gives `identity`'s participation in `conversation_sid` the
    /// conversation role `role_sid` (a moderator's, a muted member's, or
    /// the service's default back).
    pub async fn set_participant_role(
        &self,
        conversation_sid: &str,
        identity: &Identity,
        role_sid: &str,
    ) -> Result<(), RestError> {
        let (path, _) = self.participant_path(conversation_sid, identity);
        self.write(&path, &[("RoleSid", role_sid)], "the participant's role")
            .await
    }

    pub async fn participant_exists(&self, conversation_sid: &str, identity: &Identity) -> Result<bool, RestError> {
        let (path, _) = self.participant_path(conversation_sid, identity);
        Ok(self.fetch(&path, "participant").await?.is_some())
    }

    pub async fn create_participant(&self, conversation_sid: &str, identity: &Identity) -> Result<Created, RestError> {
        let (_, parent) = self.participant_path(conversation_sid, identity);
        let made = self
            .create(&parent, &[("Identity", identity.as_str())], "participant")
            .await?;
        Ok(Created::of(made.is_some()))
    }

    /// Makes sure the user takes part in the conversation.
    pub async fn ensure_participant(&self, conversation_sid: &str, identity: &Identity) -> Result<(), RestError> {
        let (path, parent) = self.participant_path(conversation_sid, identity);
        self.ensure(&path, &parent, &[("Identity", identity.as_str())], "participant")
            .await
            .map(|_| ())
    }

    /// Every conversation of the service the user takes part in (all pages).
    pub async fn participations(&self, identity: &Identity) -> Result<Vec<Participation>, RestError> {
        let path = format!(
            "{}/ParticipantConversations?Identity={}&PageSize=50",
            self.service_path,
            segment(identity.as_str())
        );
        // A user is in at most a few hundred rooms; `pages` stops a
        // misbehaving server from keeping us paging forever.
        self.pages(path, "participations", |p: ParticipationPage| (p.conversations, p.meta))
            .await
    }

    pub async fn remove_participant(&self, conversation_sid: &str, participant_sid: &str) -> Result<(), RestError> {
        let path = format!(
            "{}/Conversations/{}/Participants/{}",
            self.service_path,
            segment(conversation_sid),
            segment(participant_sid)
        );
        let answer = self.call(reqwest::Method::DELETE, &path, &[]).await?;
        match answer.status {
            200 | 204 | 404 => Ok(()),
            _ => Err(Self::unexpected(&answer, "remove participant")),
        }
    }
}

/// The service's own settings (`dachat configure`).
impl ConversationsClient {
    async fn read<T: for<'de> Deserialize<'de>>(&self, path: &str, what: &str) -> Result<T, RestError> {
        let answer = self.call(reqwest::Method::GET, path, &[]).await?;
        match answer.status {
            200 => Self::parse(&answer, what),
            _ => Err(Self::refused(&answer, &format!("read {what}"))),
        }
    }

    async fn write(&self, path: &str, form: &[(&str, &str)], what: &str) -> Result<(), RestError> {
        let answer = self.call(reqwest::Method::POST, path, form).await?;
        match answer.status {
            200..=202 => Ok(()),
            _ => Err(Self::refused(&answer, &format!("update {what}"))),
        }
    }

    /// An error with Twilio's own message, when its body has one.
    fn refused(answer: &Answer, what: &str) -> RestError {
        let message = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|body| body["message"].as_str().map(str::to_owned));
        match message {
            Some(message) => RestError::Rejected(format!("HTTP {} for {what}: {message}", answer.status)),
            None => Self::unexpected(answer, what),
        }
    }

    pub async fn service_configuration(&self) -> Result<ServiceConfiguration, RestError> {
        self.read(
            &format!("{}/Configuration", self.service_path),
            "the service configuration",
        )
        .await
    }

    pub async fn update_service_configuration(&self, form: &[(&str, &str)]) -> Result<(), RestError> {
        self.write(
            &format!("{}/Configuration", self.service_path),
            form,
            "the service configuration",
        )
        .await
    }

    /// Every role of the service (all pages).
    pub async fn roles(&self) -> Result<Vec<Role>, RestError> {
        let mut roles = Vec::new();
        let mut next = Some(format!("{}/Roles?PageSize=50", self.service_path));
        while let Some(path) = next.take() {
            let page: RolePage = self.read(&path, "the roles").await?;
            roles.extend(page.roles);
            next = page.meta.next_page_url.as_deref().and_then(path_and_query);
        }
        Ok(roles)
    }

    /// Creates a role of `kind` (`conversation` or `service`) named
    /// `friendly_name` with `permissions`; answers it as Twilio made it.
    pub async fn create_role(&self, friendly_name: &str, kind: &str, permissions: &[&str]) -> Result<Role, RestError> {
        let mut form = vec![("FriendlyName", friendly_name), ("Type", kind)];
        form.extend(permissions.iter().map(|p| ("Permission", *p)));
        let what = format!("role {friendly_name:?}");
        match self
            .create(&format!("{}/Roles", self.service_path), &form, &what)
            .await?
        {
            Some(answer) => Self::parse(&answer, &what),
            None => Err(RestError::Rejected(format!("{what} exists already (409)"))),
        }
    }

    /// Replaces the permissions of role `sid`.
    pub async fn update_role(&self, sid: &str, permissions: &[&str]) -> Result<(), RestError> {
        let form: Vec<(&str, &str)> = permissions.iter().map(|p| ("Permission", *p)).collect();
        self.write(
            &format!("{}/Roles/{}", self.service_path, segment(sid)),
            &form,
            &format!("role {sid}"),
        )
        .await
    }

    pub async fn service_webhooks(&self) -> Result<ServiceWebhooks, RestError> {
        self.read(
            &format!("{}/Configuration/Webhooks", self.service_path),
            "the service webhooks",
        )
        .await
    }

    pub async fn update_service_webhooks(&self, form: &[(&str, &str)]) -> Result<(), RestError> {
        self.write(
            &format!("{}/Configuration/Webhooks", self.service_path),
            form,
            "the service webhooks",
        )
        .await
    }
}

/// The path and query of an absolute next-page URL, so paging stays on the
/// configured base URL (Twilio's `next_page_url` names its public host).
fn path_and_query(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let mut out = parsed.path().to_owned();
    if let Some(q) = parsed.query() {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("alice@example.org"), "alice%40example.org");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment("shipment-1_x"), "shipment-1_x");
    }

    #[test]
    fn next_page_urls_keep_only_path_and_query() {
        assert_eq!(
            path_and_query("https://conversations.twilio.com/v1/Services/IS1/ParticipantConversations?Identity=a&PageSize=50&Page=1&PageToken=PT1").as_deref(),
            Some("/v1/Services/IS1/ParticipantConversations?Identity=a&PageSize=50&Page=1&PageToken=PT1")
        );
        assert_eq!(path_and_query("not a url"), None);
    }
}
