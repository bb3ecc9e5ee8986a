//! The Leptos components. They read [`ChatState`] and call the client;
//! the logic lives in `state`, `commands` and `client`. All user text is
//! rendered as text nodes, never as markup.

use std::rc::Rc;

use leptos::prelude::*;
use protocol::Provider;
use protocol::local::Message;
use wasm_bindgen::{JsCast, JsValue};

use crate::api;
use crate::client::{ChatClient, Event, LocalClient};
use crate::commands::{self, Input};
use crate::markdown::{self, Block, Inline};
use crate::state::{ChatState, Connection, Row, RowMarks, hue_of, row_marks};
use crate::twilio::TwilioClient;
use protocol::js as json;

/// `widget.css`, minified by `build.rs`.
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/widget.css"));

#[derive(Clone, Copy)]
pub struct Config {
    pub host_token: RwSignal<String>,
    pub wanted_context: RwSignal<String>,
    /// Counts how often the minimised chat was opened again.
    pub restored: RwSignal<u32>,
    /// The loader's panel the chat lives in (hidden while minimised).
    pub panel: StoredValue<Option<web_sys::HtmlElement>, LocalStorage>,
    pub client: StoredValue<Option<Rc<dyn ChatClient>>, LocalStorage>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn device_id() -> String {
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    if let Some(id) = storage
        .as_ref()
        .and_then(|s| s.get_item("dachat:device").ok().flatten())
    {
        return id;
    }
    let id: String = format!("{:x}{:x}", (js_sys::Math::random() * 1e12) as u64, now_ms() as u64);
    if let Some(s) = storage {
        let _ = s.set_item("dachat:device", &id);
    }
    id
}

fn window_event(name: &str, detail: &wasm_bindgen::JsValue) {
    if let Some(window) = web_sys::window() {
        let init = web_sys::CustomEventInit::new();
        init.set_detail(detail);
        if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
            let _ = window.dispatch_event(&event);
        }
    }
}

fn local_time(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// A row of the log as the view keeps it (owned, keyed).
#[derive(Clone)]
enum LogRow {
    Message(Message, String, bool, RowMarks),
    Notice(usize, String),
}

impl LogRow {
    /// Changes whenever the row must be drawn again.
    fn key(&self) -> String {
        match self {
            Self::Message(m, name, _, marks) => {
                // (no `{:?}`: Debug formatting would be linked in for it)
                let edited = m.edited_at.map(|at| at.to_string()).unwrap_or_default();
                let day = marks.day.as_deref().unwrap_or_default();
                format!("m{}:{edited}:{}:{name}:{day}:{}", m.id, m.deleted, marks.new_divider)
            }
            Self::Notice(i, _) => format!("n{i}"),
        }
    }
}

/// The local calendar day of a time, e.g. "Sat Nov 28 2026".
fn local_day(ms: i64) -> String {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64))
        .to_date_string()
        .into()
}

fn new_client_id() -> String {
    format!("c{:x}{:x}", now_ms() as u64, (js_sys::Math::random() * 1e9) as u64)
}

