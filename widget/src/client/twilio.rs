//! The Twilio implementation of [`ChatClient`]: Twilio Conversations through
//! Twilio's own browser SDK (`@twilio/conversations`), by way of the JS shim
//! `js/twilio.js`.
//!
//! The raw bindings are private ([`raw`]); [`Sdk`] and [`Bridge`] are typed,
//! fallible wrappers, and nothing outside this module touches a `JsValue`.
//! One SDK client serves the whole page, shared by all tabs.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::rc::Rc;

use protocol::js::FromJs;
use protocol::local::ServerFrame;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::client::{ChatClient, Event, HISTORY_PAGE, Listener};
use crate::i18n;
use crate::state::{ByName, Connection};

mod raw {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/js/twilio.js")]
    extern "C" {
        #[wasm_bindgen(js_name = sdkUrl)]
        pub fn sdk_url() -> String;

        #[wasm_bindgen(js_name = loadSdk, catch)]
        pub async fn load_sdk(url: &str) -> Result<JsValue, JsValue>;

        #[derive(Clone)]
        pub type TwilioBridge;

        #[wasm_bindgen(constructor, catch)]
        pub fn new(sdk: &JsValue, token: &str, emit: &js_sys::Function) -> Result<TwilioBridge, JsValue>;

        #[wasm_bindgen(method, catch)]
        pub fn open(this: &TwilioBridge, room: &str, sid: &str) -> Result<js_sys::Promise, JsValue>;

        #[wasm_bindgen(method, catch)]
        pub fn history(
            this: &TwilioBridge,
            room: &str,
            before: Option<f64>,
            limit: u32,
        ) -> Result<js_sys::Promise, JsValue>;

        #[wasm_bindgen(method, catch)]
        pub fn send(
            this: &TwilioBridge,
            room: &str,
            client_id: &str,
            body: &str,
            look_first: bool,
        ) -> Result<js_sys::Promise, JsValue>;

        #[wasm_bindgen(method, catch)]
        pub fn edit(this: &TwilioBridge, room: &str, index: f64, body: &str) -> Result<js_sys::Promise, JsValue>;

        #[wasm_bindgen(method, catch)]
        pub fn remove(this: &TwilioBridge, room: &str, index: f64) -> Result<js_sys::Promise, JsValue>;

        #[wasm_bindgen(method, catch)]
        pub fn typing(this: &TwilioBridge, room: &str) -> Result<js_sys::Promise, JsValue>;

        #[wasm_bindgen(method, catch)]
        pub fn read(this: &TwilioBridge, room: &str, up_to: f64) -> Result<js_sys::Promise, JsValue>;

        #[wasm_bindgen(method, catch)]
        pub fn nick(this: &TwilioBridge, nick: &str) -> Result<js_sys::Promise, JsValue>;

        #[wasm_bindgen(method, catch, js_name = updateToken)]
        pub fn update_token(this: &TwilioBridge, token: &str) -> Result<js_sys::Promise, JsValue>;

        #[wasm_bindgen(method, catch)]
        pub fn restart(this: &TwilioBridge, token: &str) -> Result<(), JsValue>;

        #[wasm_bindgen(method)]
        pub fn shutdown(this: &TwilioBridge);

        #[wasm_bindgen(static_method_of = TwilioBridge)]
        pub fn describe(error: &JsValue) -> String;
    }
}

/// A failure reported by the SDK or the shim, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeError(pub String);

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<JsValue> for BridgeError {
    fn from(error: JsValue) -> Self {
        Self(raw::TwilioBridge::describe(&error))
    }
}

/// A bridge call in flight: resolves once the SDK has done it, or with why
/// it could not. (One future type for every call keeps the WASM small.)
#[derive(Debug)]
#[must_use = "a call does nothing unless awaited"]
pub struct Call(Result<wasm_bindgen_futures::JsFuture, Option<BridgeError>>);

impl Call {
    fn new(started: Result<js_sys::Promise, JsValue>) -> Self {
        Self(
            started
                .map(wasm_bindgen_futures::JsFuture::from)
                .map_err(|e| Some(e.into())),
        )
    }
}

impl Future for Call {
    type Output = Result<(), BridgeError>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        match &mut self.0 {
            Ok(pending) => std::pin::Pin::new(pending)
                .poll(cx)
                .map(|settled| settled.map(drop).map_err(BridgeError::from)),
            Err(error) => std::task::Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| BridgeError("the call was already reported".into())))),
        }
    }
}

/// The SDK's connection as the shim reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkState {
    Connecting,
    Online,
    Reconnecting,
    Unreachable,
    /// Twilio refused the access token.
    Denied,
    /// The access token expires soon.
    Expiring,
    Expired,
    /// The SDK gave up.
    Failed,
}

