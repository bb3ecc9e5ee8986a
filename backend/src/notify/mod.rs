//! Notify: e-mail about missed messages (issue #14), confirmation codes for
//! addresses, one-click unsubscribe and replies by e-mail. The one feature
//! folder of the backend that `cli` and `local-chat` build on as well.
//!
//! Where each part lives:
//!
//! | file | holds |
//! | --- | --- |
//! | `mod.rs` | [`Notifier`]: subscribe, confirm, unsubscribe, one-click links, messages in |
//! | [`sweep`] | the sweep: due people planned, rendered, sent, throttled |
//! | [`reply`] | a reply by e-mail posted into its room |
//! | [`digest_plan`] | who gets a digest when (pure) |
//! | [`digest_mail`] | digests and code mails as e-mails, text and HTML (pure) |
//! | [`address_codes`] | 6-digit confirmation codes and their limits (pure) |
//! | [`email_address`] | the one definition of an address DAChat takes (pure) |
//! | [`unsubscribe_link`] | signed one-click unsubscribe links (pure) |
//! | [`reply_address`] | signed per-person, per-room reply addresses (pure) |
//! | [`reply_text`] | the reply's own words out of a reply e-mail (pure) |
//! | [`inbound_mail`] | an incoming e-mail, from raw MIME or SendGrid's form |
//! | [`store`] | what the feature keeps (the trait and its shared test suite) |
//! | [`dynamo_store`] | that store on DynamoDB (SQLite is in `local-chat`) |
//! | [`chat_view`] | the chat provider as the notifier reads it (the trait) |
//! | [`twilio_view`] | that view over Twilio's REST API |
//! | [`mailer`] | where mail goes out (the trait) and its one error type |
//! | [`sendgrid`] | SendGrid's Mail Send |
//! | [`production`] | the Lambdas' notifier (DynamoDB, Twilio, SendGrid) or why it is off |
//!
//! Invariants: nothing is recorded as sent that was not; no digest goes
//! twice for the same unread messages; digests say nothing of what was
//! written unless the operator turns excerpts on; an address the host did
//! not vouch for gets mail only after its code is confirmed.
//!
//! Imports: the shared base (`domain`, `secret`, `clock`, `http_client`),
//! `config` (its settings) and `twilio::rest` (for [`twilio_view`] and
//! [`production`] only); never `tokens` or the HTTP layer: a caller hands
//! in who asks as a [`Requester`].
//!
//! # The operations
//!
//! The operations, over the storage
//! ([`NotifyStore`]), the chat provider as the notifier sees it
//! ([`ChatView`]) and a mail provider ([`Mailer`]): the window's
//! subscribe / confirm / unsubscribe, the one-click links, and the two
//! halves of the digest loop:
//!
//! - [`Notifier::on_message`]: a message arrived (Twilio's webhook, the
//!   local provider's event). Each other member of the room who follows it
//!   gets a *watch* at `now + delay`. Cheap: no e-mail is decided here.
//! - [`Notifier::sweep`]: runs once a minute (one at a time: an
//!   EventBridge schedule in production, a task of `dachat serve`
//!   locally). For each due watch it reads the person's rooms from the
//!   provider *now* (so a room read since is not named), plans with
//!   [`crate::notify::digest_plan`], sends every digest of the sweep in as few
//!   provider requests as the provider allows, records what went out
//!   (the throttle) and moves the watch to the next moment something
//!   could be due, or drops it.
//!
//! A provider outage leaves the watches in place: the next sweep tries
//! again, and nothing is recorded as sent that was not. A batch the
//! provider refuses (4xx) is logged and counted as sent, so a broken
//! address or template cannot make every sweep retry it.

use std::sync::Arc;
use std::time::Duration;

use ring::hmac;

use crate::clock::Clock;
use crate::domain::ContextName;
use crate::secret::Secret;

pub mod address_codes;
pub mod chat_view;
pub mod digest_mail;
pub mod digest_plan;
pub mod dynamo_store;
pub mod email_address;
mod events;
pub mod inbound_mail;
pub mod mailer;
pub mod production;
mod reply;
pub mod reply_address;
pub mod reply_text;
pub mod report_mail;
pub mod sendgrid;
pub mod store;
mod sweep;
pub mod twilio_view;
pub mod unsubscribe_link;

