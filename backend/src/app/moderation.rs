//! `POST /v1/moderation`'s operation (issue #30), beside the others of
//! [`AppState`]: the host token decides who may do what, the provider's
//! moderation ([`crate::twilio::moderation`]) carries it out.

use super::{AppError, AppState, Provider};
use crate::domain::{ContextName, Identity, InvalidValue};

/// Moderation through the API (issue #30): on Twilio, what the local
/// provider does over its WebSocket. The host token decides: any member of
/// the room may report, only its moderators (`moderates`) do the rest.
impl AppState {
    /// `POST /v1/moderation`: carries out `frame` for the holder of `token`.
    pub async fn moderate(
        &self,
        token: &str,
        frame: protocol::moderation::ModerationFrame,
    ) -> Result<protocol::moderation::ModerationEvent, AppError> {
        use protocol::moderation::{MAX_MUTE_MINUTES, MAX_REASON_CHARS, ModerationEvent, ModerationFrame as F};
        // the refusals below name these limits in words
        const _: () = assert!(MAX_MUTE_MINUTES == 43_200 && MAX_REASON_CHARS == 500);
        let claims = self.verify_host_token(token).await?;
        let (room, action) = match &frame {
            F::Remove { room, .. } => (room, "remove"),
            F::Mute { room, .. } => (room, "mute"),
            F::Unmute { room, .. } => (room, "unmute"),
            F::Report { room, .. } => (room, "report"),
            F::Reports { room } => (room, "reports"),
        };
        let room = ContextName::parse(room).map_err(AppError::InvalidValue)?;
        if !claims.allows(&room) {
            return Err(AppError::ContextNotAllowed);
        }
        let moderation = match &self.provider {
            Provider::Twilio {
                moderation: Some(moderation),
                ..
            } => moderation,
            Provider::Twilio { moderation: None, .. } => {
                return Err(AppError::ModerationOff(
                    "Moderation is not set up on this service: it needs the notifications' table (DACHAT_NOTIFY_TABLE) to keep its record.".into(),
                ));
            }
            Provider::Local(_) => {
                return Err(AppError::ModerationOff(
                    "On the local chat, moderation goes through the chat connection.".into(),
                ));
            }
        };
        if action != "report" && !claims.moderates(&room) {
            return Err(AppError::NotModerator);
        }
        let me = &claims.identity;
        let done = |action: &str| ModerationEvent::Done {
            action: action.to_owned(),
            room: room.to_string(),
        };
        let member = |identity: &str| Identity::parse(identity).map_err(AppError::InvalidValue);
        let result = match frame {
            F::Remove { id, .. } => moderation.remove(me, &room, id).await.map(|()| done(action)),
            F::Mute { identity, minutes, .. } => {
                if minutes == 0 || minutes > MAX_MUTE_MINUTES {
                    return Err(AppError::InvalidValue(InvalidValue {
                        what: "minutes",
                        reason: "must be from 1 to 43,200 (30 days)",
                    }));
                }
                let member = member(&identity)?;
                moderation.mute(me, &room, &member, minutes).await.map(|_| done(action))
            }
            F::Unmute { identity, .. } => {
                let member = member(&identity)?;
                moderation.unmute(me, &room, &member).await.map(|()| done(action))
            }
            F::Report { id, reason, .. } => {
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
                    return Err(AppError::InvalidValue(InvalidValue {
                        what: "reason",
                        reason: "must say why, in at most 500 characters",
                    }));
                }
                match moderation.report(me, &room, id, reason).await {
                    Ok(report) => {
                        // before answering: a Lambda may be frozen once it has
                        if let Some(mail) = &self.report_mail {
                            mail.send(&report).await;
                        }
                        Ok(done(action))
                    }
                    Err(e) => Err(e),
                }
            }
            F::Reports { .. } => moderation
                .reports(&room)
                .await
                .map(|reports| ModerationEvent::ReportList {
                    room: room.to_string(),
                    reports,
                }),
        };
        result.map_err(AppError::Moderation)
    }
}