impl SdkState {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "connecting" => Self::Connecting,
            "online" => Self::Online,
            "reconnecting" => Self::Reconnecting,
            "unreachable" => Self::Unreachable,
            "denied" => Self::Denied,
            "expiring" => Self::Expiring,
            "expired" => Self::Expired,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// What the bridge reports.
#[derive(Debug, Clone)]
pub enum BridgeEvent {
    Frame(ServerFrame),
    Connection(SdkState),
}

/// The loaded SDK (`window.Twilio.Conversations`).
#[derive(Clone, Debug)]
pub struct Sdk(JsValue);

impl Sdk {
    /// Loads the SDK build shipped beside the widget (once per page); an SDK
    /// already on the page (a test's stand-in) is used as it is.
    pub async fn load() -> Result<Self, BridgeError> {
        Ok(Self(raw::load_sdk(&raw::sdk_url()).await?))
    }

    /// Starts fetching the SDK now (the core calls it as soon as a session
    /// says Twilio, so the SDK comes while the Twilio piece does, and after
    /// the core's own files); [`Sdk::load`] then waits for the same load.
    /// A failed start is tried again by `load`.
    pub fn start() {
        wasm_bindgen_futures::spawn_local(async {
            let _ = Self::load().await;
        });
    }
}

/// The page's one SDK client, through the shim.
#[derive(Clone)]
pub struct Bridge {
    raw: raw::TwilioBridge,
    _emit: Rc<Closure<dyn FnMut(String, JsValue)>>,
}

impl fmt::Debug for Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge").finish_non_exhaustive()
    }
}

impl Bridge {
    /// Creates the SDK client with a Twilio access token; `on_event` hears
    /// every frame and connection change from then on.
    pub fn new(sdk: &Sdk, token: &str, on_event: impl Fn(BridgeEvent) + 'static) -> Result<Self, BridgeError> {
        let emit = Closure::<dyn FnMut(String, JsValue)>::new(move |kind: String, payload: JsValue| {
            let event = match kind.as_str() {
                "frame" => ServerFrame::from_js(&payload).map(BridgeEvent::Frame),
                "connection" => payload
                    .as_string()
                    .and_then(|state| SdkState::parse(&state))
                    .map(BridgeEvent::Connection),
                _ => None,
            };
            if let Some(event) = event {
                on_event(event);
            }
        });
        let function: &js_sys::Function = wasm_bindgen::JsCast::unchecked_ref(emit.as_ref());
        let raw = raw::TwilioBridge::new(&sdk.0, token, function)?;
        Ok(Self {
            raw,
            _emit: Rc::new(emit),
        })
    }

    /// Opens a room's conversation; a `joined` frame follows.
    pub fn open(&self, room: &str, conversation_sid: &str) -> Call {
        Call::new(self.raw.open(room, conversation_sid))
    }

    /// A page of messages older than `before` (the newest without it); a
    /// `history` frame follows.
    pub fn history(&self, room: &str, before: Option<i64>, limit: u32) -> Call {
        Call::new(self.raw.history(room, before.map(|b| b as f64), limit))
    }

    /// Sends a message; an `ack` frame follows once Twilio has it.
    /// `look_first`: it may be there already (see [`ChatClient::send`]);
    /// the shim looks at the conversation's recent messages for its client
    /// id, and only acknowledges it when it is found.
    pub fn send(&self, room: &str, client_id: &str, body: &str, look_first: bool) -> Call {
        Call::new(self.raw.send(room, client_id, body, look_first))
    }

    pub fn edit(&self, room: &str, id: i64, body: &str) -> Call {
        Call::new(self.raw.edit(room, id as f64, body))
    }

    pub fn delete(&self, room: &str, id: i64) -> Call {
        Call::new(self.raw.remove(room, id as f64))
    }

    pub fn typing(&self, room: &str) -> Call {
        Call::new(self.raw.typing(room))
    }

    /// Advances the read horizon; a `read` frame follows.
    pub fn read(&self, room: &str, up_to: i64) -> Call {
        Call::new(self.raw.read(room, up_to as f64))
    }

    /// Sets the user's friendly name (empty clears it).
    pub fn nick(&self, nick: &str) -> Call {
        Call::new(self.raw.nick(nick))
    }

    pub fn update_token(&self, token: &str) -> Call {
        Call::new(self.raw.update_token(token))
    }

    /// Replaces the SDK client with a new one (rooms must be opened again).
    pub fn restart(&self, token: &str) -> Result<(), BridgeError> {
        Ok(self.raw.restart(token)?)
    }

    /// Disconnects; nothing is reported after this.
    pub fn shutdown(&self) {
        self.raw.shutdown();
    }

