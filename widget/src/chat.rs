//! The session controller, in the shape of leptos-use's `use_websocket`:
//! [`use_chat`] starts a chat for the page and returns [`UseChatReturn`],
//! the state to draw and the acts a view may ask for. It owns the session
//! (`/v1/session`, the provider's client), what the client reports
//! (connection changes, frames, "a token is needed"), token renewal,
//! rejoining and resending after a reconnect, reopening the last page
//! view's tabs and joining rooms. The view only reads the state and calls
//! these methods; the state's rules live in [`crate::state`].

use std::rc::Rc;

use leptos::prelude::*;
use protocol::Provider;
use protocol::js as json;
use protocol::local::{Attachment, ServerFrame};
use wasm_bindgen::JsValue;

use crate::browser;
use crate::cache;
use crate::client::{ChatClient, Event, Listener, LocalClient};
use crate::commands::{self, Input};
use crate::i18n;
use crate::state::{ChatState, Connection};

mod api_calls;
pub mod offline;
pub mod pieces;

/// The host page's live signals: what the page can still change once the
/// chat is mounted.
#[derive(Clone, Copy)]
pub struct Page {
    pub host_token: RwSignal<String>,
    pub wanted_context: RwSignal<String>,
    /// Counts how often the minimised chat was opened again.
    pub reopened: RwSignal<u32>,
    /// Counts locale switches ([`crate::i18n`]): the window is drawn again.
    pub locale: RwSignal<u32>,
    /// The loader's panel the chat lives in (hidden while minimised).
    pub panel: StoredValue<Option<web_sys::HtmlElement>, LocalStorage>,
    /// Whether the device may keep history and the outbox ([`crate::cache`];
    /// the host's `data-cache="off"` says no).
    pub keep: bool,
}

/// Where the provider's client is kept; the mount owns it, to shut it down.
pub type ClientSlot = StoredValue<Option<Rc<dyn ChatClient>>, LocalStorage>;

/// A running chat: what to draw, and what a view may ask of it.
#[derive(Clone, Copy)]
pub struct UseChatReturn {
    /// `None` until the first session answered.
    pub state: RwSignal<Option<ChatState>>,
    /// Why the chat could not start (shown with "Try again").
    pub failure: RwSignal<Option<String>>,
    page: Page,
    client: ClientSlot,
    api: StoredValue<String>,
    device: StoredValue<String>,
    /// When the provider was last told the user is typing (ms).
    last_typing: StoredValue<f64>,
    /// Whether the device's copy is kept up to date ([`Self::keep_saving`]).
    saving: StoredValue<bool>,
}

thread_local! {
    /// Wakes the session's wait for its next attempt ("Retry now").
    static WAKE: std::cell::RefCell<Option<js_sys::Function>> = const { std::cell::RefCell::new(None) };
}

/// Starts the chat for `page` against the API at `api`, keeping the
/// provider's client in `client`.
pub fn use_chat(page: Page, api: String, client: ClientSlot) -> UseChatReturn {
    let chat = UseChatReturn {
        state: RwSignal::new(None),
        failure: RwSignal::new(None),
        page,
        client,
        api: StoredValue::new(api),
        device: StoredValue::new(browser::device_id()),
        last_typing: StoredValue::new(0.0),
        saving: StoredValue::new(false),
    };
    chat.start();

    // The page asked for another context: open its tab.
    Effect::new(move |previous: Option<String>| {
        let wanted = page.wanted_context.get();
        if previous.is_some() && previous.as_deref() != Some(wanted.as_str()) {
            chat.join(wanted.clone());
        }
        wanted
    });

    // Opened again after being minimised: the active room has been seen.
    Effect::new(move |previous: Option<u32>| {
        let now = page.reopened.get();
        if previous.is_some() {
            chat.update(|s| {
                let active = s.active;
                s.select(active);
            });
        }
        now
    });

    // The launcher's badge follows the total of unread messages.
    Effect::new(move |previous: Option<u32>| {
        let total = chat
            .state
            .with(|s| s.as_ref().map(ChatState::unread_total).unwrap_or(0));
        if previous != Some(total) {
            browser::window_event("dachat:unread", &JsValue::from(total));
        }
        total
    });

    // Tell the provider what the user has seen.
    Effect::new(move |_| {
        let seen = chat.state.with(|s| {
            s.as_ref().and_then(|s| {
                s.active_room()
                    .and_then(|r| r.last_id().map(|id| (r.name.clone(), id, r.read_up_to)))
            })
        });
        if let (Some((room, last, read)), Some(client)) = (seen, chat.client())
            && read.is_none_or(|r| r < last)
            && chat.visible()
        {
            client.read(&room, last);
        }
    });

    chat
}

