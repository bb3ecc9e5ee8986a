//! The local provider's client: a WebSocket to the embedded provider
//! (`local-chat`), reconnecting with [`backoff_ms`], speaking the frames of
//! `protocol::local`.

use std::cell::RefCell;
use std::rc::Rc;

use protocol::js as json;
use protocol::local::{Attachment, ClientFrame, ServerFrame};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use super::{ChatClient, Event, HISTORY_PAGE, Listener, backoff_ms, too_long};
use crate::browser;
use crate::state::Connection;

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
                } else {
                    this.emit(Event::Other(text));
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
        json::stringify(frame).is_some_and(|text| self.send_text(&text))
    }

    /// Writes `text` on the open connection; `false` if there is none.
    fn send_text(&self, text: &str) -> bool {
        let inner = self.inner.borrow();
        inner
            .socket
            .as_ref()
            .filter(|s| s.ready_state() == web_sys::WebSocket::OPEN)
            .is_some_and(|socket| socket.send_with_str(text).is_ok())
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
    fn moderate(&self, frame: &str) -> bool {
        self.send_text(frame)
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