    /// A promise of a temporary address of a shown message's file (its
    /// media SID), from Twilio's media service. Called by name: a typed
    /// binding's shim would sit in the core's glue for the attachment
    /// piece's sake.
    pub fn media_url(&self, sid: &str) -> Option<js_sys::Promise> {
        self.by_name("mediaUrl", &[&JsValue::from_str(sid)])
    }

    /// Sends a message carrying a file (see `sendMedia` in the shim); by
    /// name, like [`Bridge::media_url`].
    pub fn send_media(
        &self,
        room: &str,
        client_id: &str,
        body: &str,
        media: &JsValue,
        content_type: &str,
        name: &str,
    ) -> Option<js_sys::Promise> {
        let text = |s: &str| JsValue::from_str(s);
        self.by_name(
            "sendMedia",
            &[
                &text(room),
                &text(client_id),
                &text(body),
                media,
                &text(content_type),
                &text(name),
            ],
        )
    }

    /// The promise the shim's `method` returns for `args`.
    fn by_name(&self, method: &str, args: &[&JsValue]) -> Option<js_sys::Promise> {
        let raw: &JsValue = self.raw.as_ref();
        let function: js_sys::Function = js_sys::Reflect::get(raw, &JsValue::from_str(method))
            .ok()?
            .dyn_into()
            .ok()?;
        let args: js_sys::Array = args.iter().copied().collect();
        js_sys::Reflect::apply(&function, raw, &args).ok()?.dyn_into().ok()
    }
}

struct Inner {
    bridge: Option<Bridge>,
    token: String,
    /// Room → conversation SID, as the sessions answered.
    sids: ByName<String>,
    online: bool,
    attempt: u32,
    /// A renewed token was asked for after Twilio refused one.
    renewed_after_denial: bool,
    listener: Listener,
}

/// The Twilio client: one SDK client for the page, shared by all tabs.
#[derive(Clone)]
pub struct TwilioClient {
    inner: Rc<RefCell<Inner>>,
}

impl fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioClient").finish_non_exhaustive()
    }
}

impl TwilioClient {
    /// Loads the SDK and creates its client with a Twilio access token.
    pub async fn connect(token: &str, listener: Listener) -> Result<Self, BridgeError> {
        let sdk = Sdk::load().await?;
        let client = Self {
            inner: Rc::new(RefCell::new(Inner {
                bridge: None,
                token: token.to_owned(),
                sids: ByName::default(),
                online: false,
                attempt: 0,
                renewed_after_denial: false,
                listener,
            })),
        };
        let weak = Rc::downgrade(&client.inner);
        let bridge = Bridge::new(&sdk, token, move |event| {
            if let Some(inner) = weak.upgrade() {
                Self { inner }.on_bridge(event);
            }
        })?;
        client.inner.borrow_mut().bridge = Some(bridge);
        client.emit(Event::Connection(Connection::Connecting));
        Ok(client)
    }

    fn emit(&self, event: Event) {
        let listener = self.inner.borrow().listener.clone();
        listener(event);
    }

    fn bridge(&self) -> Option<Bridge> {
        self.inner.borrow().bridge.clone()
    }

    fn on_bridge(&self, event: BridgeEvent) {
        match event {
            BridgeEvent::Frame(frame) => self.emit(Event::Frame(frame)),
            BridgeEvent::Connection(state) => self.on_state(state),
        }
    }

    fn on_state(&self, state: SdkState) {
        let connection = {
            let mut inner = self.inner.borrow_mut();
            // a warning about the token says nothing about the connection
            if !matches!(state, SdkState::Expiring | SdkState::Expired) {
                inner.online = state == SdkState::Online;
            }
            match state {
                SdkState::Connecting => Some(Connection::Connecting),
                SdkState::Online => {
                    inner.attempt = 0;
                    inner.renewed_after_denial = false;
                    Some(Connection::Online)
                }
                SdkState::Reconnecting | SdkState::Unreachable => {
                    inner.attempt += 1;
                    Some(Connection::Reconnecting(inner.attempt))
                }
                SdkState::Expiring | SdkState::Expired => None,
                SdkState::Denied if !inner.renewed_after_denial => {
                    inner.renewed_after_denial = true;
                    None
                }
                SdkState::Denied => Some(Connection::Failed(i18n::t(i18n::Msg::ErrorSessionRefused))),
                SdkState::Failed => Some(Connection::Failed(i18n::t(i18n::Msg::ErrorCannotConnect))),
            }
        };
        match connection {
            Some(connection) => self.emit(Event::Connection(connection)),
            // a new token is needed: the view renews it and hands it back
            None => self.emit(Event::TokenNeeded),
        }
    }

