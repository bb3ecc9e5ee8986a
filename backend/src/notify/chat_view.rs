//! The chat provider as the notifier sees it ([`ChatView`]): who is in a
//! room, which rooms a person is in and what they have not read, and a
//! way to post a reply by e-mail. Implemented over Twilio's REST API
//! ([`super::twilio_view`]) and over the local provider's store
//! (`local_chat`).

use std::future::Future;
use std::pin::Pin;

/// A boxed future, for the traits that are used as objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The chat provider failed (log-safe description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewError(pub String);

/// One room of one person, as the provider sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomView {
    pub context: String,
    pub unread_from_others: u32,
    /// When the oldest of those was written (Unix seconds).
    pub oldest_unread_at: Option<u64>,
    /// The person's read horizon (message index or id).
    pub horizon: Option<i64>,
    /// The person muted the room in the provider.
    pub muted: bool,
    /// The newest unread messages by others (author, text), oldest first,
    /// at most the number asked for (none unless excerpts are on).
    pub latest: Vec<(String, String)>,
}

/// A person's presence and rooms, as the provider sees them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonView {
    pub online: bool,
    pub last_seen_at: Option<u64>,
    pub rooms: Vec<RoomView>,
}

/// What the notifier reads of the chat provider (Twilio REST or the local
/// provider's store).
pub trait ChatView: Send + Sync {
    /// The context (room name) of the provider's `conversation` (a Twilio
    /// conversation SID; the local provider's rooms are their names).
    fn context_of<'a>(&'a self, conversation: &'a str) -> BoxFuture<'a, Result<Option<String>, ViewError>>;
    /// Who is in `context`.
    fn members<'a>(&'a self, context: &'a str) -> BoxFuture<'a, Result<Vec<String>, ViewError>>;
    /// The rooms `identity` is in.
    fn rooms_of<'a>(&'a self, identity: &'a str) -> BoxFuture<'a, Result<Vec<String>, ViewError>>;
    /// Writes `body` into `context` as `identity` (a reply by e-mail), so
    /// the room and its notifications see it as any message; `key` stands
    /// for the e-mail, so a provider that can tell a repeat drops it.
    fn post<'a>(
        &'a self,
        context: &'a str,
        identity: &'a str,
        body: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), ViewError>>;
    /// Presence and the state of each of `contexts` (`None`: every room
    /// they are in, read in the same call; rooms they are not in are left
    /// out), with up to `excerpts` of each room's newest unread messages
    /// by others.
    fn person<'a>(
        &'a self,
        identity: &'a str,
        contexts: Option<&'a [String]>,
        excerpts: usize,
    ) -> BoxFuture<'a, Result<PersonView, ViewError>>;
}
