//! What the notifier reads of Twilio ([`crate::notify::ChatView`]), over
//! [`ConversationsClient`]: a room is the conversation whose unique name is
//! its context; a person's unread state comes from their user
//! conversations (read horizon, notification level `muted`) and the
//! conversation's latest 50 messages (those after the horizon, by others:
//! Twilio's own unread count also counts one's own); presence is the
//! user's `is_online` (reachability, which `dachat configure` turns on).
//! Twilio keeps no "last seen", so someone offline counts as away since
//! the oldest unread message. Conversation SIDs are mapped to names once
//! per process (names do not change).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::notify::{BoxFuture, ChatView, PersonView, RoomView, ViewError};
use crate::twilio::rest::{ConversationsClient, RestError};

/// The notifier's view of one Twilio Conversations service.
pub struct TwilioView {
    rest: ConversationsClient,
    names: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for TwilioView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioView").finish_non_exhaustive()
    }
}

fn failed(e: RestError) -> ViewError {
    ViewError(e.to_string())
}

impl TwilioView {
    pub fn new(rest: ConversationsClient) -> Self {
        Self {
            rest,
            names: Mutex::new(HashMap::new()),
        }
    }

    async fn room(
        &self,
        identity: &str,
        conversation_sid: &str,
        context: String,
        horizon: Option<i64>,
        muted: bool,
        excerpts: usize,
    ) -> Result<RoomView, ViewError> {
        let after = horizon.unwrap_or(-1);
        let unread: Vec<_> = self
            .rest
            .latest_messages(conversation_sid)
            .await
            .map_err(failed)?
            .into_iter()
            .filter(|m| m.index > after && m.author.as_deref() != Some(identity))
            .collect();
        Ok(RoomView {
            context,
            unread_from_others: u32::try_from(unread.len()).unwrap_or(u32::MAX),
            oldest_unread_at: unread
                .iter()
                .filter_map(|m| m.date_created.as_deref().and_then(crate::clock::unix_seconds))
                .min(),
            horizon,
            muted,
            // newest first from Twilio: the first `excerpts`, then oldest first
            latest: unread
                .iter()
                .take(excerpts)
                .rev()
                .map(|m| (m.author.clone().unwrap_or_default(), m.body.clone().unwrap_or_default()))
                .collect(),
        })
    }
}

impl ChatView for TwilioView {
    fn context_of<'a>(&'a self, conversation: &'a str) -> BoxFuture<'a, Result<Option<String>, ViewError>> {
        Box::pin(async move {
            if let Some(name) = self.names.lock().unwrap_or_else(|p| p.into_inner()).get(conversation) {
                return Ok(Some(name.clone()));
            }
            let name = self.rest.conversation_unique_name(conversation).await.map_err(failed)?;
            if let Some(name) = &name {
                self.names
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(conversation.to_owned(), name.clone());
            }
            Ok(name)
        })
    }

    fn members<'a>(&'a self, context: &'a str) -> BoxFuture<'a, Result<Vec<String>, ViewError>> {
        Box::pin(async move { self.rest.participant_identities(context).await.map_err(failed) })
    }

    fn rooms_of<'a>(&'a self, identity: &'a str) -> BoxFuture<'a, Result<Vec<String>, ViewError>> {
        Box::pin(async move {
            let conversations = self.rest.user_conversations(identity).await.map_err(failed)?;
            Ok(conversations.into_iter().filter_map(|c| c.unique_name).collect())
        })
    }

    fn post<'a>(
        &'a self,
        context: &'a str,
        identity: &'a str,
        body: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), ViewError>> {
        Box::pin(async move {
            self.rest
                .post_message(context, identity, body, key)
                .await
                .map_err(failed)
        })
    }

    fn person<'a>(
        &'a self,
        identity: &'a str,
        contexts: Option<&'a [String]>,
        excerpts: usize,
    ) -> BoxFuture<'a, Result<PersonView, ViewError>> {
        Box::pin(async move {
            let mut rooms = Vec::new();
            for c in self.rest.user_conversations(identity).await.map_err(failed)? {
                let Some(context) = c.unique_name.filter(|n| contexts.is_none_or(|cs| cs.contains(n))) else {
                    continue;
                };
                let muted = c.notification_level.as_deref() == Some("muted");
                if c.unread_messages_count == Some(0) {
                    // nothing after the horizon at all: no need to read messages
                    rooms.push(RoomView {
                        context,
                        unread_from_others: 0,
                        oldest_unread_at: None,
                        horizon: c.last_read_message_index,
                        muted,
                        latest: Vec::new(),
                    });
                    continue;
                }
                rooms.push(
                    self.room(
                        identity,
                        &c.conversation_sid,
                        context,
                        c.last_read_message_index,
                        muted,
                        excerpts,
                    )
                    .await?,
                );
            }
            let online = self.rest.user_online(identity).await.map_err(failed)?.unwrap_or(false);
            Ok(PersonView {
                online,
                last_seen_at: None,
                rooms,
            })
        })
    }
}
