//! The notification operations of [`AppState`] (subscriptions, codes,
//! unsubscribe links, replies by e-mail), behind the host token or the
//! inbound key; the notifier ([`crate::notify`]) does the work.

use std::sync::Arc;

use super::{AppError, AppState};
use crate::domain::{ContextName, InvalidValue};
use crate::notify::store::Subscription;
use crate::notify::unsubscribe_link::Target;
use crate::notify::{EventOutcome, Notify, Requester, Stop, Subscribed};
use crate::tokens::host_jwt::HostClaims;

/// What the notifier is told of a verified host token.
fn requester(claims: &HostClaims) -> Requester<'_> {
    Requester {
        identity: claims.identity.as_str(),
        rooms: &claims.contexts,
        vouched_address: claims.verified_email.as_deref(),
    }
}

/// The notification operations, behind the host token.
impl AppState {
    /// The notifier (the webhook and the sweep use it), or why there is none.
    pub fn notify(&self) -> Result<&Arc<dyn Notify>, AppError> {
        self.notify.as_ref().map_err(|why| AppError::NotifyOff(why.clone()))
    }

    fn room(context: Option<&str>) -> Result<Option<ContextName>, AppError> {
        context
            .map(|c| ContextName::parse(c).map_err(AppError::InvalidValue))
            .transpose()
    }

    /// `GET /v1/notifications`: the person's subscriptions, and the address
    /// the host vouches for.
    pub async fn notification_state(&self, token: &str) -> Result<(HostClaims, Vec<Subscription>), AppError> {
        let notify = self.notify()?;
        let claims = self.verify_host_token(token).await?;
        let subscriptions = notify.subscriptions(claims.identity.as_str()).await?;
        Ok((claims, subscriptions))
    }

    /// Turns e-mail on for `context` (`None`: every room), at once for an
    /// address the host vouches for (or one confirmed before), else by
    /// sending a code.
    pub async fn subscribe(
        &self,
        token: &str,
        context: Option<&str>,
        address: Option<&str>,
    ) -> Result<Subscribed, AppError> {
        let notify = self.notify()?;
        let context = Self::room(context)?;
        let claims = self.verify_host_token(token).await?;
        Ok(notify.subscribe(requester(&claims), context.as_ref(), address).await?)
    }

    /// Confirms an address with the code sent to it, and turns e-mail on.
    pub async fn confirm(
        &self,
        token: &str,
        context: Option<&str>,
        address: &str,
        code: &str,
    ) -> Result<Subscribed, AppError> {
        let notify = self.notify()?;
        let context = Self::room(context)?;
        let claims = self.verify_host_token(token).await?;
        Ok(notify
            .confirm(requester(&claims), context.as_ref(), address, code)
            .await?)
    }

    /// Turns e-mail off for `context` (`None`: the all-rooms switch).
    pub async fn unsubscribe(&self, token: &str, context: Option<&str>) -> Result<(), AppError> {
        let notify = self.notify()?;
        let context = Self::room(context)?;
        let claims = self.verify_host_token(token).await?;
        let stop = match &context {
            Some(room) => Stop::Room(room.as_str()),
            None => Stop::AllRooms,
        };
        Ok(notify.unsubscribe(claims.identity.as_str(), stop).await?)
    }

    /// A verified Twilio post-event webhook: `onMessageAdded` watches the
    /// room's followers (once per message SID); other events, and every
    /// event while notifications are off, are only acknowledged.
    pub async fn twilio_event(&self, params: &[(String, String)]) -> Result<(), AppError> {
        let param = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        if param("EventType") != Some("onMessageAdded") {
            return Ok(());
        }
        let Ok(notify) = self.notify() else {
            return Ok(());
        };
        let (Some(message), Some(conversation)) = (param("MessageSid"), param("ConversationSid")) else {
            return Err(AppError::InvalidValue(InvalidValue {
                what: "onMessageAdded",
                reason: "needs MessageSid and ConversationSid",
            }));
        };
        let at = param("DateCreated")
            .and_then(crate::clock::unix_seconds)
            .unwrap_or_else(|| self.clock.now_secs());
        let author = param("Author").unwrap_or_default();
        match notify
            .on_event(&format!("twilio#{message}"), conversation, author, at)
            .await?
        {
            EventOutcome::Noted { watched } => {
                tracing::info!(watched, "a new message: its room's followers are watched")
            }
            EventOutcome::Repeat => tracing::info!("a message delivered again: already noted"),
            EventOutcome::Deferred => tracing::info!("a new message: the next sweep notes it"),
        }
        Ok(())
    }

    /// What a one-click link stops, if it is ours.
    pub fn unsubscribe_target(&self, identity: &str, room: &str, signature: &str) -> Result<Target, AppError> {
        self.notify()?
            .link_target(identity, room, signature)
            .ok_or(AppError::BadUnsubscribeLink)
    }

    /// Follows a verified one-click link (RFC 8058 POST).
    pub async fn unsubscribe_by_link(&self, target: &Target) -> Result<(), AppError> {
        let stop = match &target.context {
            Some(room) => Stop::Room(room),
            None => Stop::Everything,
        };
        Ok(self.notify()?.unsubscribe(&target.identity, stop).await?)
    }
}

/// Replies by e-mail that arrive over HTTP (SendGrid Inbound Parse).
impl AppState {
    /// `POST /v1/inbound/sendgrid?key=…`: the key checked (constant time),
    /// the e-mail read, and handed to the notifier.
    pub async fn inbound_sendgrid(
        &self,
        key: Option<&str>,
        fields: &[(String, String)],
    ) -> Result<crate::notify::ReplyOutcome, AppError> {
        let Some(expected) = &self.inbound_key else {
            return Err(AppError::NotifyOff(format!(
                "replies by e-mail are not set up here ({} is not set)",
                crate::config::INBOUND_KEY.key
            )));
        };
        if !expected.matches(key.unwrap_or_default()) {
            return Err(AppError::BadInboundKey);
        }
        let notify = self.notify()?;
        match crate::notify::inbound_mail::from_sendgrid(fields) {
            Ok(inbound) => Ok(notify.on_reply(&inbound).await?),
            Err(e) => {
                // a retry would bring the same e-mail: answered, not retried
                tracing::info!(error = %e, "an inbound e-mail was dropped");
                Ok(crate::notify::ReplyOutcome::Dropped(crate::notify::Dropped::Unreadable))
            }
        }
    }
}
