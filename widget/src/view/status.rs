//! What the user is told above the log: the connection banner (offline,
//! connecting, retrying, failed) and dismissible notices.

use leptos::prelude::*;

use crate::browser;
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t};
use crate::state::Connection;

/// The connection, when it is not simply working, with "Retry now".
#[component]
pub fn Banner(chat: UseChatReturn) -> impl IntoView {
    // The browser knows when the network is gone; say so plainly.
    let offline = RwSignal::new(!browser::online());
    let _ = window_event_listener(leptos::ev::offline, move |_| offline.set(true));
    let _ = window_event_listener(leptos::ev::online, move |_| offline.set(false));
    let banner = move || {
        if offline.get() {
            return Some(t(Msg::StatusOffline));
        }
        chat.state.with(|s| match s.as_ref().map(|s| &s.connection) {
            Some(Connection::Connecting) => Some(t(Msg::StatusConnecting)),
            Some(Connection::Reconnecting(n)) if *n > 0 => Some(t(Msg::StatusRetrying)),
            Some(Connection::Failed(message)) => Some(message.clone()),
            _ => None,
        })
    };
    let retry = move |_| {
        if let Some(client) = chat.client() {
            client.retry();
        }
    };
    move || {
        banner().map(|message| {
            view! {
                <div class="banner" role="status">
                    <span>{message}</span>
                    <button type="button" on:click=retry>{t(Msg::StatusRetryNow)}</button>
                </div>
            }
        })
    }
}

/// The latest notice (a refused room, a command's answer), until dismissed.
#[component]
pub fn Notice(chat: UseChatReturn) -> impl IntoView {
    move || {
        chat.state.with(|s| s.as_ref().and_then(|s| s.notice.clone())).map(|notice| {
            view! {
                <div class="notice" role="status">
                    <span>{notice}</span>
                    <button type="button" aria-label=t(Msg::StatusDismiss) on:click=move |_| chat.update(|s| s.notice = None)>"×"</button>
                </div>
            }
        })
    }
}
