//! The message box (Enter sends, Shift+Enter breaks the line; slash
//! commands go through `chat.submit`) and the "… is typing" line above it.
//!
//! Files picked with the attach button (a native file input, so the
//! picker opens even while the attachment piece is still on its way),
//! pasted or dropped on the composer go to that piece's tray
//! ([`super::pieces::take_files`]); with files in the tray, what is typed
//! goes with them.
//!
//! The box holds at most what can be sent ([`protocol::MAX_MESSAGE_UNITS`],
//! as `maxlength`, so the browser never lays out more: a 100 KB paste of
//! one long word froze a tab for seconds); a counter shows the length as
//! the limit nears, and a paste the box cut says so.

use std::cell::RefCell;

use leptos::prelude::*;
use wasm_bindgen::JsCast as _;

use crate::browser;
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t, tn};

/// The counter shows from this share of the limit on (in tenths).
const COUNTER_FROM_TENTHS: usize = 8;

/// [`protocol::MAX_MESSAGE_UNITS`] as the attribute's text (a literal: a
/// number formatted at run time costs the core more; a test ties the two).
const MAXLENGTH: &str = "1600";

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
    let limit = protocol::MAX_MESSAGE_UNITS;
    let units = RwSignal::new(DRAFT.with(|d| protocol::message_units(&d.borrow())));
    let submit = move || {
        if let Some(textarea) = composer.get_untracked()
            && (super::pieces::submit_files(chat, &textarea.value()) || chat.submit(&textarea.value()))
        {
            textarea.set_value("");
            units.set(0);
            DRAFT.with(|d| d.borrow_mut().clear());
        }
    };
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        let now = protocol::message_units(&text);
        // the browser cut a paste to `maxlength`: say so
        if now >= limit
            && units.get_untracked() < limit
            && ev
                .dyn_ref::<web_sys::InputEvent>()
                .is_some_and(|e| e.input_type() == "insertFromPaste")
        {
            chat.notice(t(Msg::ComposerPastedCut));
        }
        units.set(now);
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
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); submit(); }
            node_ref=super::pieces::FileHooks(chat)>
            <textarea aria-label=t(Msg::ComposerLabel) placeholder=t(Msg::ComposerPlaceholder) rows="2" dir="auto"
                maxlength=MAXLENGTH prop:value=DRAFT.with(|d| d.borrow().clone())
                node_ref=composer on:input=on_input on:keydown=on_keydown></textarea>
            <span class="count">{move || {
                let n = units.get();
                if n * 10 >= limit * COUNTER_FROM_TENTHS { format!("{n}/{limit}") } else { String::new() }
            }}</span>
            <button type="submit">{t(Msg::ComposerSend)}</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_holds_what_can_be_sent_and_counts_near_the_end() {
        assert_eq!(MAXLENGTH, protocol::MAX_MESSAGE_UNITS.to_string());
        assert_eq!(protocol::MAX_MESSAGE_UNITS * COUNTER_FROM_TENTHS / 10, 1280);
    }
}