use address_codes::{CodeKey, CodeOutcome, CodeRefusal};
use digest_mail::MailError;
use email_address::{AddressError, EmailAddress};
use inbound_mail::Inbound;
use reply_address::ReplyKey;
use store::{NotifyStore, StoreError, Subscription};
use unsubscribe_link::{Target, UnsubscribeKey, percent};

pub use chat_view::{BoxFuture, ChatView, PersonView, RoomView, ViewError};
pub use mailer::{Mailer, SendError};
pub use reply::{Dropped, REPLIES_PER_HOUR, ReplyOutcome};

/// Who asks for e-mail, as the notifier needs them: what a verified host
/// token says (the HTTP layer reads the token; the notifier never does).
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    pub identity: &'a str,
    /// The rooms the host lets them enter.
    pub rooms: &'a [ContextName],
    /// The address the host vouches for, if any (not yet checked to be one).
    pub vouched_address: Option<&'a str>,
}

/// How notifications behave (settings).
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Time away before a first e-mail.
    pub delay: Duration,
    /// The host's room URL, `{context}` standing for the room's name.
    pub link_template: String,
    /// The name in subjects and as the sender.
    pub product: String,
    /// The API's public base URL (unsubscribe links point there).
    pub public_url: String,
    /// Keys the codes and the unsubscribe links.
    pub secret: Secret,
    /// Digests quote the newest unread messages with their authors (off
    /// by default: aid chats carry personal data).
    pub excerpts: bool,
    /// Where replies by e-mail are received (`reply-<tag>@<domain>`);
    /// `None`: digests cannot be answered by e-mail.
    pub reply_domain: Option<String>,
    /// How long one sweep may work before it leaves the rest of the due
    /// watches to the next (`None`: no limit). A Lambda sweep must end
    /// before its timeout.
    pub sweep_budget: Option<Duration>,
}

/// How many of a room's newest unread messages a digest quotes, when
/// excerpts are on.
pub const EXCERPTS_PER_ROOM: usize = 3;

/// The most watches one sweep looks at (the rest wait a minute).
pub const SWEEP_LIMIT: usize = 10_000;

/// How long a new message's event may take to note (the provider's reads
/// of the room included): under the 5 s Twilio waits for a webhook's
/// answer, so a slow provider gets a prompt answer (the event kept for the
/// next sweep, which tries again with the same budget) rather than a
/// webhook cut off mid-way.
pub const EVENT_BUDGET: Duration = Duration::from_secs(4);

/// How long posting a reply by e-mail may take (the room's members read,
/// the room's newest messages checked for it, the post), retries included.
/// Work cut off then is given up, and a delivery again (the sender's
/// retry) does it over, finding the reply if the post took effect.
pub const REPLY_BUDGET: Duration = Duration::from_secs(20);

/// Why a notifications request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyError {
    /// The host token does not list the room.
    ContextNotAllowed,
    /// Not an e-mail address (or none given, and the host vouched for none).
    BadAddress(String),
    /// No code is sent now (limits).
    CodeRefused(CodeRefusal),
    /// The typed code did not confirm.
    Code(CodeOutcome),
    /// No code was asked for this address.
    NoCode,
    /// The mail provider failed.
    Mail(SendError),
    Store(StoreError),
    Chat(ViewError),
    /// Another request is acting on this delivery now; a delivery again
    /// later finds it done (or takes it over if that request died).
    UnderWay,
}

impl std::fmt::Display for NotifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ContextNotAllowed => f.write_str("your sign-in does not include this room"),
            Self::BadAddress(why) => f.write_str(why),
            Self::CodeRefused(why) => write!(f, "{why}"),
            Self::Code(outcome) => write!(f, "{outcome}"),
            Self::NoCode => f.write_str("No code was sent to this address. Ask for a code first."),
            Self::Mail(e) => write!(f, "{e}"),
            Self::Store(e) => write!(f, "{e}"),
            Self::Chat(e) => write!(f, "the chat provider failed: {}", e.0),
            Self::UnderWay => f.write_str("this delivery is being handled by another request; try again later"),
        }
    }
}

