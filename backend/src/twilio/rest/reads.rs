//! What the notifier reads of Twilio (issue #14), through the same client:
//! a conversation's unique name (the webhook names conversations by SID),
//! its participants, a user's conversations with their unread counts,
//! read horizons and notification levels, a conversation's latest
//! messages, and whether a user is online (reachability, which `dachat
//! configure` turns on). Every list is paged to its end, with a bound.

use serde::Deserialize;

use super::{ConversationsClient, PageMeta, RestError, path_and_query, segment};
use crate::http_client::RetryPolicy;

/// One of a user's conversations (`Users/{identity}/Conversations`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserConversation {
    pub conversation_sid: String,
    pub unique_name: Option<String>,
    #[serde(default)]
    pub unread_messages_count: Option<u64>,
    pub last_read_message_index: Option<i64>,
    /// `default` or `muted`.
    pub notification_level: Option<String>,
}

/// A message, as far as the notifier cares (its body only for excerpts,
/// which are off unless the operator turns them on).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MessageSummary {
    pub index: i64,
    pub author: Option<String>,
    pub body: Option<String>,
    /// RFC 3339, as Twilio writes it.
    pub date_created: Option<String>,
    /// The message's attributes (a JSON object as text).
    #[serde(default)]
    pub attributes: Option<String>,
}

impl MessageSummary {
    /// The key a post by DAChat carries in its attributes (`email`).
    fn posted_key(&self) -> Option<String> {
        let attributes: serde_json::Value = serde_json::from_str(self.attributes.as_deref()?).ok()?;
        attributes.get("email")?.as_str().map(str::to_owned)
    }
}

#[derive(Deserialize)]
struct UniqueName {
    unique_name: Option<String>,
}

#[derive(Deserialize)]
struct Identityful {
    identity: Option<String>,
}

#[derive(Deserialize)]
struct ParticipantPage {
    participants: Vec<Identityful>,
    meta: PageMeta,
}

#[derive(Deserialize)]
struct UserConversationPage {
    conversations: Vec<UserConversation>,
    meta: PageMeta,
}

#[derive(Deserialize)]
struct MessagePage {
    messages: Vec<MessageSummary>,
}

#[derive(Deserialize)]
struct Online {
    is_online: Option<bool>,
}

/// The most pages a list is followed (50 a page).
const MAX_PAGES: usize = 40;

