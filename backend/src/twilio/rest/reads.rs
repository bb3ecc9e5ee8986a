//! What the notifier reads of Twilio (issue #14), through the same client:
//! a conversation's unique name (the webhook names conversations by SID),
//! its participants, a user's conversations with their unread counts,
//! read horizons and notification levels, a conversation's latest
//! messages, and whether a user is online (reachability, which `dachat
//! configure` turns on). Every list is paged to its end, with a bound.

use serde::Deserialize;

use super::{ConversationsClient, PageMeta, RestError, path_and_query, segment};

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
    /// any message). A 5xx is retried like every call: the rare answer
    /// lost after Twilio stored the message can show it twice.
    pub async fn post_message(&self, conversation: &str, author: &str, body: &str) -> Result<(), RestError> {
        let path = format!("{}/Conversations/{}/Messages", self.service_path, segment(conversation));
        let form = [("Author", author), ("Body", body), ("Attributes", r#"{"via":"email"}"#)];
        let answer = self
            .call_with(
                reqwest::Method::POST,
                &path,
                &form,
                &[("X-Twilio-Webhook-Enabled", "true")],
            )
            .await?;
        match answer.status {
            200 | 201 => Ok(()),
            _ => Err(Self::unexpected(&answer, "create message")),
        }
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
