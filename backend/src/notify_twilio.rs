//! What the notifier reads of Twilio ([`crate::notifier::ChatView`]), over
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

use crate::notifier::{BoxFuture, ChatView, PersonView, RoomView, ViewError};
use crate::twilio_rest::{ConversationsClient, RestError};

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

/// Unix seconds of an RFC 3339 UTC time as Twilio writes it
/// (`2020-01-02T03:04:05Z`, fractions allowed).
pub fn unix_seconds(text: &str) -> Option<u64> {
    let (date, time) = text.trim().split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.strip_suffix('Z')?;
    let mut t = time.splitn(3, ':');
    let (h, min) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
    let s = t.next()?.split('.').next()?.parse::<i64>().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || s > 60 {
        return None;
    }
    // days from the civil date (Howard Hinnant's algorithm)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + min * 60 + s).ok()
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
                .filter_map(|m| m.date_created.as_deref().and_then(unix_seconds))
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
        _key: &'a str,
    ) -> BoxFuture<'a, Result<(), ViewError>> {
        // Twilio has no idempotency key for messages; the notifier's claim on the e-mail stands in
        Box::pin(async move { self.rest.post_message(context, identity, body).await.map_err(failed) })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_times() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2015-12-16T22:18:37Z"), Some(1_450_304_317));
        assert_eq!(unix_seconds("2024-02-29T12:00:00.123Z"), Some(1_709_208_000));
        assert_eq!(unix_seconds("2024-02-29 12:00:00"), None);
        assert_eq!(unix_seconds("2024-13-01T00:00:00Z"), None);
        assert_eq!(unix_seconds("yesterday"), None);
    }
}
