//! Messages past their room's retention deleted on Twilio (issue #30): the
//! service's conversations walked, and in each room with a retention its
//! messages read oldest first and deleted until one is young enough. Run
//! by the notifier's schedule in production and by a task of `dachat
//! serve` on Twilio, within a time budget: what is left over goes at the
//! next run (deleting is idempotent, and nothing is remembered between
//! runs but what Twilio still holds).

use std::time::Duration;

use crate::clock::{Clock, unix_seconds};
use crate::config::Retention;
use crate::twilio::rest::{ConversationsClient, RestError};

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Rooms with a retention looked at.
    pub rooms: usize,
    pub deleted: usize,
    /// Every room was looked at within the budget.
    pub done: bool,
}

/// Deletes every message older than its room's retention, for at most
/// `budget` (then stops between two requests).
pub async fn expire(
    client: &ConversationsClient,
    retention: &Retention,
    clock: &Clock,
    budget: Duration,
) -> Result<Expired, RestError> {
    let started = clock.now_ms();
    let over = || clock.since(started) >= budget;
    let mut expired = Expired::default();
    let mut next: Option<String> = None;
    loop {
        let page = client.conversations_page(next.as_deref()).await?;
        for conversation in page.items {
            let Some(room) = conversation.unique_name.as_deref() else {
                continue;
            };
            let Some(cutoff_ms) = retention.cutoff_ms(room, clock.now_ms()) else {
                continue;
            };
            expired.rooms += 1;
            // the oldest first: the first young enough ends the room
            'room: loop {
                if over() {
                    return Ok(expired);
                }
                let messages = client.messages_page(&conversation.sid, None).await?;
                let mut deleted_here = 0;
                for message in &messages.items {
                    let written_ms = message.date_created.as_deref().and_then(unix_seconds).map(|s| s * 1000);
                    if written_ms.is_none_or(|at| at >= cutoff_ms) {
                        break 'room;
                    }
                    client.delete_message(&conversation.sid, &message.sid).await?;
                    deleted_here += 1;
                    expired.deleted += 1;
                    if over() {
                        return Ok(expired);
                    }
                }
                if deleted_here == 0 || messages.next.is_none() && deleted_here == messages.items.len() {
                    break;
                }
            }
        }
        match page.next {
            Some(n) => next = Some(n),
            None => break,
        }
    }
    expired.done = true;
    Ok(expired)
}
