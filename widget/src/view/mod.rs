//! The Leptos components: small views that read [`crate::chat`]'s state
//! and call its methods; the logic lives in `chat`, `state` and
//! `commands`. All user text is rendered as text nodes, never as markup.
//!
//! - [`App`]: the window, while opening, failed or open;
//! - [`tabs`]: the room tabs, the room picker and "Minimise";
//! - [`status`]: the connection banner and notices;
//! - [`log`]: the message log (paging, scrolling, pending messages);
//! - [`message`]: one message row; [`markdown_dom`] builds its body (the
//!   markdown piece);
//! - [`composer`]: the typing line and the message box;
//! - [`notify_toggle`]: "E-mail me about messages I miss", whose panel
//!   ([`notify`]) is a piece of its own ([`crate::pieces`]).

mod composer;
mod log;
pub mod markdown_dom;
mod message;
pub mod notify;
mod notify_toggle;
pub mod pieces;
pub mod rows;
mod status;
mod tabs;

use leptos::prelude::*;

use crate::chat::{ClientSlot, Page, UseChatReturn, use_chat};
use crate::i18n::{self, Msg, t};

/// `widget.css`, minified by `build.rs`.
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/widget.css"));

#[component]
pub fn App(page: Page, api: String, client: ClientSlot) -> impl IntoView {
    let chat = use_chat(page, api, client);
    // Only the switch from "opening" to "open" may rebuild the window; a
    // closure reading the state itself would rebuild it (and lose focus and
    // the composer's text) on every message.
    let started = Memo::new(move |_| chat.state.with(Option::is_some));
    // The words are read as the window is drawn; a new locale draws it
    // again (the chat's state lives on in `chat`; the composer keeps its
    // draft, see `composer`).
    move || {
        page.locale.track();
        view! {
            <style>{STYLE}</style>
            <div class="chat" role="dialog" aria-label=t(Msg::WindowLabel) dir=i18n::dir() lang=i18n::lang()>
                {move || match (chat.failure.get(), started.get()) {
                    (Some(message), _) => view! {
                        <div class="failure" role="alert">
                            <p>{message}</p>
                            <button type="button" on:click=move |_| chat.retry()>{t(Msg::WindowTryAgain)}</button>
                        </div>
                    }.into_any(),
                    (None, false) => view! { <p class="loading" role="status">{t(Msg::WindowOpening)}</p> }.into_any(),
                    (None, true) => view! { <Chat chat page /> }.into_any(),
                }}
            </div>
        }
    }
}

/// The open window.
#[component]
fn Chat(chat: UseChatReturn, page: Page) -> impl IntoView {
    view! {
        <tabs::Bar chat page />
        <notify_toggle::Panel chat />
        <status::Missing />
        <status::Banner chat />
        <status::Notice chat />
        <log::Log chat />
        <composer::Typing chat />
        <composer::Composer chat />
    }
}
