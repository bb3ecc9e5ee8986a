//! The chat-client interface the UI talks to ([`ChatClient`]), and its two
//! implementations: [`local`], a WebSocket to the embedded local provider
//! (in the core), and [`twilio`], Twilio's JS SDK through the shim
//! `js/twilio.js` (its Rust half is fetched as a piece, `chat::pieces`).

use std::rc::Rc;

use protocol::local::{Attachment, ServerFrame};

use crate::i18n::{Msg, tf};
use crate::state::Connection;

mod local;
pub mod twilio;

pub use local::LocalClient;

/// What a client reports to the UI.
#[derive(Debug, Clone)]
pub enum Event {
    Frame(ServerFrame),
    Connection(Connection),
    /// The access token expires soon, has expired, or was refused: renew it
    /// (`POST /v1/token`) and hand it to [`ChatClient::update_token`].
    TokenNeeded,
    /// A frame that is not one of `protocol::local`'s (moderation's, issue
    /// #30), as it came: for the piece that reads it.
    Other(String),
}

/// Messages per history page.
pub const HISTORY_PAGE: u32 = 20;

pub type Listener = Rc<dyn Fn(Event)>;

/// One connection to a chat provider, shared by all tabs.
pub trait ChatClient {
    /// Records that `room`'s conversation at the provider is
    /// `conversation_sid`, as a session answered (needed before
    /// [`ChatClient::join`]; the local provider names rooms directly).
    fn set_conversation(&self, _room: &str, _conversation_sid: &str) {}
    /// Start receiving a room's events; a `Joined` frame follows.
    fn join(&self, room: &str);
    /// A page of messages older than `before` (the newest without it).
    fn history(&self, room: &str, before: Option<i64>);
    /// Posts a message; `false` when there is no open connection to carry
    /// it (the caller keeps it and sends it again once connected).
    /// `maybe_sent`: it may have reached the provider before (an earlier
    /// connection, or a reload); a provider that does not deduplicate on
    /// the client id looks for it before posting.
    fn send(&self, room: &str, client_id: &str, body: &str, maybe_sent: bool) -> bool;
    /// Posts a message carrying `file`, which the provider has already
    /// (uploaded through [`ChatClient::file_endpoint`]); like
    /// [`ChatClient::send`] otherwise. `false` from a provider that cannot
    /// carry files yet.
    fn send_file(&self, _room: &str, _client_id: &str, _body: &str, _file: &Attachment) -> bool {
        false
    }
    /// Where files are uploaded and fetched, and the token that opens it
    /// (`None`: this provider carries no files through DAChat's API).
    fn file_endpoint(&self) -> Option<(String, String)> {
        None
    }
    /// A promise of a temporary address of the file `id` of a message
    /// shown, from a provider that keeps files itself (Twilio's media
    /// service); `None` from one whose files are at [`ChatClient::file_endpoint`].
    fn file_url(&self, _id: &str) -> Option<js_sys::Promise> {
        None
    }
    /// Posts a message carrying `media` (a `Blob` of `content_type`, named
    /// `name`) through a provider that takes files with the message
    /// (Twilio's media service); a cancellable promise (`cancel()`) that
    /// resolves once the provider has it. `None`: files go through
    /// [`ChatClient::file_endpoint`] first, or this provider takes none.
    fn send_media(
        &self,
        _room: &str,
        _client_id: &str,
        _body: &str,
        _media: &wasm_bindgen::JsValue,
        _content_type: &str,
        _name: &str,
    ) -> Option<js_sys::Promise> {
        None
    }
    /// Why the provider would refuse `body` (its length limit), in words
    /// for the user; checked before anything is sent, so a message too big
    /// for the connection never reaches it.
    fn refusal(&self, body: &str) -> Option<String>;
    fn edit(&self, room: &str, id: i64, body: &str);
    /// Writes a moderation frame (`protocol::moderation`, as JSON) on the
    /// local provider's connection; `false` when there is none (or on
    /// Twilio, where moderation will go through DAChat's API).
    fn moderate(&self, _frame: &str) -> bool {
        false
    }
    fn delete(&self, room: &str, id: i64);
    fn typing(&self, room: &str);
    fn read(&self, room: &str, up_to: i64);
    fn nick(&self, nick: Option<&str>);
    /// A renewed access token, used from the next (re)connection on.
    fn update_token(&self, token: &str);
    /// Reconnect now (the user pressed "retry").
    fn retry(&self);
    fn shutdown(&self);
}

/// Wait before reconnect attempt `n` (1-based): 0.5 s doubling to 15 s,
/// of which a random half (`random` in 0..1): windows that lost the same
/// server together do not come back together.
pub fn backoff_ms(attempt: u32, random: f64) -> i32 {
    let ceiling = (500i32.saturating_mul(1 << attempt.saturating_sub(1).min(5))).min(15_000);
    ceiling / 2 + (f64::from(ceiling / 2) * random.clamp(0.0, 1.0)) as i32
}

/// The refusal of a message longer than either provider takes
/// ([`protocol::MAX_MESSAGE_UNITS`]; the composer holds no more, but a
/// draft or an edit might).
pub fn too_long(body: &str) -> Option<String> {
    let (size, limit) = (protocol::message_units(body), protocol::MAX_MESSAGE_UNITS);
    (size > limit).then(|| {
        tf(
            Msg::ComposerTooLongChars,
            &[("size", &size.to_string()), ("limit", &limit.to_string())],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_over_the_limit_is_refused_in_words() {
        assert_eq!(too_long(&"a".repeat(1600)), None);
        assert_eq!(too_long(&"€".repeat(1600)), None);
        assert_eq!(
            too_long(&"a".repeat(100_001)).as_deref(),
            Some("This message is too long: 100001 characters, at most 1600. Shorten it or split it.")
        );
        // counted as the browser counts: an emoji is two
        assert!(too_long(&"🚚".repeat(801)).is_some());
    }

    #[test]
    fn backoff_grows_is_capped_and_spread() {
        assert_eq!(backoff_ms(1, 1.0), 500);
        assert_eq!(backoff_ms(2, 1.0), 1000);
        assert_eq!(backoff_ms(5, 1.0), 8000);
        assert_eq!(backoff_ms(6, 1.0), 15_000);
        assert_eq!(backoff_ms(60, 1.0), 15_000);
        // the jitter: between half the ceiling and the ceiling
        assert_eq!(backoff_ms(5, 0.0), 4000);
        assert_eq!(backoff_ms(5, 0.5), 6000);
        assert_eq!(backoff_ms(60, 7.0), 15_000, "a random number out of range is clamped");
    }
}
