//! The chat-client interface the UI talks to, and its local implementation
//! (WebSocket to the embedded local provider). The Twilio implementation
//! (through Twilio's JS SDK) implements the same trait.

use std::cell::RefCell;
use std::rc::Rc;

use protocol::local::{Attachment, ClientFrame, ServerFrame};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::browser;
use crate::i18n::{Msg, tf};
use crate::state::Connection;
use protocol::js as json;

/// What a client reports to the UI.
#[derive(Debug, Clone)]
pub enum Event {
    Frame(ServerFrame),
    Connection(Connection),
    /// The access token expires soon, has expired, or was refused: renew it
    /// (`POST /v1/token`) and hand it to [`ChatClient::update_token`].
    TokenNeeded,
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

struct Inner {
    /// The API's base URL.
    api: String,
    ws_url: String,
    token: String,
    socket: Option<web_sys::WebSocket>,
    attempt: u32,
    closed_by_us: bool,
    listener: Listener,
    // kept alive while the socket lives
    handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    timer: Option<i32>,
}

/// The local provider's client.
#[derive(Clone)]
pub struct LocalClient {
    inner: Rc<RefCell<Inner>>,
}

/// Wait before reconnect attempt `n` (1-based): 0.5 s doubling to 15 s,
/// of which a random half (`random` in 0..1): windows that lost the same
/// server together do not come back together.
pub fn backoff_ms(attempt: u32, random: f64) -> i32 {
    let ceiling = (500i32.saturating_mul(1 << attempt.saturating_sub(1).min(5))).min(15_000);
    ceiling / 2 + (f64::from(ceiling / 2) * random.clamp(0.0, 1.0)) as i32
}

impl std::fmt::Debug for LocalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalClient")
            .field("url", &self.inner.borrow().ws_url)
            .finish_non_exhaustive()
    }
}

impl LocalClient {
    /// `api` is the API's base URL (`http(s)://…`); connects at once.
    pub fn connect(api: &str, token: &str, listener: Listener) -> Self {
        let ws_base = api.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
        let inner = Inner {
            api: api.to_owned(),
            ws_url: format!("{ws_base}/v1/local/ws"),
            token: token.to_owned(),
            socket: None,
            attempt: 0,
            closed_by_us: false,
            listener,
            handlers: Vec::new(),
            timer: None,
        };
        let client = Self {
            inner: Rc::new(RefCell::new(inner)),
        };
        client.open_socket();
        client
    }

    fn emit(&self, event: Event) {
        let listener = self.inner.borrow().listener.clone();
        listener(event);
    }

