//! The message box (Enter sends, Shift+Enter breaks the line; slash
//! commands go through `chat.submit`) and the "… is typing" line above it.

use leptos::prelude::*;

use crate::browser;
use crate::chat::UseChatReturn;

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
                        1 => format!("{} is typing…", who[0]),
                        _ => format!("{} are typing…", who.join(", ")),
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
        }
    };
    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    view! {
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <textarea aria-label="Message" placeholder="Write a message (Enter sends, Shift+Enter for a new line)" rows="2"
                node_ref=composer on:input=move |_| chat.typing() on:keydown=on_keydown></textarea>
            <button type="submit">"Send"</button>
        </form>
    }
}