impl UseChatReturn {
    /// The provider's client, once the session has one.
    pub fn client(self) -> Option<Rc<dyn ChatClient>> {
        self.client.get_value()
    }

    /// Changes the state, once there is one.
    pub fn update(self, change: impl FnOnce(&mut ChatState)) {
        self.state.update(|s| {
            if let Some(s) = s {
                change(s);
            }
        });
    }

    /// The host's token as it is now (its claims say what the window may
    /// offer, such as the rooms the user moderates; the service decides).
    pub fn host_token(self) -> String {
        self.page.host_token.get_untracked()
    }

    /// Shows a notice above the log.
    pub fn notice(self, message: String) {
        self.update(|s| s.notice = Some(message));
    }

    /// Whether the user can see the chat: the page is visible and the
    /// window is not minimised.
    pub fn visible(self) -> bool {
        browser::page_visible() && !self.page.panel.get_value().is_some_and(|p| p.hidden())
    }

    /// Starts (or restarts) the chat: the device's saved copy at once (if
    /// any), the session (tried again, with backoff, while the service
    /// cannot be reached and there is something to show), then the
    /// provider's client.
    fn start(self) {
        self.failure.set(None);
        let context = self.page.wanted_context.get_untracked();
        let api_base = self.api.get_value();
        leptos::task::spawn_local(async move {
            if self.state.with_untracked(Option::is_none) {
                self.show_saved(&context).await;
            }
            let mut attempt = 0;
            let session = loop {
                let answer = self.open_session(&context).await;
                // the window was closed meanwhile: nothing left to show it in
                if self.state.is_disposed() {
                    return;
                }
                match answer {
                    Ok(session) => break session,
                    Err(e) if e.status == 0 && self.state.with_untracked(Option::is_some) => {
                        attempt += 1;
                        self.set_connection(Connection::Reconnecting(attempt));
                        let wait = crate::client::backoff_ms(attempt, js_sys::Math::random());
                        let (woken, wake) = browser::until_online_or(f64::from(wait));
                        WAKE.with(|w| *w.borrow_mut() = Some(wake));
                        let _ = wasm_bindgen_futures::JsFuture::from(woken).await;
                        WAKE.with(|w| w.borrow_mut().take());
                    }
                    Err(e) => return self.failure.set(Some(e.message)),
                }
            };
            // the saved copy was this identity's: it stays, brought up to date
            let files = session.attachments.clone();
            let kept = self
                .state
                .try_update(|s| match s {
                    Some(s) if s.identity == session.identity => {
                        s.allowed = session.contexts.clone();
                        s.attachments = files.clone();
                        true
                    }
                    _ => false,
                })
                .unwrap_or(false);
            if !kept {
                // the store was opened for the token's `sub` already, unless that was someone else
                if !cache::owned_by(&session.identity) {
                    cache::load(&session.identity, &[], self.page.keep).await;
                }
                if self.state.is_disposed() {
                    return;
                }
                let mut fresh = ChatState::new(&session.identity, session.contexts.clone(), &session.context);
                fresh.attachments = files;
                self.state.set(Some(fresh));
            }
            self.keep_saving();
            if session.provider == Provider::Twilio {
                crate::client::twilio::Sdk::start();
            }
            let listener: Listener = Rc::new(move |event| self.on_event(event));
            let client: Rc<dyn ChatClient> = match session.provider {
                Provider::Local => Rc::new(LocalClient::connect(&api_base, &session.access_token, listener)),
                // the Twilio half of the bridge is a piece: the window and its outbox work meanwhile
                Provider::Twilio => match pieces::connect_twilio(session.access_token.clone(), listener).await {
                    Some(Ok(client)) if !self.state.is_disposed() => client,
                    // the window was closed meanwhile
                    None | Some(Ok(_)) => return,
                    Some(Err(())) => {
                        self.state.set(None);
                        self.failure.set(Some(i18n::t(i18n::Msg::WindowCouldNotLoad)));
                        return;
                    }
                },
            };
            client.set_conversation(&session.context, &session.conversation_sid);
            self.client.set_value(Some(client));
            self.schedule_renewal(session.expires_at);
            self.restore_tabs(&session.identity);
            crate::pieces::prefetch();
        });
    }