    /// Runs one bridge call; a failure becomes an `error` frame.
    fn run(&self, code: &'static str, client_id: Option<&str>, call: impl FnOnce(&Bridge) -> Call) {
        let Some(bridge) = self.bridge() else {
            return;
        };
        self.settle(code, client_id.map(str::to_owned), call(&bridge));
    }

    /// Runs one bridge call whose failure nobody needs to hear about.
    fn best_effort(&self, call: impl FnOnce(&Bridge) -> Call) {
        if let Some(bridge) = self.bridge() {
            let call = call(&bridge);
            wasm_bindgen_futures::spawn_local(async move {
                let _ = call.await;
            });
        }
    }

    fn settle(&self, code: &'static str, client_id: Option<String>, call: Call) {
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(error) = call.await {
                this.emit(Event::Frame(ServerFrame::Error {
                    code: code.into(),
                    message: explain(code, &error),
                    client_id,
                    room: None,
                }));
            }
        });
    }
}

/// What a failed call means to the user: plain words for what did not
/// happen, then the SDK's reason.
fn explain(code: &str, error: &BridgeError) -> String {
    let what = i18n::t(i18n::for_code(code).unwrap_or(i18n::Msg::ErrorProvider));
    format!("{what} ({error})")
}

impl ChatClient for TwilioClient {
    fn file_url(&self, id: &str) -> Option<js_sys::Promise> {
        self.inner.borrow().bridge.as_ref()?.media_url(id)
    }
    fn send_media(
        &self,
        room: &str,
        client_id: &str,
        body: &str,
        media: &JsValue,
        content_type: &str,
        name: &str,
    ) -> Option<js_sys::Promise> {
        self.inner
            .borrow()
            .bridge
            .as_ref()?
            .send_media(room, client_id, body, media, content_type, name)
    }
    fn set_conversation(&self, room: &str, conversation_sid: &str) {
        self.inner
            .borrow_mut()
            .sids
            .insert(room.to_owned(), conversation_sid.to_owned());
    }
    fn join(&self, room: &str) {
        let Some(sid) = self.inner.borrow().sids.get(room).cloned() else {
            return;
        };
        self.run("join_failed", None, |b| b.open(room, &sid));
    }
    fn history(&self, room: &str, before: Option<i64>) {
        self.run("history_failed", None, |b| b.history(room, before, HISTORY_PAGE));
    }
    fn refusal(&self, body: &str) -> Option<String> {
        crate::client::too_long(body)
    }
    fn send(&self, room: &str, client_id: &str, body: &str, maybe_sent: bool) -> bool {
        if !self.inner.borrow().online || !crate::browser::online() {
            return false;
        }
        self.run("send_failed", Some(client_id), |b| {
            b.send(room, client_id, body, maybe_sent)
        });
        true
    }
    fn edit(&self, room: &str, id: i64, body: &str) {
        self.run("edit_failed", None, |b| b.edit(room, id, body));
    }
    fn delete(&self, room: &str, id: i64) {
        self.run("delete_failed", None, |b| b.delete(room, id));
    }
    fn typing(&self, room: &str) {
        // a lost typing signal is not worth a message
        self.best_effort(|b| b.typing(room));
    }
    fn read(&self, room: &str, up_to: i64) {
        // the next read (or session) moves the horizon
        self.best_effort(|b| b.read(room, up_to));
    }
    fn nick(&self, nick: Option<&str>) {
        self.run("nick_failed", None, |b| b.nick(nick.unwrap_or_default()));
    }
    fn update_token(&self, token: &str) {
        self.inner.borrow_mut().token = token.to_owned();
        let Some(bridge) = self.bridge() else {
            return;
        };
        let (this, call, token) = (self.clone(), bridge.update_token(token), token.to_owned());
        wasm_bindgen_futures::spawn_local(async move {
            // a client that cannot take the token (it was refused, or it
            // expired while the tab slept) is replaced by a new one
            if call.await.is_err() && bridge.restart(&token).is_err() {
                this.emit(Event::Connection(Connection::Failed(i18n::t(
                    i18n::Msg::ErrorCannotConnect,
                ))));
            }
        });
    }
    fn retry(&self) {
        let (bridge, token) = {
            let mut inner = self.inner.borrow_mut();
            inner.attempt = 0;
            inner.online = false;
            inner.renewed_after_denial = false;
            (inner.bridge.clone(), inner.token.clone())
        };
        if let Some(bridge) = bridge {
            self.emit(Event::Connection(Connection::Connecting));
            if bridge.restart(&token).is_err() {
                self.emit(Event::Connection(Connection::Failed(i18n::t(
                    i18n::Msg::ErrorCannotConnect,
                ))));
            }
        }
    }
    fn shutdown(&self) {
        if let Some(bridge) = self.inner.borrow_mut().bridge.take() {
            bridge.shutdown();
        }
    }
}
