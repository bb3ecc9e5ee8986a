//! What the user is told above the log: the connection banner (offline,
//! connecting, retrying, failed), the parts of the window that could not
//! be fetched yet, and dismissible notices.

use leptos::prelude::*;

use crate::browser;
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t, tn};
use crate::pieces::{self, Piece};
use crate::state::{ChatState, Connection};

/// The connection, when it is not simply working, with "Retry now".
#[component]
pub fn Banner(chat: UseChatReturn) -> impl IntoView {
    // The browser knows when the network is gone; say so plainly.
    let offline = RwSignal::new(!browser::online());
    let _ = window_event_listener(leptos::ev::offline, move |_| offline.set(true));
    let _ = window_event_listener(leptos::ev::online, move |_| {
        offline.set(false);
        chat.flush();
    });
    let banner = move || {
        let waiting = chat
            .state
            .with(|s| s.as_ref().map(ChatState::pending_total).unwrap_or(0));
        let state = if offline.get() {
            Some(t(Msg::StatusOffline))
        } else {
            chat.state.with(|s| match s.as_ref().map(|s| &s.connection) {
                Some(Connection::Connecting) => Some(t(Msg::StatusConnecting)),
                Some(Connection::Reconnecting(n)) if *n > 0 => Some(t(Msg::StatusRetrying)),
                Some(Connection::Failed(message)) => Some(message.clone()),
                _ => None,
            })
        };
        // what waits to go, while it cannot
        state.map(|state| match waiting {
            0 => state,
            n => format!("{state} {}", tn(Msg::StatusWaiting, n as u32, &[])),
        })
    };
    let retry = move |_| chat.retry();
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

/// The pieces of the window that could not be fetched yet, and are tried
/// again: what each one's absence means ([`crate::pieces`]).
#[component]
pub fn Missing() -> impl IntoView {
    let missing = pieces::missing();
    move || {
        let flags = missing.get();
        let lines: Vec<String> = [
            (Piece::Markdown, Msg::PiecesMarkdownMissing),
            (Piece::Commands, Msg::PiecesCommandsMissing),
            (Piece::Notify, Msg::PiecesNotifyMissing),
            (Piece::Twilio, Msg::PiecesTwilioMissing),
            (Piece::Attach, Msg::PiecesAttachMissing),
            (Piece::Actions, Msg::PiecesActionsMissing),
        ]
        .into_iter()
        .filter(|(piece, _)| pieces::is_missing(flags, *piece))
        .map(|(_, said)| t(said))
        .collect();
        (!lines.is_empty()).then(|| view! { <div class="missing" role="status">{lines.join(" ")}</div> })
    }
}
