//! The webhook's half of the notifier: a new message's event watches the
//! room's followers, once however often it is delivered (a claim, leased
//! while the room is read and settled after); when the chat provider is
//! too slow or failing for the webhook's budget, the event is kept for the
//! next sweep ([`Notifier::note_deferred`]), since Twilio does not promise
//! to deliver it again.

use super::{EVENT_BUDGET, EventOutcome, Notifier, NotifyError, ViewError, follows};
use crate::notify::store::{Claim, DEFERRED_PER_SWEEP, DeferredEvent, NotifyStore};

impl<S: NotifyStore> Notifier<S> {
    pub(super) async fn do_on_message(&self, context: &str, author: &str, at: u64) -> Result<usize, NotifyError> {
        let mut watched = 0;
        let due_at = at.saturating_add(self.config.delay.as_secs());
        for member in self.chat.members(context).await? {
            if member == author {
                continue;
            }
            if follows(&self.store.subscriptions(&member).await?, context).is_some() {
                self.store.watch(&member, due_at).await?;
                watched += 1;
            }
        }
        Ok(watched)
    }

    pub(super) async fn do_on_event(
        &self,
        claim: &str,
        conversation: &str,
        author: &str,
        at: u64,
    ) -> Result<EventOutcome, NotifyError> {
        let now = self.clock.now_secs();
        match self.store.claim(claim, now).await? {
            Claim::Taken => {}
            Claim::Done => return Ok(EventOutcome::Repeat),
            // another request is noting it: a delivery again finds it done
            Claim::UnderWay => return Err(NotifyError::UnderWay),
        }
        let noted = async {
            match self.chat.context_of(conversation).await? {
                Some(context) => self.do_on_message(&context, author, at).await,
                // not one of ours (no unique name): nobody follows it
                None => Ok(0),
            }
        };
        let noted = match tokio::time::timeout(EVENT_BUDGET, noted).await {
            Ok(noted) => noted,
            Err(_) => {
                tracing::warn!(
                    budget_ms = EVENT_BUDGET.as_millis() as u64,
                    "a message event not noted in time: the chat provider is slow"
                );
                Err(NotifyError::Chat(ViewError(format!(
                    "the chat provider did not answer within {} s",
                    EVENT_BUDGET.as_secs()
                ))))
            }
        };
        let outcome = match noted {
            Ok(watched) => EventOutcome::Noted { watched },
            // the provider is slow or failing, and Twilio does not promise
            // to deliver the event again: the next sweep notes it
            Err(NotifyError::Chat(why)) => {
                let deferred = DeferredEvent {
                    key: claim.to_owned(),
                    conversation: conversation.to_owned(),
                    author: author.to_owned(),
                    at,
                };
                if let Err(e) = self.store.defer_event(&deferred).await {
                    self.store.unclaim(claim).await?;
                    return Err(NotifyError::Store(e));
                }
                tracing::warn!(error = %why.0, "a message event deferred to the next sweep");
                EventOutcome::Deferred
            }
            Err(e) => {
                // a delivery again may note it: let it be claimed again
                self.store.unclaim(claim).await?;
                return Err(e);
            }
        };
        self.store.settle(claim, now).await?;
        Ok(outcome)
    }

    /// Notes the events webhooks deferred (oldest first, within one
    /// event's budget each): how many were noted. Stops at the first the
    /// provider still cannot answer; the rest wait for the next sweep.
    pub(super) async fn note_deferred(&self) -> Result<usize, NotifyError> {
        let mut noted = 0;
        for event in self.store.deferred_events(DEFERRED_PER_SWEEP).await? {
            let note = async {
                match self.chat.context_of(&event.conversation).await? {
                    Some(context) => self.do_on_message(&context, &event.author, event.at).await,
                    None => Ok(0),
                }
            };
            match tokio::time::timeout(EVENT_BUDGET, note).await {
                Ok(Ok(watched)) => {
                    self.store.drop_deferred(&event.key).await?;
                    tracing::info!(watched, "a deferred message event: its room's followers are watched");
                    noted += 1;
                }
                Ok(Err(NotifyError::Chat(why))) => {
                    tracing::warn!(error = %why.0, "deferred message events wait for the next sweep");
                    break;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    tracing::warn!("deferred message events wait for the next sweep: the chat provider is slow");
                    break;
                }
            }
        }
        Ok(noted)
    }
}
