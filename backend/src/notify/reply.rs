//! Reply by e-mail: an answer to a digest lands in the room as the person
//! it was sent to. The reply address names (identity, room) through a
//! signed tag ([`crate::notify::reply_address`]) whose route the sweep kept when
//! the digest went out. A reply is dropped, never half-posted, when:
//! it is not addressed to a reply address of ours, a program wrote it, the
//! receiving side saw its sender unauthenticated, the tag has no (or a
//! forged) route, the person no longer follows the room, it comes from
//! another address than the one the digests go to, nothing is left after
//! the quote and signature are cut, the person sent too many in the last
//! hour, or they are no longer in the room. The same e-mail delivered
//! twice lands once (a claim on its Message-ID, settled once posted, and
//! the post itself made idempotent by the provider with the same key); a
//! provider failure gives the claim back and is an error, so the sender's
//! side retries; a delivery while another request posts it is an error
//! too (503), and if that request died, a delivery after the claim's lease
//! takes it over (the provider's key keeps the post single).

use super::{Notifier, NotifyError, REPLY_BUDGET, ViewError, follows};
use crate::notify::inbound_mail::{Authentication, Inbound};
use crate::notify::reply_address;
use crate::notify::store::{Claim, NotifyStore, ReplyRoute};

/// Replies one person may post by e-mail in an hour.
pub const REPLIES_PER_HOUR: u32 = 20;

/// Why a reply did not land (each is final: a retry would not change it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Reply by e-mail is off (no reply domain set).
    Off,
    /// Not sent to a reply address of ours.
    NotOurs,
    /// An auto-reply, a bounce, a list's mail.
    Automatic,
    /// The sender's domain did not vouch for the sender.
    Unauthenticated,
    /// No digest carried this address (or it expired).
    UnknownAddress,
    /// The person stopped e-mail about this room.
    NotFollowing,
    /// From an address other than the person's.
    WrongSender,
    /// Only quotes and signature.
    Empty,
    /// More than [`REPLIES_PER_HOUR`] in the last hour.
    TooMany,
    /// The person is no longer in the room.
    NotMember,
    /// Not an e-mail that can be read (or too large).
    Unreadable,
}

impl Dropped {
    /// A short code for logs and JSON answers.
    pub fn code(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::NotOurs => "not_ours",
            Self::Automatic => "automatic",
            Self::Unauthenticated => "unauthenticated",
            Self::UnknownAddress => "unknown_address",
            Self::NotFollowing => "not_following",
            Self::WrongSender => "wrong_sender",
            Self::Empty => "empty",
            Self::TooMany => "too_many",
            Self::NotMember => "not_member",
            Self::Unreadable => "unreadable",
        }
    }
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Off => "replies by e-mail are off here",
            Self::NotOurs => "this address does not take replies",
            Self::Automatic => "automatic replies are not posted",
            Self::Unauthenticated => "the sender's domain did not authenticate this e-mail",
            Self::UnknownAddress => "this reply address is unknown or expired",
            Self::NotFollowing => "e-mail about this room is off for you; answer in the chat",
            Self::WrongSender => "replies are taken only from the address the e-mails go to",
            Self::Empty => "the reply is empty (only quoted text or a signature)",
            Self::TooMany => "too many replies by e-mail in the last hour; answer in the chat",
            Self::NotMember => "you are no longer in this room",
            Self::Unreadable => "the e-mail cannot be read",
        })
    }
}

/// What became of one inbound e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// Posted in `context` as `identity`.
    Posted {
        identity: String,
        context: String,
    },
    /// This e-mail landed before.
    Repeat,
    Dropped(Dropped),
}

impl<S: NotifyStore> Notifier<S> {
    /// The reply address of (identity, room), when replies are on.
    pub(super) fn reply_address(&self, identity: &str, context: &str) -> Option<String> {
        let domain = self.config.reply_domain.as_deref()?;
        Some(self.replies.address(identity, context, domain))
    }