    /// "Try again" / "Retry now": reconnect the client, try the session
    /// again at once if it is waiting to, or start over.
    pub fn retry(self) {
        if let Some(wake) = WAKE.with(|w| w.borrow().clone()) {
            let _ = wake.call0(&JsValue::NULL);
            return;
        }
        match self.client() {
            Some(client) => client.retry(),
            None => self.start(),
        }
    }

    fn on_event(self, event: Event) {
        match event {
            Event::Connection(connection) => {
                // Still failing after a retry: the chat token may be what is
                // refused (the server restarted, or it expired while the tab
                // slept), so fetch a fresh one for the next attempt.
                if connection == Connection::Reconnecting(2) {
                    leptos::task::spawn_local(async move {
                        let _ = self.renew_chat_token().await;
                    });
                }
                let online = connection == Connection::Online;
                self.set_connection(connection);
                if online {
                    self.rejoin();
                }
            }
            Event::TokenNeeded => {
                leptos::task::spawn_local(async move {
                    if let Err(e) = self.renew_chat_token().await {
                        self.set_connection(Connection::Failed(e.message));
                    }
                });
            }
            Event::Other(text) => pieces::other_frame(self, text),
            Event::Frame(frame) => {
                let visible = self.visible();
                let (joined, paged) = match &frame {
                    ServerFrame::Joined { room, .. } => (Some(room.clone()), None),
                    ServerFrame::History { room, .. } => (None, Some(room.clone())),
                    _ => (None, None),
                };
                self.update(|s| s.apply(frame, browser::now_ms(), visible));
                if let Some(room) = joined {
                    self.send_unsent(&room);
                }
                if let Some(room) = paged {
                    self.fill_copy(&room);
                }
            }
        }
    }

    /// Records a connection change and tells the host: `dachat:connection`
    /// on every change, `dachat:ready` the first time the chat is online.
    fn set_connection(self, connection: Connection) {
        let name = connection.name();
        let ready = self
            .state
            .try_update(|s| s.as_mut().map(|s| s.set_connection(connection)))
            .flatten();
        browser::window_event("dachat:connection", &JsValue::from_str(name));
        if ready == Some(true) {
            browser::window_event("dachat:ready", &JsValue::TRUE);
        }
    }

