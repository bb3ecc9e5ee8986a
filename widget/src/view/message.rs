//! One message row: author (in their colour), time, the body as markdown
//! (or "message deleted"), "(edited)", and the button of its actions'
//! menu (Edit, Delete, Copy, Report, moderation's), which the actions
//! piece draws ([`super::pieces::message_actions`]).

use leptos::prelude::*;
use protocol::local::{Attachment, Message};

use super::rows::hue_of;
use crate::browser;
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t};

/// A message body: drawn into the body's `<div>` when Leptos creates it
/// (a node-ref container, so no effect or signal per row), as markdown
/// once that piece is here, as plain text until then
/// ([`super::pieces::render_body`]); its attachment, if any, in a
/// `<div class="file">` at its end, drawn by the attachment piece
/// ([`super::pieces::show_file`]; by hand: another element in `view!`
/// cost the core ~1 KB).
#[derive(Clone)]
pub struct MarkdownBody(pub String, pub Option<(UseChatReturn, Box<Attachment>)>);

impl leptos::tachys::html::node_ref::NodeRefContainer<leptos::html::Div> for MarkdownBody {
    fn load(self, el: &web_sys::Element) {
        super::pieces::render_body(&self.0, el);
        file_after(self.1, el);
    }
}

/// A pending message's body: its plain text, and its attachment as above.
#[derive(Clone)]
pub struct PendingBody(pub String, pub Option<(UseChatReturn, Box<Attachment>)>);

impl leptos::tachys::html::node_ref::NodeRefContainer<leptos::html::Span> for PendingBody {
    fn load(self, el: &web_sys::Element) {
        el.set_text_content(Some(&self.0));
        file_after(self.1, el);
    }
}

/// The attachment's element, at the end of the body's (which has no
/// parent yet when Leptos hands it over).
fn file_after(file: Option<(UseChatReturn, Box<Attachment>)>, el: &web_sys::Element) {
    if let (Some((chat, file)), Some(document)) = (file, el.owner_document())
        && let Ok(slot) = document.create_element("div")
    {
        slot.set_class_name("file");
        if el.append_child(&slot).is_ok() {
            super::pieces::show_file(chat, &file, &slot);
        }
    }
}

#[component]
pub fn MessageRow(message: Message, name: String, mine: bool, chat: UseChatReturn) -> impl IntoView {
    let (id, deleted) = (message.id, message.deleted);
    view! {
        <div class=if mine { "message mine" } else { "message" } style=format!("--hue:{}", hue_of(&message.author))>
            <bdi class="author">{name}</bdi>
            <time class="time" datetime=browser::iso_time(message.created_at)>{browser::local_time(message.created_at)}</time>
            {if deleted {
                view! { <span class="body deleted">{t(Msg::MessageDeleted)}</span> }.into_any()
            } else {
                let file = message.attachment.clone().map(|f| (chat, f));
                view! { <div class="body" dir="auto" node_ref=MarkdownBody(message.body.clone(), file)></div> }.into_any()
            }}
            {message.edited_at.filter(|_| !deleted).map(|_| view! { <span class="edited">{t(Msg::MessageEdited)}</span> })}
            {(!deleted).then(|| view! {
                <button aria-haspopup="menu" aria-label=t(Msg::MessageActions)
                    on:click=move |e| super::pieces::message_actions(chat, id, e)>"⋯"</button>
            })}
        </div>
    }
}
