//! The message box (Enter sends, Shift+Enter breaks the line; slash
//! commands go through `chat.submit`) and the "… is typing" line above it.

use std::cell::RefCell;

use leptos::prelude::*;

use crate::browser;
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t, tn};

thread_local! {
    /// What is typed and not yet sent: the window is drawn again when the
    /// locale changes, and the draft must survive that.
    static DRAFT: RefCell<String> = const { RefCell::new(String::new()) };
}

#[component]
pub fn Typing(chat: UseChatReturn) -> impl IntoView {
    view! {
        <div class="typing" aria-hidden="true">
            {move || {
                chat.state.with(|s| s.as_ref().and_then(|s| s.active_room().map(|r| {
                    let typing = r.typing_now(browser::now_ms());
                    let who: Vec<&str> = typing.iter().map(|w| s.display_name(w)).collect();
                    match who.len() {
                        0 => String::new(),
                        n => tn(Msg::ComposerTyping, n as u32, &[("names", &who.join(", "))]),
                    }
                }))).unwrap_or_default()
            }}
        </div>
    }
}

#[component]
pub fn Composer(chat: UseChatReturn) -> impl IntoView {
    // The composer is read and cleared directly: its DOM value is the truth.
    let composer = NodeRef::<leptos::html::Textarea>::new();
    let submit = move || {
        if let Some(textarea) = composer.get_untracked()
            && chat.submit(&textarea.value())
        {
            textarea.set_value("");
            DRAFT.with(|d| d.borrow_mut().clear());
        }
    };
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        // a command on its way: its piece too ([`crate::pieces`])
        if text.starts_with('/') {
            crate::pieces::fetch(crate::pieces::Piece::Commands);
        }
        DRAFT.with(|d| *d.borrow_mut() = text);
        chat.typing();
    };
    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    view! {
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <textarea aria-label=t(Msg::ComposerLabel) placeholder=t(Msg::ComposerPlaceholder) rows="2" dir="auto"
                prop:value=DRAFT.with(|d| d.borrow().clone())
                node_ref=composer on:input=on_input on:keydown=on_keydown></textarea>
            <button type="submit">{t(Msg::ComposerSend)}</button>
        </form>
    }
}
