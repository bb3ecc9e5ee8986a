//! What `dachat forget` and `dachat export` (issue #30) do on Twilio,
//! through the same client: walk the service's conversations and their
//! messages a page at a time (no bound on their number: the caller shows
//! progress), delete a
//! message or put another author on it, and delete a user. Each is
//! idempotent: what is already gone (404) counts as done.

use serde::Deserialize;

use super::{ConversationsClient, PageMeta, RestError, path_and_query, segment};

/// A conversation of the service (DAChat's rooms have a unique name).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServiceConversation {
    pub sid: String,
    pub unique_name: Option<String>,
}

/// A message as listed: what an erasure (its author) and an export need.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedMessage {
    pub sid: String,
    /// Increasing within the conversation.
    pub index: i64,
    pub author: Option<String>,
    pub body: Option<String>,
    /// RFC 3339.
    pub date_created: Option<String>,
    /// RFC 3339; `None` unless the message was edited.
    #[serde(default)]
    pub date_updated: Option<String>,
    #[serde(default)]
    pub media: Option<Vec<ListedMedia>>,
}

/// A message's file, as Twilio describes it (no bytes).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedMedia {
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<u64>,
}

/// One page of a list, and where the next one is (`None`: the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[derive(Deserialize)]
struct ConversationPage {
    conversations: Vec<ServiceConversation>,
    meta: PageMeta,
}

#[derive(Deserialize)]
struct MessagePage {
    messages: Vec<ListedMessage>,
    meta: PageMeta,
}

/// Items a page asks for (Twilio's most).
const PAGE_SIZE: u32 = 100;

impl ConversationsClient {
    async fn page<T, P: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        what: &str,
        split: impl Fn(P) -> (Vec<T>, PageMeta),
    ) -> Result<Page<T>, RestError> {
        let answer = self.call(reqwest::Method::GET, path, &[]).await?;
        if answer.status != 200 {
            return Err(Self::unexpected(&answer, &format!("list {what}")));
        }
        let (items, meta) = split(Self::parse(&answer, what)?);
        Ok(Page {
            items,
            next: meta.next_page_url.as_deref().and_then(path_and_query),
        })
    }

    /// A page of the service's conversations: the first with `next` `None`,
    /// then the `next` of the page before.
    pub async fn conversations_page(&self, next: Option<&str>) -> Result<Page<ServiceConversation>, RestError> {
        let first = format!("{}/Conversations?PageSize={PAGE_SIZE}", self.service_path);
        self.page(next.unwrap_or(&first), "conversations", |p: ConversationPage| {
            (p.conversations, p.meta)
        })
        .await
    }

    /// A page of `conversation`'s messages, oldest first.
    pub async fn messages_page(
        &self,
        conversation_sid: &str,
        next: Option<&str>,
    ) -> Result<Page<ListedMessage>, RestError> {
        let first = format!(
            "{}/Conversations/{}/Messages?Order=asc&PageSize={PAGE_SIZE}",
            self.service_path,
            segment(conversation_sid)
        );
        self.page(next.unwrap_or(&first), "messages", |p: MessagePage| {
            (p.messages, p.meta)
        })
        .await
    }

    /// A page of `conversation`'s messages, newest first (a moderator's
    /// removal looks for a message by its index).
    pub async fn messages_newest_page(
        &self,
        conversation_sid: &str,
        next: Option<&str>,
    ) -> Result<Page<ListedMessage>, RestError> {
        let first = format!(
            "{}/Conversations/{}/Messages?Order=desc&PageSize={PAGE_SIZE}",
            self.service_path,
            segment(conversation_sid)
        );
        self.page(next.unwrap_or(&first), "messages", |p: MessagePage| {
            (p.messages, p.meta)
        })
        .await
    }

    fn message_path(&self, conversation_sid: &str, message_sid: &str) -> String {
        format!(
            "{}/Conversations/{}/Messages/{}",
            self.service_path,
            segment(conversation_sid),
            segment(message_sid)
        )
    }

    /// Deletes a message (its text and media).
    pub async fn delete_message(&self, conversation_sid: &str, message_sid: &str) -> Result<(), RestError> {
        let answer = self
            .call(
                reqwest::Method::DELETE,
                &self.message_path(conversation_sid, message_sid),
                &[],
            )
            .await?;
        match answer.status {
            200 | 204 | 404 => Ok(()),
            _ => Err(Self::unexpected(&answer, "delete message")),
        }
    }

    /// Puts `author` on a message in place of whoever wrote it.
    pub async fn set_message_author(
        &self,
        conversation_sid: &str,
        message_sid: &str,
        author: &str,
    ) -> Result<(), RestError> {
        let answer = self
            .call(
                reqwest::Method::POST,
                &self.message_path(conversation_sid, message_sid),
                &[("Author", author)],
            )
            .await?;
        match answer.status {
            200 | 404 => Ok(()),
            _ => Err(Self::unexpected(&answer, "update message")),
        }
    }

    /// Deletes the user `identity` (Twilio takes the identity in place of
    /// the SID). `false`: there was none.
    pub async fn delete_user(&self, identity: &str) -> Result<bool, RestError> {
        let path = format!("{}/Users/{}", self.service_path, segment(identity));
        let answer = self.call(reqwest::Method::DELETE, &path, &[]).await?;
        match answer.status {
            200 | 204 => Ok(true),
            404 => Ok(false),
            _ => Err(Self::unexpected(&answer, "delete user")),
        }
    }
}