#[component]
pub fn App(config: Config, api: String) -> impl IntoView {
    let state: RwSignal<Option<ChatState>> = RwSignal::new(None);
    let failure: RwSignal<Option<String>> = RwSignal::new(None);
    let device = device_id();
    let api_base = api;

    // Starts (or restarts) the chat: session, then the provider's client.
    let start = {
        let api_base = api_base.clone();
        let device = device.clone();
        move || {
            failure.set(None);
            let (api_base, device) = (api_base.clone(), device.clone());
            let context = config.wanted_context.get_untracked();
            let token = config.host_token.get_untracked();
            leptos::task::spawn_local(async move {
                match api::open_session(&api_base, &token, &context, &device).await {
                    Err(e) => failure.set(Some(e.message)),
                    Ok(session) => {
                        state.set(Some(ChatState::new(
                            &session.identity,
                            session.contexts.clone(),
                            &session.context,
                        )));
                        let (api, dev) = (api_base.clone(), device.clone());
                        let listener: crate::client::Listener =
                            Rc::new(move |event| on_event(state, config, &api, &dev, event));
                        let client: Rc<dyn ChatClient> = match session.provider {
                            Provider::Local => {
                                Rc::new(LocalClient::connect(&api_base, &session.access_token, listener))
                            }
                            Provider::Twilio => match TwilioClient::connect(&session.access_token, listener).await {
                                Ok(client) => Rc::new(client),
                                Err(_) => {
                                    state.set(None);
                                    failure.set(Some(
                                        "The chat could not be loaded. Check your connection and try again.".into(),
                                    ));
                                    return;
                                }
                            },
                        };
                        client.admit(&session.context, &session.conversation_sid);
                        config.client.set_value(Some(client));
                        schedule_renewal(config, api_base.clone(), device.clone(), session.expires_at);
                        restore_tabs(state, config, &api_base, &device, &session.identity);
                    }
                }
            });
        }
    };
    start();

    // The page asked for another context: open its tab.
    {
        let api_base = api_base.clone();
        let device = device.clone();
        Effect::new(move |previous: Option<String>| {
            let wanted = config.wanted_context.get();
            if previous.is_some() && previous.as_deref() != Some(wanted.as_str()) {
                join_room(state, config, api_base.clone(), device.clone(), wanted.clone());
            }
            wanted
        });
    }

    // Opened again after being minimised: the active room has been seen.
    Effect::new(move |previous: Option<u32>| {
        let now = config.restored.get();
        if previous.is_some() {
            state.update(|s| {
                if let Some(s) = s {
                    let active = s.active;
                    s.select(active);
                }
            });
        }
        now
    });

    // The launcher's badge follows the total of unread messages.
    Effect::new(move |previous: Option<u32>| {
        let total = state.with(|s| s.as_ref().map(ChatState::unread_total).unwrap_or(0));
        if previous != Some(total) {
            window_event("dachat:unread", &wasm_bindgen::JsValue::from(total));
        }
        total
    });

    let retry = {
        let start = start.clone();
        move |_| match config.client.get_value() {
            Some(client) => client.retry(),
            None => start(),
        }
    };

    // Only the switch from "opening" to "open" may rebuild the window; a
    // closure reading `state` itself would rebuild it (and lose focus and the
    // composer's text) on every message.
    let started = Memo::new(move |_| state.with(Option::is_some));

    view! {
        <style>{STYLE}</style>
        <div class="chat" role="dialog" aria-label="Chat">
            {move || match (failure.get(), started.get()) {
                (Some(message), _) => view! {
                    <div class="failure" role="alert">
                        <p>{message}</p>
                        <button type="button" on:click=retry.clone()>"Try again"</button>
                    </div>
                }.into_any(),
                (None, false) => view! { <p class="loading" role="status">"Opening the chat…"</p> }.into_any(),
                (None, true) => view! { <Chat state config api=api_base.clone() device=device.clone() /> }.into_any(),
            }}
        </div>
    }
}

