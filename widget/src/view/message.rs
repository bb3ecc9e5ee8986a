//! One message row: author (in their colour), time, the body as markdown
//! (or "message deleted"), "(edited)", and Edit/Delete on one's own.

use leptos::prelude::*;
use protocol::local::Message;

use super::markdown_dom::MarkdownBody;
use crate::browser;
use crate::chat::UseChatReturn;
use crate::state::hue_of;

#[component]
pub fn MessageRow(message: Message, name: String, mine: bool, chat: UseChatReturn) -> impl IntoView {
    let (room, id) = (message.room.clone(), message.id);
    let edit = {
        let (room, body) = (room.clone(), message.body.clone());
        move |_| {
            if let Some(new_body) = browser::prompt("Edit your message", &body)
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
            if let (true, Some(client)) = (browser::confirm("Delete this message?"), chat.client()) {
                client.delete(&room, id);
            }
        }
    };
    let deleted = message.deleted;
    view! {
        <div class=if mine { "message mine" } else { "message" } style=format!("--hue:{}", hue_of(&message.author))>
            <span class="author">{name}</span>
            <time class="time">{browser::local_time(message.created_at)}</time>
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