    fn open_socket(&self) {
        let url = {
            let inner = self.inner.borrow();
            format!("{}?token={}", inner.ws_url, js_sys::encode_uri_component(&inner.token))
        };
        let socket = match web_sys::WebSocket::new(&url) {
            Ok(socket) => socket,
            Err(_) => {
                self.schedule_reconnect();
                return;
            }
        };
        let on_open = {
            let this = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                this.inner.borrow_mut().attempt = 0;
                this.emit(Event::Connection(Connection::Online));
            })
        };
        let on_message = {
            let this = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                let Some(text) = event
                    .dyn_ref::<web_sys::MessageEvent>()
                    .and_then(|m| m.data().as_string())
                else {
                    return;
                };
                if let Some(frame) = json::parse::<ServerFrame>(&text) {
                    let reconnect = matches!(&frame, ServerFrame::Error { code, .. } if code == "reconnect");
                    this.emit(Event::Frame(frame));
                    if reconnect {
                        this.drop_socket();
                        this.schedule_reconnect();
                    }
                }
            })
        };
        let on_close = {
            let this = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                if this.inner.borrow().closed_by_us {
                    return;
                }
                this.drop_socket();
                this.schedule_reconnect();
            })
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let mut inner = self.inner.borrow_mut();
        inner.handlers = vec![on_open, on_message, on_close];
        inner.socket = Some(socket);
    }

    fn drop_socket(&self) {
        let socket = self.inner.borrow_mut().socket.take();
        if let Some(socket) = socket {
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onclose(None);
            let _ = socket.close();
        }
    }

    fn schedule_reconnect(&self) {
        let attempt = {
            let mut inner = self.inner.borrow_mut();
            inner.attempt += 1;
            inner.attempt
        };
        self.emit(Event::Connection(Connection::Reconnecting(attempt)));
        let this = self.clone();
        let callback = Closure::once_into_js(move || {
            this.inner.borrow_mut().timer = None;
            if !this.inner.borrow().closed_by_us {
                this.open_socket();
            }
        });
        if let Some(window) = web_sys::window() {
            let id = window
                .set_timeout_with_callback_and_timeout_and_arguments_0(
                    callback.unchecked_ref(),
                    backoff_ms(attempt, js_sys::Math::random()),
                )
                .ok();
            self.inner.borrow_mut().timer = id;
        }
    }

    /// A `send` frame, with the id of an uploaded file or none. The local
    /// provider stores a client id once: a resend is harmless; a browser
    /// that says it is offline keeps it (the socket may not know yet).
    fn post(&self, room: &str, client_id: &str, body: &str, attachment: Option<String>) -> bool {
        browser::online()
            && self.send_frame(&ClientFrame::Send {
                room: room.into(),
                client_id: client_id.into(),
                body: body.into(),
                attachment,
            })
    }

    /// Writes a frame on the open connection; `false` if there is none.
    fn send_frame(&self, frame: &ClientFrame) -> bool {
        let inner = self.inner.borrow();
        let open = inner
            .socket
            .as_ref()
            .filter(|s| s.ready_state() == web_sys::WebSocket::OPEN);
        match (open, json::stringify(frame)) {
            (Some(socket), Some(text)) => socket.send_with_str(&text).is_ok(),
            _ => false,
        }
    }
}

impl ChatClient for LocalClient {
    fn join(&self, room: &str) {
        self.send_frame(&ClientFrame::Join { room: room.into() });
    }
    fn history(&self, room: &str, before: Option<i64>) {
        self.send_frame(&ClientFrame::History {
            room: room.into(),
            before,
            limit: Some(HISTORY_PAGE),
        });
    }
    fn refusal(&self, body: &str) -> Option<String> {
        too_long(body.trim_end())
    }
    fn send(&self, room: &str, client_id: &str, body: &str, _maybe_sent: bool) -> bool {
        self.post(room, client_id, body, None)
    }
    fn send_file(&self, room: &str, client_id: &str, body: &str, file: &Attachment) -> bool {
        self.post(room, client_id, body, Some(file.id.clone()))
    }
    fn file_endpoint(&self) -> Option<(String, String)> {
        let inner = self.inner.borrow();
        Some((format!("{}/v1/local/files", inner.api), inner.token.clone()))
    }
    fn edit(&self, room: &str, id: i64, body: &str) {
        self.send_frame(&ClientFrame::Edit {
            room: room.into(),
            id,
            body: body.into(),
        });
    }
    fn delete(&self, room: &str, id: i64) {
        self.send_frame(&ClientFrame::Delete { room: room.into(), id });
    }
    fn typing(&self, room: &str) {
        self.send_frame(&ClientFrame::Typing { room: room.into() });
    }
    fn read(&self, room: &str, up_to: i64) {
        self.send_frame(&ClientFrame::Read {
            room: room.into(),
            up_to,
        });
    }
    fn nick(&self, nick: Option<&str>) {
        self.send_frame(&ClientFrame::Nick {
            nick: nick.unwrap_or_default().into(),
        });
    }
    fn update_token(&self, token: &str) {
        self.inner.borrow_mut().token = token.to_owned();
    }
    fn retry(&self) {
        let timer = self.inner.borrow_mut().timer.take();
        if let (Some(id), Some(window)) = (timer, web_sys::window()) {
            window.clear_timeout_with_handle(id);
        }
        self.drop_socket();
        self.inner.borrow_mut().attempt = 0;
        self.open_socket();
    }
    fn shutdown(&self) {
        self.inner.borrow_mut().closed_by_us = true;
        self.drop_socket();
    }
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
