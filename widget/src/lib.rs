//! The DAChat widget: the chat window the loader (`loader/dachat.js`)
//! mounts inside its Shadow DOM when the user opens the chat.
//!
//! Exports (wasm-bindgen, `--target web`): `open(container, {api, context,
//! token, tokenProvider, lang, catalog, cache, session})`, `setToken(token)`,
//! `setLocale(lang, catalog)`, `close()`. Rust owns the UI state
//! ([`state`]); the chat provider is behind [`client::ChatClient`]; the
//! words are the locale's ([`i18n`]). What a first open does not need is
//! fetched later, in pieces ([`pieces`]).

mod actions;
pub mod api;
mod attach;
mod browser;
mod cache;
mod chat;
pub mod client;
pub mod commands;
#[cfg(test)]
#[path = "../css_minify.rs"]
mod css_minify;
mod host;
pub mod i18n;
pub mod markdown;
mod pieces;
pub mod state;
mod view;

use std::cell::RefCell;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

/// What the page can still change once the widget is mounted.
struct Mounted {
    host_token: RwSignal<String>,
    wanted_context: RwSignal<String>,
    reopened: RwSignal<u32>,
    /// Counts locale switches: the window is rebuilt in the new words.
    locale: RwSignal<u32>,
    shutdown: Box<dyn Fn()>,
    /// Dropping it unmounts the view.
    _unmount: Box<dyn std::any::Any>,
}

thread_local! {
    static MOUNTED: RefCell<Option<Mounted>> = const { RefCell::new(None) };
}

/// Mounts the chat into `container` (an element inside the loader's shadow
/// root), or, when it is mounted already, switches to `context`. The
/// options: `api` (the service's URL), `context`, `token` (the host JWT),
/// `tokenProvider` (optional), `lang` and its compiled `catalog` (fetched
/// by the loader; empty for English), `session` (the loader's own
/// `/v1/session` for `context`, a promise of its text), and `cache` (`"off"`: nothing is
/// kept on the device).
#[wasm_bindgen]
pub fn open(container: web_sys::HtmlElement, options: JsValue) {
    let get = |key: &str| js_sys::Reflect::get(&options, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
    let text = |key: &str| get(key).as_string().unwrap_or_default();
    let (api, context, token, lang, catalog) = (
        text("api"),
        text("context"),
        text("token"),
        text("lang"),
        text("catalog"),
    );
    let keep = text("cache") != "off";

    host::set_provider(get("tokenProvider"));
    if lang != i18n::lang() {
        set_locale(lang, catalog);
    }
    let switched = MOUNTED.with(|m| {
        m.borrow().as_ref().map(|mounted| {
            mounted.host_token.set(token.clone());
            mounted.wanted_context.set(context.clone());
            mounted.reopened.update(|n| *n += 1);
        })
    });
    if switched.is_some() {
        return;
    }
    // the loader's own `/v1/session`, started at the click beside the window's files
    if let Ok(answer) = get("session").dyn_into::<js_sys::Promise>() {
        chat::offline::preload_session(context.clone(), answer);
    }
    let host_token = RwSignal::new(token);
    let wanted_context = RwSignal::new(context);
    let client: chat::ClientSlot = StoredValue::new_local(None);
    let reopened = RwSignal::new(0);
    let locale = RwSignal::new(0);
    let page = chat::Page {
        host_token,
        wanted_context,
        reopened,
        locale,
        panel: StoredValue::new_local(Some(container.clone())),
        keep,
    };
    let api = api.trim_end_matches('/').to_owned();
    view::pieces::register(container.clone().into());
    chat::pieces::register();
    let unmount = leptos::mount::mount_to(container, move || {
        view::App(view::AppProps { page, api, client }).into_any()
    });
    let shutdown = Box::new(move || {
        if let Some(client) = client.try_get_value().flatten() {
            client.shutdown();
        }
    });
    MOUNTED.with(|m| {
        *m.borrow_mut() = Some(Mounted {
            host_token,
            wanted_context,
            reopened,
            locale,
            shutdown,
            _unmount: Box::new(unmount),
        })
    });
}

/// The host renewed its JWT.
#[wasm_bindgen(js_name = setToken)]
pub fn set_token(token: String) {
    MOUNTED.with(|m| {
        if let Some(mounted) = m.borrow().as_ref() {
            mounted.host_token.set(token.clone());
        }
    });
    host::answered(&token);
}

/// Switches the window to `lang` with its compiled `catalog` (English
/// when it does not fit); what the user was typing stays.
#[wasm_bindgen(js_name = setLocale)]
pub fn set_locale(lang: String, catalog: String) {
    if !i18n::set(&lang, &catalog) {
        web_sys::console::warn_1(&JsValue::from_str(&format!(
            "DAChat: no usable catalog for \"{lang}\"; the chat stays in English"
        )));
    }
    MOUNTED.with(|m| {
        if let Some(mounted) = m.borrow().as_ref() {
            mounted.locale.update(|n| *n += 1);
        }
    });
}

/// Disconnects and removes the chat.
#[wasm_bindgen]
pub fn close() {
    let mounted = MOUNTED.with(|m| m.borrow_mut().take());
    if let Some(mounted) = mounted {
        (mounted.shutdown)();
    }
    pieces::unmounted();
    cache::forget();
}