    /// What the reply addresses of `identity`'s `rooms` stand for (none
    /// when replies are off), kept by the sweep before the digest goes out.
    pub(super) fn reply_routes(&self, identity: &str, rooms: &[String]) -> Vec<ReplyRoute> {
        if self.config.reply_domain.is_none() {
            return Vec::new();
        }
        rooms
            .iter()
            .map(|context| ReplyRoute {
                tag: self.replies.tag(identity, context),
                identity: identity.to_owned(),
                context: context.clone(),
            })
            .collect()
    }

    /// The route `inbound` is addressed to, or why there is none.
    async fn route_of(&self, inbound: &Inbound, now: u64) -> Result<Result<ReplyRoute, Dropped>, NotifyError> {
        let Some(domain) = self.config.reply_domain.as_deref() else {
            return Ok(Err(Dropped::Off));
        };
        let Some(tag) = inbound
            .recipients
            .iter()
            .find_map(|to| reply_address::tag_of(to, domain))
        else {
            return Ok(Err(Dropped::NotOurs));
        };
        if inbound.automatic {
            return Ok(Err(Dropped::Automatic));
        }
        if inbound.authentication == Authentication::NotPassed {
            return Ok(Err(Dropped::Unauthenticated));
        }
        match self.store.reply_route(&tag, now).await? {
            Some(route) if self.replies.verify(&tag, &route.identity, &route.context) => Ok(Ok(route)),
            _ => Ok(Err(Dropped::UnknownAddress)),
        }
    }

    pub(super) async fn do_on_reply(&self, inbound: &Inbound) -> Result<ReplyOutcome, NotifyError> {
        let now = self.clock.now_secs();
        let route = match self.route_of(inbound, now).await? {
            Ok(route) => route,
            Err(why) => return Ok(ReplyOutcome::Dropped(why)),
        };
        let (identity, context) = (route.identity.as_str(), route.context.as_str());
        let dropped = |why: Dropped| {
            tracing::info!(identity, context, why = %why, "a reply by e-mail was dropped");
            Ok(ReplyOutcome::Dropped(why))
        };
        let Some(address) = follows(&self.store.subscriptions(identity).await?, context) else {
            return dropped(Dropped::NotFollowing);
        };
        if !inbound
            .from
            .as_deref()
            .is_some_and(|from| from.eq_ignore_ascii_case(&address))
        {
            return dropped(Dropped::WrongSender);
        }
        if inbound.reply.trim().is_empty() {
            return dropped(Dropped::Empty);
        }
        if self.store.recent_replies(identity, now.saturating_sub(3600)).await? >= REPLIES_PER_HOUR {
            return dropped(Dropped::TooMany);
        }
        let claim = format!("mail#{}", inbound.id);
        match self.store.claim(&claim, now).await? {
            Claim::Taken => {}
            Claim::Done => return Ok(ReplyOutcome::Repeat),
            // another request is posting it: the sender's side tries again
            Claim::UnderWay => return Err(NotifyError::UnderWay),
        }
        let posted = async {
            if !self.chat.members(context).await?.iter().any(|m| m == identity) {
                return Ok(false);
            }
            self.chat.post(context, identity, &inbound.reply, &inbound.id).await?;
            Ok::<bool, NotifyError>(true)
        };
        let posted = match tokio::time::timeout(REPLY_BUDGET, posted).await {
            Ok(posted) => posted,
            Err(_) => {
                tracing::warn!(
                    budget_s = REPLY_BUDGET.as_secs(),
                    "a reply by e-mail not posted in time: the chat provider is slow"
                );
                Err(NotifyError::Chat(ViewError(format!(
                    "the chat provider did not answer within {} s",
                    REPLY_BUDGET.as_secs()
                ))))
            }
        };
        match posted {
            Ok(false) => {
                self.store.settle(&claim, now).await?;
                dropped(Dropped::NotMember)
            }
            Ok(true) => {
                self.store.settle(&claim, now).await?;
                self.store.log_reply(identity, now).await?;
                tracing::info!(identity, context, "a reply by e-mail landed");
                Ok(ReplyOutcome::Posted {
                    identity: identity.to_owned(),
                    context: context.to_owned(),
                })
            }
            Err(e) => {
                // the sender's side retries: let this e-mail be claimed again
                self.store.unclaim(&claim).await?;
                Err(e)
            }
        }
    }
}