    /// (Re)connected: subscribe to every open room and catch up; each
    /// room's unsent messages follow its join ([`Self::send_unsent`]).
    fn rejoin(self) {
        if let Some(client) = self.client() {
            let rooms = self.state.with_untracked(|s| {
                s.as_ref()
                    .map(|s| s.rooms.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
            });
            for room in rooms.unwrap_or_default() {
                client.join(&room);
                client.history(&room, None);
            }
        }
    }

    /// `room` is joined on this connection: what was typed for it while it
    /// was not goes out now, in order.
    fn send_unsent(self, room: &str) {
        if let Some(client) = self.client() {
            let unsent = self
                .state
                .with_untracked(|s| s.as_ref().map(|s| s.unsent(room)).unwrap_or_default());
            for p in unsent {
                let sent = match &p.attachment {
                    Some(file) => client.send_file(room, &p.client_id, &p.body, file),
                    None => client.send(room, &p.client_id, &p.body, p.maybe_sent),
                };
                if sent {
                    self.update(|s| s.mark_sent(&p.client_id));
                }
            }
        }
    }

    /// Reopens the tabs of the last page view (and remembers them from now on).
    fn restore_tabs(self, identity: &str) {
        let key = format!("dachat:tabs:{identity}");
        let remembered: Vec<String> = browser::stored(&key)
            .and_then(|text| json::parse::<Vec<String>>(&text))
            .unwrap_or_default();
        let added = self
            .state
            .try_update(|s| s.as_mut().map(|s| s.restore_tabs(&remembered)))
            .flatten()
            .unwrap_or_default();
        for room in added {
            self.open_room(room);
        }
        Effect::new(move |_| {
            if let Some(names) = self.state.with(|s| s.as_ref().map(ChatState::tab_names)) {
                browser::store(&key, &json::stringify(&names).unwrap_or_default());
            }
        });
    }

    /// Opens a session for `room` (the server grants it), then joins it; a
    /// refused room loses its tab, with a notice.
    fn open_room(self, room: String) {
        leptos::task::spawn_local(async move {
            match self.open_session(&room).await {
                Ok(session) => {
                    if let Some(client) = self.client() {
                        client.set_conversation(&room, &session.conversation_sid);
                        client.join(&room);
                        client.history(&room, None);
                    }
                }
                Err(e) => self.update(|s| {
                    s.notice = Some(e.message);
                    s.close_tab(&room);
                }),
            }
        });
    }

    /// `/join`, the room picker, or the page asking for another context:
    /// a tab for `room`, then its session.
    pub fn join(self, room: String) {
        match self
            .state
            .try_update(|s| s.as_mut().map(|s| s.open_tab(&room)))
            .flatten()
        {
            Some(Err(message)) => self.notice(message),
            Some(Ok(())) => self.open_room(room),
            None => {}
        }
    }

    /// What the user typed into the composer, in the active room: a
    /// message, or a slash command. `false` when it was not taken (nothing
    /// to send, too long for the provider, or no client yet), so the
    /// composer keeps the text.
    pub fn submit(self, line: &str) -> bool {
        let room = self.active_room_name();
        if room.is_empty() {
            return false;
        }
        let post = |body: &str| self.post(&room, body, None);
        let parsed = match commands::plain(line) {
            Some(input) => input,
            None => match pieces::parse_command(line) {
                Some(input) => input,
                // the commands piece is on its way (the window says so): the text stays in the box
                None => return false,
            },
        };
        match parsed {
            Input::Empty => return false,
            Input::Message(body) => return post(&body),
            Input::Action(action) => return post(&format!("_{action}_")),
            _ => {}
        }
        let Some(client) = self.client() else {
            return false;
        };
        match parsed {
            Input::Join(target) => self.join(target),
            Input::Nick(nick) => client.nick(nick.as_deref()),
            Input::Help => self.notice(i18n::t(i18n::Msg::CommandsHelp)),
            Input::Unknown(name) => self.notice(i18n::tf(i18n::Msg::CommandsUnknown, &[("name", &name)])),
            Input::Empty | Input::Message(_) | Input::Action(_) => {}
        }
        true
    }

    /// Posts `body` (and `file`, uploaded already) to `room`, through the
    /// outbox: it waits there while there is no connection or the room is
    /// not joined yet. `false` when refused before sending (too long), with
    /// a notice.
    pub fn post(self, room: &str, body: &str, file: Option<Box<Attachment>>) -> bool {
        // no client yet (the service not reached): messages wait in the outbox
        let client = self.client();
        let refusal = match &client {
            Some(client) => client.refusal(body),
            // both providers take the same length
            None => crate::client::too_long(body),
        };
        if let Some(why) = refusal {
            // refused before sending: the text stays in the box
            self.notice(why);
            return false;
        }
        let id = browser::new_client_id();
        // a room not joined yet (its session still on the way) gets it after the join
        let joined = self
            .state
            .with_untracked(|s| s.as_ref().is_some_and(|s| s.can_send(room)));
        let sent = joined
            && client.as_ref().is_some_and(|c| match &file {
                Some(file) => c.send_file(room, &id, body, file),
                None => c.send(room, &id, body, false),
            });
        self.update(|s| s.add_pending(room, &id, body, sent, file));
        true
    }

    /// Edits one of the user's messages (refused with a notice when too long).
    pub fn edit(self, room: &str, id: i64, body: &str) {
        if let Some(client) = self.client() {
            match client.refusal(body) {
                Some(why) => self.notice(why),
                None => client.edit(room, id, body),
            }
        }
    }

    /// The user is typing: told to the provider at most every 2 s.
    pub fn typing(self) {
        let now = browser::now_ms();
        if now - self.last_typing.get_value() > 2000.0 {
            self.last_typing.set_value(now);
            if let Some(client) = self.client() {
                client.typing(&self.active_room_name());
            }
        }
    }

    /// Asks for the page before the oldest message shown, once at a time.
    pub fn load_older(self) {
        let target = self
            .state
            .try_update(|s| {
                s.as_mut().and_then(|s| {
                    let r = s.rooms.get_mut(s.active)?;
                    if r.loading_older || !r.has_more {
                        return None;
                    }
                    r.loading_older = true;
                    Some((r.name.clone(), r.oldest_id()))
                })
            })
            .flatten();
        if let (Some((room, oldest)), Some(client)) = (target, self.client()) {
            client.history(&room, oldest);
        }
    }

    /// The room on screen (empty before the first session).
    pub fn active_room_name(self) -> String {
        self.state.with_untracked(|s| {
            s.as_ref()
                .and_then(|s| s.active_room().map(|r| r.name.clone()))
                .unwrap_or_default()
        })
    }
}