fn on_event(state: RwSignal<Option<ChatState>>, config: Config, api_base: &str, device: &str, event: Event) {
    match event {
        Event::Connection(connection) => {
            let online = connection == Connection::Online;
            // Still failing after a retry: the chat token may be what is
            // refused (the server restarted, or it expired while the tab
            // slept), so fetch a fresh one for the next attempt.
            if connection == Connection::Reconnecting(2) {
                let (api_base, device) = (api_base.to_owned(), device.to_owned());
                leptos::task::spawn_local(async move {
                    let _ = renew_chat_token(config, &api_base, &device).await;
                });
            }
            state.update(|s| {
                if let Some(s) = s {
                    s.connection = connection;
                }
            });
            if online {
                // (re)joined: subscribe to every open room and catch up
                if let (Some(client), Some(rooms)) = (
                    config.client.get_value(),
                    state.with_untracked(|s| {
                        s.as_ref()
                            .map(|s| s.rooms.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
                    }),
                ) {
                    for room in rooms {
                        client.join(&room);
                        client.history(&room, None);
                    }
                }
                // messages typed while disconnected go now, in order (after the joins above)
                if let Some(client) = config.client.get_value() {
                    for (room, id, body) in
                        state.with_untracked(|s| s.as_ref().map(ChatState::unsent).unwrap_or_default())
                    {
                        if client.send(&room, &id, &body) {
                            state.update(|s| {
                                if let Some(s) = s {
                                    s.mark_sent(&id);
                                }
                            });
                        }
                    }
                }
                window_event("dachat:ready", &wasm_bindgen::JsValue::TRUE);
            }
        }
        Event::TokenNeeded => {
            let (api_base, device) = (api_base.to_owned(), device.to_owned());
            leptos::task::spawn_local(async move {
                if let Err(e) = renew_chat_token(config, &api_base, &device).await {
                    state.update(|s| {
                        if let Some(s) = s {
                            s.connection = Connection::Failed(e.message);
                        }
                    });
                }
            });
        }
        Event::Frame(frame) => {
            let visible = chat_visible(config);
            state.update(|s| {
                if let Some(s) = s {
                    s.apply(frame, now_ms(), visible);
                }
            });
        }
    }
}

/// Whether the user can see the chat: the page is visible and the window
/// is not minimised.
fn chat_visible(config: Config) -> bool {
    let page_visible = web_sys::window()
        .and_then(|w| w.document())
        .map(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
        .unwrap_or(true);
    page_visible && !config.panel.get_value().is_some_and(|p| p.hidden())
}

/// A fresh chat token (`POST /v1/token` with the host token) handed to the
/// client; returns when it expires.
async fn renew_chat_token(config: Config, api_base: &str, device: &str) -> Result<u64, api::ApiFailure> {
    let token = config.host_token.get_untracked();
    let renewed = api::renew(api_base, &token, device).await?;
    if let Some(client) = config.client.get_value() {
        client.update_token(&renewed.access_token);
    }
    Ok(renewed.expires_at)
}

/// Renews the chat token two minutes before it expires, with the host token.
fn schedule_renewal(config: Config, api_base: String, device: String, expires_at: u64) {
    let wait_ms = ((expires_at as f64) * 1000.0 - now_ms() - 120_000.0).max(10_000.0);
    let callback = wasm_bindgen::closure::Closure::once_into_js(move || {
        leptos::task::spawn_local(async move {
            if let Ok(expires_at) = renew_chat_token(config, &api_base, &device).await {
                schedule_renewal(config, api_base, device, expires_at);
            }
        });
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), wait_ms as i32);
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

fn tabs_key(identity: &str) -> String {
    format!("dachat:tabs:{identity}")
}

/// Reopens the tabs of the last page view (and remembers them from now on).
fn restore_tabs(state: RwSignal<Option<ChatState>>, config: Config, api_base: &str, device: &str, identity: &str) {
    let key = tabs_key(identity);
    let remembered: Vec<String> = storage()
        .and_then(|s| s.get_item(&key).ok().flatten())
        .and_then(|text| json::parse::<Vec<String>>(&text))
        .unwrap_or_default();
    let added = state
        .try_update(|s| s.as_mut().map(|s| s.restore_tabs(&remembered)))
        .flatten()
        .unwrap_or_default();
    for room in added {
        admit_and_join(state, config, api_base.to_owned(), device.to_owned(), room);
    }
    Effect::new(move |_| {
        let names = state.with(|s| s.as_ref().map(ChatState::tab_names));
        if let (Some(names), Some(storage)) = (names, storage()) {
            let _ = storage.set_item(&key, &json::stringify(&names).unwrap_or_default());
        }
    });
}

/// Admits the user to `room` with a session, then joins it (or drops the
/// tab with a notice when the room is refused).
fn admit_and_join(state: RwSignal<Option<ChatState>>, config: Config, api_base: String, device: String, room: String) {
    let token = config.host_token.get_untracked();
    leptos::task::spawn_local(async move {
        match api::open_session(&api_base, &token, &room, &device).await {
            Ok(session) => {
                if let Some(client) = config.client.get_value() {
                    client.admit(&room, &session.conversation_sid);
                    client.join(&room);
                    client.history(&room, None);
                }
            }
            Err(e) => state.update(|s| {
                if let Some(s) = s {
                    s.notice = Some(e.message);
                    s.close_tab(&room);
                }
            }),
        }
    });
}

/// `/join` or a page asking for another context: admit, then join.
fn join_room(state: RwSignal<Option<ChatState>>, config: Config, api_base: String, device: String, room: String) {
    let opened = state.try_update(|s| s.as_mut().map(|s| s.open_tab(&room))).flatten();
    match opened {
        Some(Err(message)) => state.update(|s| {
            if let Some(s) = s {
                s.notice = Some(message);
            }
        }),
        Some(Ok(())) => admit_and_join(state, config, api_base, device, room),
        None => {}
    }
}

#[component]
fn Chat(state: RwSignal<Option<ChatState>>, config: Config, api: String, device: String) -> impl IntoView {
    // The composer is read and cleared directly: its DOM value is the truth.
    let composer = NodeRef::<leptos::html::Textarea>::new();
    let (picker_api, picker_device) = (api.clone(), device.clone());
    let last_typing = StoredValue::new(0.0f64);
    let client = move || config.client.get_value();
    let active_name = move || {
        state.with(|s| {
            s.as_ref()
                .and_then(|s| s.active_room().map(|r| r.name.clone()))
                .unwrap_or_default()
        })
    };

    let submit = {
        let (api, device) = (api.clone(), device.clone());
        move || {
            let room = active_name();
            let Some(textarea) = composer.get_untracked() else {
                return;
            };
            let line = textarea.value();
            let (Some(client), false) = (client(), room.is_empty()) else {
                return;
            };
            let notice = |message: String| {
                state.update(|s| {
                    if let Some(s) = s {
                        s.notice = Some(message);
                    }
                })
            };
            let post = |room: &str, body: &str| {
                let id = new_client_id();
                let sent = client.send(room, &id, body);
                state.update(|s| {
                    if let Some(s) = s {
                        s.add_pending(room, &id, body, sent);
                    }
                });
            };
            match commands::parse(&line) {
                Input::Empty => return,
                Input::Message(body) => post(&room, &body),
                Input::Action(action) => post(&room, &format!("_{action}_")),
                Input::Join(target) => join_room(state, config, api.clone(), device.clone(), target),
                Input::Nick(nick) => client.nick(nick.as_deref()),
                Input::Help => notice(commands::HELP.into()),
                Input::Unknown(name) => notice(format!("Unknown command /{name}. Type /help to see the commands.")),
            }
            textarea.set_value("");
        }
    };

    let on_keydown = {
        let submit = submit.clone();
        move |ev: web_sys::KeyboardEvent| {
            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                ev.prevent_default();
                submit();
            }
        }
    };
    let on_input = move |_: web_sys::Event| {
        let now = now_ms();
        if now - last_typing.get_value() > 2000.0 {
            last_typing.set_value(now);
            if let Some(client) = client() {
                client.typing(&active_name());
            }
        }
    };

    // Tell the provider what the user has seen.
    Effect::new(move |_| {
        let seen = state.with(|s| {
            s.as_ref().and_then(|s| {
                s.active_room()
                    .and_then(|r| r.last_id().map(|id| (r.name.clone(), id, r.read_up_to)))
            })
        });
        if let (Some((room, last, read)), Some(client)) = (seen, client())
            && read.is_none_or(|r| r < last)
            && chat_visible(config)
        {
            client.read(&room, last);
        }
    });

    let log_ref = NodeRef::<leptos::html::Div>::new();
    // Keep the newest message in view when the user is at the bottom (or on
    // a room's first page); older pages arriving at the top do not move it.
    Effect::new(move |previous: Option<(Option<String>, Option<i64>, usize)>| {
        let now = state.with(|s| {
            s.as_ref()
                .and_then(|s| {
                    s.active_room()
                        .map(|r| (Some(r.name.clone()), r.last_id(), r.pending.len()))
                })
                .unwrap_or((None, None, 0))
        });
        if let Some(log) = log_ref.get() {
            let first_page = previous
                .as_ref()
                .is_none_or(|(room, last, _)| *room != now.0 || last.is_none());
            let grew_at_bottom = previous
                .as_ref()
                .is_some_and(|(_, last, pending)| *last != now.1 || *pending != now.2);
            let near_bottom = log.scroll_height() - log.scroll_top() - log.client_height() < 120;
            if first_page || (grew_at_bottom && near_bottom) {
                log.set_scroll_top(log.scroll_height());
            }
        }
        now
    });

    // Asks for the page before the oldest message shown, once at a time.
    let load_older = move || {
        let target = state
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
        if let (Some((room, oldest)), Some(client)) = (target, client()) {
            client.history(&room, oldest);
        }
    };
    // Scrolling near the top pages in older messages.
    let on_scroll = move |_| {
        if log_ref.get_untracked().is_some_and(|log| log.scroll_top() < 48) {
            load_older();
        }
    };
    // When older messages are prepended, keep the ones in view where they were.
    let anchor = StoredValue::new((None::<i64>, 0i32));
    Effect::new(move |_| {
        let oldest = state.with(|s| s.as_ref().and_then(|s| s.active_room().and_then(|r| r.oldest_id())));
        if let Some(log) = log_ref.get() {
            let (previous_oldest, previous_height) = anchor.get_value();
            if previous_oldest.is_some() && oldest < previous_oldest {
                log.set_scroll_top(log.scroll_top() + log.scroll_height() - previous_height);
            }
            anchor.set_value((oldest, log.scroll_height()));
        }
    });

    // The browser knows when the network is gone; say so plainly.
    let offline = RwSignal::new(web_sys::window().is_some_and(|w| !w.navigator().on_line()));
    let _ = window_event_listener(leptos::ev::offline, move |_| offline.set(true));
    let _ = window_event_listener(leptos::ev::online, move |_| offline.set(false));
    let banner = move || {
        if offline.get() {
            return Some("You are offline. What you write is sent when the connection is back.".to_owned());
        }
        state.with(|s| match s.as_ref().map(|s| &s.connection) {
            Some(Connection::Connecting) => Some("Connecting…".to_owned()),
            Some(Connection::Reconnecting(n)) if *n > 0 => Some("Cannot reach the chat service. Retrying…".to_owned()),
            Some(Connection::Failed(message)) => Some(message.clone()),
            _ => None,
        })
    };
    let retry = move |_| {
        if let Some(client) = client() {
            client.retry();
        }
    };

    // Minimise through the launcher, so it stays the one owner of open/closed.
    let minimise = move |_| {
        let launcher = config
            .panel
            .get_value()
            .and_then(|panel| panel.parent_node())
            .and_then(|root| root.dyn_into::<web_sys::DocumentFragment>().ok())
            .and_then(|root| root.query_selector("button[aria-expanded]").ok().flatten())
            .and_then(|button| button.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(launcher) = launcher {
            launcher.click();
        }
    };

    view! {
        <div class="bar">
        <div class="tabs" role="tablist" aria-label="Rooms">
            // Keyed, so a tab keeps its DOM node (and the keyboard focus) across updates.
            <For
                each=move || state.with(|s| s.as_ref().map(|s| s.rooms.iter().map(|r| r.name.clone()).collect::<Vec<_>>()).unwrap_or_default())
                key=|name| name.clone()
                children=move |name: String| {
                    let index = {
                        let name = name.clone();
                        move || state.with(|s| s.as_ref().and_then(|s| s.rooms.iter().position(|r| r.name == name)))
                    };
                    let unread = {
                        let name = name.clone();
                        move || state.with(|s| s.as_ref().and_then(|s| s.room(&name).map(|r| r.unread)).unwrap_or(0))
                    };
                    let selected = {
                        let index = index.clone();
                        move || state.with(|s| s.as_ref().map(|s| s.active)) == index() && index().is_some()
                    };
                    let label = {
                        let name = name.clone();
                        let unread = unread.clone();
                        move || match unread() { 0 => name.clone(), n => format!("{name}, {n} unread") }
                    };
                    let closable = index() != Some(0);
                    let close_name = name.clone();
                    let select = {
                        let index = index.clone();
                        move |_| if let Some(i) = index() { state.update(|s| if let Some(s) = s { s.select(i) }) }
                    };
                    view! {
                        <span class="tab">
                            <button type="button" role="tab" aria-selected=move || selected().to_string() aria-label=label on:click=select>
                                {name.clone()}
                                {move || { let n = unread(); (n > 0).then(|| view! { <span class="unread" aria-hidden="true">{n}</span> }) }}
                            </button>
                            {closable.then(|| view! {
                                <button type="button" class="close-tab" aria-label=format!("Close {close_name}")
                                    on:click=move |_| state.update(|s| if let Some(s) = s { s.close_tab(&close_name) })>"×"</button>
                            })}
                        </span>
                    }
                }
            />
        </div>
        {move || {
            let closed = state.with(|s| s.as_ref().map(ChatState::closed_rooms).unwrap_or_default());
            let (api, device) = (picker_api.clone(), picker_device.clone());
            (!closed.is_empty()).then(move || view! {
                <select class="picker" aria-label="Open a room" on:change=move |ev| {
                    let room = event_target_value(&ev);
                    if !room.is_empty() {
                        join_room(state, config, api.clone(), device.clone(), room);
                    }
                }>
                    <option value="">"Open a room…"</option>
                    {closed.into_iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view()}
                </select>
            })
        }}
        <button type="button" class="minimise" on:click=minimise>"Minimise"</button>
        </div>
        {move || banner().map(|message| view! {
            <div class="banner" role="status">
                <span>{message}</span>
                <button type="button" on:click=retry>"Retry now"</button>
            </div>
        })}
        {move || state.with(|s| s.as_ref().and_then(|s| s.notice.clone())).map(|notice| view! {
            <div class="notice" role="status">
                <span>{notice}</span>
                <button type="button" aria-label="Dismiss" on:click=move |_| state.update(|s| if let Some(s) = s { s.notice = None })>"×"</button>
            </div>
        })}
        <div class="log" role="log" aria-live="polite" aria-label="Messages" node_ref=log_ref tabindex="0" on:scroll=on_scroll>
            {move || state.with(|s| s.as_ref().and_then(|s| s.active_room().map(|r| r.has_more))).unwrap_or(false).then(|| view! {
                <button type="button" class="older" on:click=move |_| load_older()>"Load older messages"</button>
            })}
            // Keyed by id and revision, so rows (and focus on their buttons) persist.
            <For
                each=move || state.with(|s| s.as_ref().and_then(|s| s.active_room().map(|r| {
                    let messages: Vec<&Message> = r.messages.values().collect();
                    let mut marks = row_marks(&messages, r.divider_after, &s.identity, local_day);
                    r.timeline().into_iter().map(|row| match row {
                        Row::Message(m) => LogRow::Message(
                            m.clone(),
                            s.display_name(&m.author).to_owned(),
                            m.author == s.identity,
                            // messages are in id order, and marks with them
                            messages
                                .binary_search_by_key(&m.id, |m| m.id)
                                .map(|at| std::mem::take(&mut marks[at]))
                                .unwrap_or_default(),
                        ),
                        Row::Notice(i, text) => LogRow::Notice(i, text.to_owned()),
                    }).collect::<Vec<_>>()
                })).unwrap_or_default())
                key=LogRow::key
                children=move |row| match row {
                    LogRow::Message(message, name, mine, marks) => view! {
                        {marks.day.map(|day| view! { <div class="day">{day}</div> })}
                        {marks.new_divider.then(|| view! { <div class="new-divider">"New messages"</div> })}
                        <MessageRow message name mine client=config.client />
                    }.into_any(),
                    LogRow::Notice(_, text) => view! { <div class="presence">{text}</div> }.into_any(),
                }
            />
            {move || {
                let pending = state.with(|s| s.as_ref().and_then(|s| s.active_room().map(|r| r.pending.clone()))).unwrap_or_default();
                pending.into_iter().map(|p| view! {
                    <div class="message pending">
                        <span class="author">"You"</span>
                        <span class="body">{p.body}</span>
                        <span class="status">{p.failed.map(|f| format!("Not sent: {f}")).unwrap_or_else(|| "Sending…".into())}</span>
                    </div>
                }).collect_view()
            }}
        </div>
        <div class="typing" aria-hidden="true">
            {move || {
                state.with(|s| s.as_ref().and_then(|s| s.active_room().map(|r| {
                    let typing = r.typing_now(now_ms());
                    let who: Vec<&str> = typing.iter().map(|w| s.display_name(w)).collect();
                    match who.len() {
                        0 => String::new(),
                        1 => format!("{} is typing…", who[0]),
                        _ => format!("{} are typing…", who.join(", ")),
                    }
                }))).unwrap_or_default()
            }}
        </div>
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <textarea aria-label="Message" placeholder="Write a message (Enter sends, Shift+Enter for a new line)" rows="2"
                node_ref=composer on:input=on_input on:keydown=on_keydown></textarea>
            <button type="submit">"Send"</button>
        </form>
    }
}

/// A message body: the markdown subset built as DOM nodes into the body's
/// `<div>` when Leptos creates it (a node-ref container, so no effect or
/// signal per row). Every piece of user text is a text node; links go only
/// to http, https and mailto (the parser drops others). Built by hand rather
/// than with `view!`: each element shape there is its own set of generic
/// view types, 3.5 KB of the download for these eight tags.
#[derive(Clone)]
struct MarkdownBody(String);

impl leptos::tachys::html::node_ref::NodeRefContainer<leptos::html::Div> for MarkdownBody {
    fn load(self, el: &web_sys::Element) {
        let Some(document) = el.owner_document() else {
            return;
        };
        // a rebuild loads again: start empty
        el.set_text_content(None);
        for block in markdown::parse(&self.0) {
            // creating and appending plain elements to a live element does not fail
            let _ = append_block(&document, el, block);
        }
    }
}

fn append_block(document: &web_sys::Document, parent: &web_sys::Node, block: Block) -> Result<(), JsValue> {
    match block {
        Block::Paragraph(inlines) => {
            let p = append_element(document, parent, "p")?;
            for inline in inlines {
                append_inline(document, &p, inline)?;
            }
        }
        Block::CodeBlock(code) => {
            let pre = append_element(document, parent, "pre")?;
            append_element(document, &pre, "code")?.set_text_content(Some(&code));
        }
        Block::List { ordered, items } => {
            let list = append_element(document, parent, if ordered { "ol" } else { "ul" })?;
            for blocks in items {
                let item = append_element(document, &list, "li")?;
                for block in blocks {
                    append_block(document, &item, block)?;
                }
            }
        }
    }
    Ok(())
}

fn append_inline(document: &web_sys::Document, parent: &web_sys::Node, inline: Inline) -> Result<(), JsValue> {
    let (tag, children) = match inline {
        Inline::Text(text) => {
            parent.append_child(&document.create_text_node(&text))?;
            return Ok(());
        }
        Inline::Code(code) => {
            append_element(document, parent, "code")?.set_text_content(Some(&code));
            return Ok(());
        }
        Inline::Break => {
            append_element(document, parent, "br")?;
            return Ok(());
        }
        Inline::Strong(children) => (append_element(document, parent, "strong")?, children),
        Inline::Emphasis(children) => (append_element(document, parent, "em")?, children),
        Inline::Link { href, children } => {
            let a = append_element(document, parent, "a")?;
            a.set_attribute("href", &href)?;
            a.set_attribute("target", "_blank")?;
            a.set_attribute("rel", "noopener noreferrer nofollow")?;
            (a, children)
        }
    };
    for child in children {
        append_inline(document, &tag, child)?;
    }
    Ok(())
}

fn append_element(
    document: &web_sys::Document,
    parent: &web_sys::Node,
    tag: &str,
) -> Result<web_sys::Element, JsValue> {
    let element = document.create_element(tag)?;
    parent.append_child(&element)?;
    Ok(element)
}

#[component]
fn MessageRow(
    message: Message,
    name: String,
    mine: bool,
    client: StoredValue<Option<Rc<dyn ChatClient>>, LocalStorage>,
) -> impl IntoView {
    let (room, id) = (message.room.clone(), message.id);
    let edit = {
        let (room, body) = (room.clone(), message.body.clone());
        move |_| {
            let window = web_sys::window();
            let answer = window.and_then(|w| {
                w.prompt_with_message_and_default("Edit your message", &body)
                    .ok()
                    .flatten()
            });
            if let (Some(new_body), Some(client)) = (answer, client.get_value())
                && !new_body.trim().is_empty()
                && new_body != body
            {
                client.edit(&room, id, &new_body);
            }
        }
    };
    let delete = {
        let room = room.clone();
        move |_| {
            let sure = web_sys::window()
                .and_then(|w| w.confirm_with_message("Delete this message?").ok())
                .unwrap_or(false);
            if let (true, Some(client)) = (sure, client.get_value()) {
                client.delete(&room, id);
            }
        }
    };
    let deleted = message.deleted;
    view! {
        <div class=if mine { "message mine" } else { "message" } style=format!("--hue:{}", hue_of(&message.author))>
            <span class="author">{name}</span>
            <time class="time">{local_time(message.created_at)}</time>
            {if deleted {
                view! { <span class="body deleted">"message deleted"</span> }.into_any()
            } else {
                view! { <div class="body" node_ref=MarkdownBody(message.body.clone())></div> }.into_any()
            }}
            {message.edited_at.filter(|_| !deleted).map(|_| view! { <span class="edited">"(edited)"</span> })}
            {(mine && !deleted).then(|| view! {
                <span class="actions">
                    <button type="button" on:click=edit aria-label="Edit message">"Edit"</button>
                    <button type="button" on:click=delete aria-label="Delete message">"Delete"</button>
                </span>
            })}
        </div>
    }
}
