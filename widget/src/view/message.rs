//! One message row: author (in their colour), time, the body as markdown
//! (or "message deleted"), "(edited)", and Edit/Delete on one's own.

use leptos::prelude::*;
use protocol::local::Message;

use crate::browser;
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t};
use crate::state::hue_of;

/// A message body: drawn into the body's `<div>` when Leptos creates it
/// (a node-ref container, so no effect or signal per row), as markdown
/// once that piece is here, as plain text until then
/// ([`super::pieces::render_body`]).
#[derive(Clone)]
pub struct MarkdownBody(pub String);

impl leptos::tachys::html::node_ref::NodeRefContainer<leptos::html::Div> for MarkdownBody {
    fn load(self, el: &web_sys::Element) {
        super::pieces::render_body(&self.0, el);
    }
}

#[component]
pub fn MessageRow(message: Message, name: String, mine: bool, chat: UseChatReturn) -> impl IntoView {
    let (room, id) = (message.room.clone(), message.id);
    let edit = {
        let (room, body) = (room.clone(), message.body.clone());
        move |_| {
            if let Some(new_body) = browser::prompt(&t(Msg::MessageEditPrompt), &body)
                && !new_body.trim().is_empty()
                && new_body != body
            {
                chat.edit(&room, id, &new_body);
            }
        }
    };
    let delete = {
        let room = room.clone();
        move |_| {
            if let (true, Some(client)) = (browser::confirm(&t(Msg::MessageDeleteConfirm)), chat.client()) {
                client.delete(&room, id);
            }
        }
    };
    let deleted = message.deleted;
    view! {
        <div class=if mine { "message mine" } else { "message" } style=format!("--hue:{}", hue_of(&message.author))>
            <bdi class="author">{name}</bdi>
            <time class="time" datetime=browser::iso_time(message.created_at)>{browser::local_time(message.created_at)}</time>
            {if deleted {
                view! { <span class="body deleted">{t(Msg::MessageDeleted)}</span> }.into_any()
            } else {
                view! { <div class="body" dir="auto" node_ref=MarkdownBody(message.body.clone())></div> }.into_any()
            }}
            {message.edited_at.filter(|_| !deleted).map(|_| view! { <span class="edited">{t(Msg::MessageEdited)}</span> })}
            {(mine && !deleted).then(|| view! {
                <span class="actions">
                    <button type="button" on:click=edit aria-label=t(Msg::MessageEditLabel)>{t(Msg::MessageEdit)}</button>
                    <button type="button" on:click=delete aria-label=t(Msg::MessageDeleteLabel)>{t(Msg::MessageDelete)}</button>
                </span>
            })}
        </div>
    }
}