impl From<StoreError> for NotifyError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<ViewError> for NotifyError {
    fn from(e: ViewError) -> Self {
        Self::Chat(e)
    }
}

/// What a subscribe request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscribed {
    /// E-mail is on, to this address.
    On { address: String },
    /// A code went to this address; confirm it to turn e-mail on.
    CodeSent { address: String },
}

/// What one sweep did (logged, and the benchmark's numbers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Due watches looked at.
    pub people: usize,
    pub emails: usize,
    /// Requests to the mail provider.
    pub requests: usize,
    /// E-mails the provider refused (counted as sent, see the module).
    pub refused: usize,
    /// People left for the next sweep (the provider or the store failed).
    pub deferred: usize,
    /// Message events a webhook deferred, noted by this sweep.
    pub events: usize,
}

/// What became of a webhook's message event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// The room's followers are watched (`watched` of them).
    Noted { watched: usize },
    /// Noted before (a delivery again).
    Repeat,
    /// The chat provider was too slow or failing: kept for the next sweep.
    Deferred,
}

/// The feature's operations, as the HTTP layer and the schedulers use them.
pub trait Notify: Send + Sync + std::fmt::Debug {
    fn subscriptions<'a>(&'a self, identity: &'a str) -> BoxFuture<'a, Result<Vec<Subscription>, NotifyError>>;
    fn subscribe<'a>(
        &'a self,
        who: Requester<'a>,
        context: Option<&'a ContextName>,
        address: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Subscribed, NotifyError>>;
    fn confirm<'a>(
        &'a self,
        who: Requester<'a>,
        context: Option<&'a ContextName>,
        address: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<Subscribed, NotifyError>>;
    /// Stops e-mail as `stop` says.
    fn unsubscribe<'a>(&'a self, identity: &'a str, stop: Stop<'a>) -> BoxFuture<'a, Result<(), NotifyError>>;
    /// The target of a one-click link, if it is ours.
    fn link_target(&self, identity: &str, room: &str, signature: &str) -> Option<Target>;
    fn on_message<'a>(
        &'a self,
        context: &'a str,
        author: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<usize, NotifyError>>;
    /// A provider's message event (Twilio's `onMessageAdded`): acted on once
    /// per `claim` (the message SID), however often it is delivered;
    /// `None` for a repeat.
    fn on_event<'a>(
        &'a self,
        claim: &'a str,
        conversation: &'a str,
        author: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<EventOutcome, NotifyError>>;
    fn sweep(&self) -> BoxFuture<'_, Result<SweepReport, NotifyError>>;
    /// An e-mail to a reply address: posted in its room, or dropped (see
    /// [`Dropped`]); an error when the store or the provider failed and a
    /// retry may land it.
    fn on_reply<'a>(&'a self, inbound: &'a Inbound) -> BoxFuture<'a, Result<ReplyOutcome, NotifyError>>;
}

/// What an unsubscribe stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop<'a> {
    /// One room (an exception, when an all-rooms subscription stays).
    Room(&'a str),
    /// The all-rooms subscription (rooms switched on one by one stay).
    AllRooms,
    /// Every subscription (the e-mail's "stop these e-mails").
    Everything,
}

/// `address` empty in a per-room subscription: no e-mail about that room,
/// though an all-rooms subscription exists (what a room's one-click link
/// leaves behind).
pub const MUTED: &str = "";

pub struct Notifier<S> {
    store: S,
    chat: Arc<dyn ChatView>,
    mailer: Arc<dyn Mailer>,
    codes: CodeKey,
    links: UnsubscribeKey,
    replies: ReplyKey,
    config: NotifyConfig,
    clock: Clock,
}

impl<S> std::fmt::Debug for Notifier<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

