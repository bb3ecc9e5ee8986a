//! "E-mail me about messages I miss": the core's half, one toggle button.
//! The panel itself is the notifications piece ([`crate::pieces`],
//! `notify.rs`): attached on the first click (the piece fetched then,
//! unless it came in the background already), then told of every click
//! and of the room on screen.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::notify::{NotifyCall, NotifyPanel};
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t};
use crate::pieces::{self, Piece};

#[component]
pub fn Panel(chat: UseChatReturn) -> impl IntoView {
    let root = NodeRef::<leptos::html::Div>::new();
    let toggle = NodeRef::<leptos::html::Button>::new();
    let panel: Rc<RefCell<Option<NotifyPanel>>> = Rc::default();
    let room = move || {
        chat.state
            .with_untracked(|s| s.as_ref().and_then(|s| s.active_room().map(|r| r.name.clone())))
    };
    // the first click waits for the piece and attaches its panel
    let click = {
        let panel = panel.clone();
        move |_| {
            let panel = panel.clone();
            pieces::needed(Piece::Notify);
            leptos::task::spawn_local(async move {
                if !pieces::ensure(Piece::Notify).await {
                    return;
                }
                // (the piece is here: this attaches without waiting, so a
                // second click cannot attach a second panel)
                if panel.borrow().is_none()
                    && let (Some(root), Some(toggle)) = (root.get_untracked(), toggle.get_untracked())
                    && let Some(attached) =
                        super::pieces::attach_notify(chat, root.unchecked_into(), toggle.unchecked_into()).await
                {
                    attached(NotifyCall::Room(room()));
                    *panel.borrow_mut() = Some(attached);
                }
                let attached = panel.borrow().clone();
                if let Some(attached) = attached {
                    attached(NotifyCall::Toggle);
                }
            });
        }
    };
    // the room row follows the room on screen
    Effect::new(move |_| {
        let room = chat
            .state
            .with(|s| s.as_ref().and_then(|s| s.active_room().map(|r| r.name.clone())));
        if let Some(attached) = panel.borrow().clone() {
            attached(NotifyCall::Room(room));
        }
    });
    view! {
        <div class="notify" node_ref=root>
            <button type="button" class="notify-toggle" aria-expanded="false" node_ref=toggle on:click=click>
                {t(Msg::NotifyToggleLabel)}
            </button>
        </div>
    }
}