impl ConversationsClient {
    /// Every page of a list at `path` (at most [`MAX_PAGES`]), each split
    /// by `split` into its items and the page's links.
    pub(super) async fn pages<T, P: for<'de> Deserialize<'de>>(
        &self,
        mut path: String,
        what: &str,
        split: impl Fn(P) -> (Vec<T>, PageMeta),
    ) -> Result<Vec<T>, RestError> {
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let answer = self.call(reqwest::Method::GET, &path, &[]).await?;
            if answer.status != 200 {
                return Err(Self::unexpected(&answer, &format!("list {what}")));
            }
            let (items, meta) = split(Self::parse(&answer, what)?);
            all.extend(items);
            match meta.next_page_url.as_deref().and_then(path_and_query) {
                Some(next) => path = next,
                None => return Ok(all),
            }
        }
        Err(RestError::Rejected(format!("too many pages of {what}")))
    }

    /// The unique name (our context) of conversation `sid`; `None` when it
    /// has none or does not exist.
    pub async fn conversation_unique_name(&self, sid: &str) -> Result<Option<String>, RestError> {
        let path = format!("{}/Conversations/{}", self.service_path, segment(sid));
        match self.fetch(&path, "conversation").await? {
            Some(answer) => Ok(Self::parse::<UniqueName>(&answer, "conversation")?.unique_name),
            None => Ok(None),
        }
    }

    /// The identities taking part in `conversation` (SID or unique name).
    pub async fn participant_identities(&self, conversation: &str) -> Result<Vec<String>, RestError> {
        let path = format!(
            "{}/Conversations/{}/Participants?PageSize=50",
            self.service_path,
            segment(conversation)
        );
        let all = self
            .pages(path, "participants", |p: ParticipantPage| (p.participants, p.meta))
            .await?;
        Ok(all.into_iter().filter_map(|p| p.identity).collect())
    }

    /// `identity`'s conversations with their unread state.
    pub async fn user_conversations(&self, identity: &str) -> Result<Vec<UserConversation>, RestError> {
        let path = format!(
            "{}/Users/{}/Conversations?PageSize=50",
            self.service_path,
            segment(identity)
        );
        self.pages(path, "user conversations", |p: UserConversationPage| {
            (p.conversations, p.meta)
        })
        .await
    }

    /// The latest 50 messages of `conversation_sid`, newest first.
    pub async fn latest_messages(&self, conversation_sid: &str) -> Result<Vec<MessageSummary>, RestError> {
        let path = format!(
            "{}/Conversations/{}/Messages?Order=desc&PageSize=50",
            self.service_path,
            segment(conversation_sid)
        );
        let answer = self.call(reqwest::Method::GET, &path, &[]).await?;
        if answer.status != 200 {
            return Err(Self::unexpected(&answer, "list messages"));
        }
        Ok(Self::parse::<MessagePage>(&answer, "messages")?.messages)
    }

    /// Writes `body` into `conversation` (SID or unique name) as `author`,
    /// with the post-event webhook on (so notifications hear of it as of
    /// any message), once for `key`: the key rides in the message's
    /// attributes, and before each attempt the room's newest messages are
    /// looked through for it, so an attempt that took effect but lost its
    /// answer (or a request that died after posting) is not posted again.
    /// Twilio has no idempotency key for messages; this is one, as long as
    /// fewer than 50 messages came after the first attempt.
    pub async fn post_message(&self, conversation: &str, author: &str, body: &str, key: &str) -> Result<(), RestError> {
        let path = format!("{}/Conversations/{}/Messages", self.service_path, segment(conversation));
        let attributes = serde_json::json!({ "via": "email", "email": key }).to_string();
        let form = [("Author", author), ("Body", body), ("Attributes", attributes.as_str())];
        let once = RetryPolicy {
            attempts: 1,
            ..self.retry.clone()
        };
        let mut backoff = self.retry.first_backoff;
        let mut last = RestError::Unavailable("no attempt was made".into());
        for attempt in 1..=self.retry.attempts.max(1) {
            if self.has_posted(conversation, key).await? {
                return Ok(());
            }
            match self
                .call_with_policy(
                    &once,
                    reqwest::Method::POST,
                    &path,
                    &form,
                    &[("X-Twilio-Webhook-Enabled", "true")],
                )
                .await
            {
                Ok(answer) if matches!(answer.status, 200 | 201) => return Ok(()),
                Ok(answer) => return Err(Self::unexpected(&answer, "create message")),
                Err(e) => last = e,
            }
            if attempt < self.retry.attempts {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(self.retry.max_backoff);
            }
        }
        Err(last)
    }

    /// Whether one of `conversation`'s 50 newest messages carries `key`.
    async fn has_posted(&self, conversation: &str, key: &str) -> Result<bool, RestError> {
        Ok(self
            .latest_messages(conversation)
            .await?
            .iter()
            .any(|m| m.posted_key().as_deref() == Some(key)))
    }

    /// Whether `identity` is online (`None`: Twilio does not know, e.g.
    /// reachability is off, or there is no such user).
    pub async fn user_online(&self, identity: &str) -> Result<Option<bool>, RestError> {
        let path = format!("{}/Users/{}", self.service_path, segment(identity));
        match self.fetch(&path, "user").await? {
            Some(answer) => Ok(Self::parse::<Online>(&answer, "user")?.is_online),
            None => Ok(None),
        }
    }
}