/// A key of its own per use, from the one server secret.
fn derived(secret: &Secret, label: &str) -> Secret {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    let tag = hmac::sign(&key, label.as_bytes());
    Secret::new(tag.as_ref().iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `subscriptions` ask for e-mail about `context`.
fn follows(subscriptions: &[Subscription], context: &str) -> Option<String> {
    let room = subscriptions.iter().find(|s| s.context.as_deref() == Some(context));
    match room {
        Some(s) if s.address == MUTED => None,
        Some(s) => Some(s.address.clone()),
        None => subscriptions
            .iter()
            .find(|s| s.context.is_none())
            .map(|s| s.address.clone()),
    }
}

impl<S: NotifyStore> Notifier<S> {
    /// Removes the reply addresses of rooms past their retention (issue
    /// #30): a reply to a digest about messages that are gone no longer
    /// lands. How many went.
    pub async fn expire_reply_routes(&self, retention: &crate::config::Retention) -> Result<usize, StoreError> {
        let now_ms = self.clock.now_ms();
        let cutoff = |context: &str| retention.cutoff_ms(context, now_ms).map(|ms| ms / 1000);
        self.store.expire_reply_routes(&cutoff).await
    }

    pub fn new(store: S, chat: Arc<dyn ChatView>, mailer: Arc<dyn Mailer>, config: NotifyConfig, clock: Clock) -> Self {
        Self {
            store,
            chat,
            mailer,
            codes: CodeKey::new(&derived(&config.secret, "dachat codes")),
            links: UnsubscribeKey::new(&derived(&config.secret, "dachat unsubscribe")),
            replies: ReplyKey::new(&derived(&config.secret, "dachat replies")),
            config,
            clock,
        }
    }

    /// The store (tests and the benchmark look inside).
    pub fn store(&self) -> &S {
        &self.store
    }

    fn allowed(who: Requester<'_>, context: Option<&ContextName>) -> Result<(), NotifyError> {
        match context {
            Some(c) if !who.rooms.contains(c) => Err(NotifyError::ContextNotAllowed),
            _ => Ok(()),
        }
    }

    async fn turn_on(
        &self,
        identity: &str,
        context: Option<&ContextName>,
        address: String,
    ) -> Result<Subscribed, NotifyError> {
        self.store
            .subscribe(&Subscription {
                identity: identity.to_owned(),
                context: context.map(|c| c.as_str().to_owned()),
                address: address.clone(),
                since: self.clock.now_secs(),
            })
            .await?;
        Ok(Subscribed::On { address })
    }

    async fn do_subscribe(
        &self,
        who: Requester<'_>,
        context: Option<&ContextName>,
        address: Option<&str>,
    ) -> Result<Subscribed, NotifyError> {
        Self::allowed(who, context)?;
        // one definition of an address, checked before anything is counted
        let vouched = who.vouched_address.and_then(|e| EmailAddress::parse(e).ok());
        let address = match (address, &vouched) {
            (Some(typed), _) => EmailAddress::parse(typed).map_err(|e| NotifyError::BadAddress(e.to_string()))?,
            (None, Some(vouched)) => vouched.clone(),
            (None, None) => return Err(NotifyError::BadAddress(AddressError::Empty.to_string())),
        };
        let identity = who.identity;
        if vouched.as_ref() == Some(&address) {
            return self.turn_on(identity, context, address.into_string()).await;
        }
        // an address already confirmed for another room needs no new code
        // (the same address: a mailbox's other spellings still need one)
        if self
            .store
            .subscriptions(identity)
            .await?
            .iter()
            .any(|s| s.address.eq_ignore_ascii_case(address.as_str()))
        {
            return self.turn_on(identity, context, address.into_string()).await;
        }
        let now = self.clock.now_secs();
        let mailbox = address.mailbox();
        let recent = self
            .store
            .recent_codes(identity, &mailbox, now.saturating_sub(3600))
            .await?;
        let (code, pending) = self
            .codes
            .issue(identity, address.as_str(), now, recent)
            .map_err(NotifyError::CodeRefused)?;
        let email = digest_mail::render_code(address.as_str(), &self.config.product, &code)
            .map_err(|e: MailError| NotifyError::BadAddress(e.to_string()))?;
        // sent, then kept: a code the mail provider did not take (an outage)
        // is neither counted against the hour's limits nor left to confirm,
        // so asking again after the outage works; a code kept is one sent
        self.mailer.send(std::slice::from_ref(&email)).await.map_err(|e| {
            tracing::warn!(error = %e, "a confirmation code could not be sent");
            NotifyError::Mail(e)
        })?;
        self.store.put_code(&pending, &mailbox).await?;
        let address = address.into_string();
        Ok(Subscribed::CodeSent { address })
    }

    async fn do_confirm(
        &self,
        who: Requester<'_>,
        context: Option<&ContextName>,
        address: &str,
        code: &str,
    ) -> Result<Subscribed, NotifyError> {
        Self::allowed(who, context)?;
        let address = EmailAddress::parse(address)
            .map_err(|e| NotifyError::BadAddress(e.to_string()))?
            .into_string();
        let identity = who.identity;
        let mut pending = self.store.code(identity, &address).await?.ok_or(NotifyError::NoCode)?;
        let outcome = self.codes.check(&mut pending, code, self.clock.now_secs());
        if outcome != CodeOutcome::Malformed {
            self.store.update_code(&pending).await?;
        }
        match outcome {
            CodeOutcome::Confirmed => self.turn_on(identity, context, address).await,
            other => Err(NotifyError::Code(other)),
        }
    }

    async fn do_unsubscribe(&self, identity: &str, stop: Stop<'_>) -> Result<(), NotifyError> {
        let subscriptions = self.store.subscriptions(identity).await?;
        let all_rooms = subscriptions.iter().any(|s| s.context.is_none());
        let gone = |s: &Subscription| match stop {
            Stop::Everything => true,
            // the exceptions mean nothing without the all-rooms subscription
            Stop::AllRooms => s.context.is_none() || s.address == MUTED,
            Stop::Room(room) => s.context.as_deref() == Some(room),
        };
        for s in subscriptions.iter().filter(|s| gone(s)) {
            self.store.unsubscribe(identity, s.context.as_deref()).await?;
        }
        if let (Stop::Room(room), true) = (stop, all_rooms) {
            // an exception to the all-rooms subscription
            self.store
                .subscribe(&Subscription {
                    identity: identity.to_owned(),
                    context: Some(room.to_owned()),
                    address: MUTED.to_owned(),
                    since: self.clock.now_secs(),
                })
                .await?;
        }
        Ok(())
    }

    fn link(&self, template: &str, context: &str) -> String {
        template.replace("{context}", &percent(context))
    }
}

impl<S: NotifyStore + 'static> Notify for Notifier<S> {
    fn subscriptions<'a>(&'a self, identity: &'a str) -> BoxFuture<'a, Result<Vec<Subscription>, NotifyError>> {
        Box::pin(async move { Ok(self.store.subscriptions(identity).await?) })
    }

    fn subscribe<'a>(
        &'a self,
        who: Requester<'a>,
        context: Option<&'a ContextName>,
        address: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Subscribed, NotifyError>> {
        Box::pin(self.do_subscribe(who, context, address))
    }

    fn confirm<'a>(
        &'a self,
        who: Requester<'a>,
        context: Option<&'a ContextName>,
        address: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<Subscribed, NotifyError>> {
        Box::pin(self.do_confirm(who, context, address, code))
    }

    fn unsubscribe<'a>(&'a self, identity: &'a str, stop: Stop<'a>) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.do_unsubscribe(identity, stop))
    }

    fn link_target(&self, identity: &str, room: &str, signature: &str) -> Option<Target> {
        self.links.verify(identity, room, signature)
    }

    fn on_message<'a>(
        &'a self,
        context: &'a str,
        author: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<usize, NotifyError>> {
        Box::pin(self.do_on_message(context, author, at))
    }

    fn on_event<'a>(
        &'a self,
        claim: &'a str,
        conversation: &'a str,
        author: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<EventOutcome, NotifyError>> {
        Box::pin(self.do_on_event(claim, conversation, author, at))
    }

    fn sweep(&self) -> BoxFuture<'_, Result<SweepReport, NotifyError>> {
        Box::pin(self.do_sweep())
    }

    fn on_reply<'a>(&'a self, inbound: &'a Inbound) -> BoxFuture<'a, Result<ReplyOutcome, NotifyError>> {
        Box::pin(self.do_on_reply(inbound))
    }
}
