//! The menu of a message's actions (issues #29 and #30): Edit and Delete
//! on one's own messages, Copy on any, Report on others', and for the
//! room's moderators (the host token's `moderates`) Remove, Mute and
//! Unmute its author, and the room's reports ([`reports`]).
//!
//! The actions piece ([`crate::pieces`]): the core draws one "⋯" button
//! per message and hands its clicks here ([`open`]); frames the core does
//! not know (moderation's answers, `protocol::moderation`) come here too
//! ([`frame`]).
//!
//! A WAI-ARIA menu button: the menu opens in the message's row, under
//! its text (in the flow, so no overflow clips it and it reads the same
//! in RTL and on a phone), with focus on its first item. Up and Down
//! (and Home, End) move, Enter or Space chooses, Escape closes it and
//! gives focus back to the button, and focus leaving the menu (Tab, a
//! click elsewhere) closes it. Built by hand, like the notification
//! panel: elements made once per opening, no signals.
//!
//! What the window offers is only what the token claims: the service
//! checks `moderates` on every moderation frame and refuses the rest
//! (`not_moderator`), which the window shows as any refusal.

use std::cell::RefCell;

use leptos::prelude::WithUntracked;
use protocol::js as json;
use protocol::local::Message;
use protocol::moderation::{MAX_MUTE_MINUTES, MAX_REASON_CHARS, ModerationEvent, ModerationFrame, ModerationRequest};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::chat::UseChatReturn;
use crate::i18n::{self, Msg, t, tf};

mod reports;

/// The piece, as its loader hands it to the core.
#[derive(Clone, Copy)]
pub struct Actions {
    /// The button of message `id` of the room on screen was pressed: its
    /// menu opens, or closes if it is open.
    pub open: fn(UseChatReturn, i64, web_sys::HtmlElement),
    /// Reads a frame the core does not know.
    pub frame: fn(UseChatReturn, &str),
}

/// The piece's styles (`actions.css`, minified by `build.rs`).
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/actions.css"));

/// The piece, when it arrives.
pub fn piece() -> Actions {
    i18n::speak(i18n::EN_ACTIONS);
    Actions { open, frame }
}

/// One thing a menu offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Edit,
    Delete,
    Copy,
    Report,
    Remove,
    /// Mutes the author for this many minutes.
    Mute(u32),
    Unmute,
    Reports,
}

/// What the menu of a message offers, in order: `mine` when the user
/// wrote it, `moderation` when there is a client to carry moderation and
/// reports (either provider's), `moderator` when the token names them a
/// moderator of its room.
pub fn items(mine: bool, moderation: bool, moderator: bool) -> Vec<Item> {
    let mut items = Vec::with_capacity(8);
    if mine {
        items.extend([Item::Edit, Item::Delete]);
    }
    items.push(Item::Copy);
    if !moderation {
        return items;
    }
    if !mine {
        items.push(Item::Report);
        if moderator {
            items.extend([Item::Remove, Item::Mute(60), Item::Mute(24 * 60), Item::Unmute]);
        }
    }
    if moderator {
        items.push(Item::Reports);
    }
    items
}

/// An item's words; `name` is the message author's.
fn label(item: Item, name: &str) -> String {
    let named = |msg| tf(msg, &[("name", name)]);
    match item {
        Item::Edit => t(Msg::ActionsEdit),
        Item::Delete => t(Msg::ActionsDelete),
        Item::Copy => t(Msg::ActionsCopy),
        Item::Report => t(Msg::ActionsReport),
        Item::Remove => t(Msg::ActionsRemove),
        Item::Mute(minutes) if minutes <= 60 => named(Msg::ActionsMuteHour),
        Item::Mute(_) => named(Msg::ActionsMuteDay),
        Item::Unmute => named(Msg::ActionsUnmute),
        Item::Reports => t(Msg::ActionsReports),
    }
}

/// A report's reason as typed: trimmed; `Err` with the words to show when
/// it is longer than the service takes; `Ok(None)` when there is none
/// (the user cancelled or typed nothing).
pub fn reason(typed: Option<String>) -> Result<Option<String>, String> {
    let typed = typed.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    match typed {
        Some(r) if r.chars().count() > MAX_REASON_CHARS => {
            Err(tf(Msg::ActionsReasonTooLong, &[("max", &MAX_REASON_CHARS.to_string())]))
        }
        other => Ok(other),
    }
}

/// What the user sees when the service says an action was done.
pub fn done_words(action: &str) -> Option<String> {
    Some(t(match action {
        "remove" => Msg::ActionsRemoved,
        "mute" => Msg::ActionsMuted,
        "unmute" => Msg::ActionsUnmuted,
        "report" => Msg::ActionsReportSent,
        _ => return None,
    }))
}

type Listener = Closure<dyn FnMut(web_sys::Event)>;

/// The open menu.
struct Menu {
    el: web_sys::HtmlElement,
    button: web_sys::HtmlElement,
    items: Vec<Item>,
    chat: UseChatReturn,
    message: Message,
    _listeners: [Listener; 4],
}

thread_local! {
    static MENU: RefCell<Option<Menu>> = const { RefCell::new(None) };
    /// The chat window's element (`.chat`), where the reports list goes.
    static WINDOW: RefCell<Option<web_sys::Element>> = const { RefCell::new(None) };
}

/// Closes the open menu, if any: focus back on its button when `refocus`;
/// the button it belonged to.
fn close(refocus: bool) -> Option<web_sys::HtmlElement> {
    let menu = MENU.with(|m| m.borrow_mut().take())?;
    menu.el.remove();
    let _ = menu.button.remove_attribute("aria-expanded");
    if refocus {
        let _ = menu.button.focus();
    }
    Some(menu.button)
}

/// `handler` on `el`'s `kind` events, as long as the listener is kept.
fn listen(el: &web_sys::HtmlElement, kind: &str, handler: fn(web_sys::Event)) -> Listener {
    let listener = Listener::new(handler);
    let _ = el.add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref());
    listener
}

fn open(chat: UseChatReturn, id: i64, button: web_sys::HtmlElement) {
    if close(false).is_some_and(|was| was == button) {
        return;
    }
    // the log shows the active room's messages only
    let Some((message, me, name)) = chat.state.with_untracked(|s| {
        let s = s.as_ref()?;
        let message = s.active_room()?.messages.get(&id)?.clone();
        let name = s.display_name(&message.author).to_owned();
        Some((message, s.identity.clone(), name))
    }) else {
        return;
    };
    // moderation and reports go on the local provider's connection, or
    // through DAChat's API on Twilio ([`moderate`]): both need a client
    let moderation = chat.client().is_some();
    let moderator = crate::host::moderates(&chat.host_token()).contains(&message.room);
    let items = items(message.author == me, moderation, moderator);
    let Some(row) = button.parent_element() else { return };
    crate::browser::add_style(&row, "actions", STYLE);
    WINDOW.with(|w| *w.borrow_mut() = row.closest(".chat").ok().flatten());
    let Some(el) = element(&row, "div", "menu", "") else {
        return;
    };
    let _ = el.set_attribute("role", "menu");
    let _ = el.set_attribute("aria-label", &t(Msg::MessageActions));
    for (index, item) in items.iter().enumerate() {
        if let Some(entry) = element(&el, "button", "", &label(*item, &name)) {
            let _ = entry.set_attribute("type", "button");
            let _ = entry.set_attribute("role", "menuitem");
            let _ = entry.set_attribute("tabindex", "-1");
            let _ = entry.set_attribute("data-item", &index.to_string());
        }
    }
    let listeners = [
        listen(&el, "click", chosen),
        listen(&el, "keydown", key),
        listen(&el, "focusout", left),
        // a press inside keeps focus where it is: browsers that do not
        // focus a pressed button (Safari) would otherwise blur the menu,
        // which closes it before the click
        listen(&el, "mousedown", |event| event.prevent_default()),
    ];
    let _ = button.set_attribute("aria-expanded", "true");
    focus_item(&el, 0);
    el.scroll_into_view_with_bool(false);
    MENU.with(|m| {
        *m.borrow_mut() = Some(Menu {
            el,
            button,
            items,
            chat,
            message,
            _listeners: listeners,
        })
    });
}

/// The menu's items, in order.
fn entries(menu: &web_sys::Element) -> Vec<web_sys::HtmlElement> {
    let Ok(list) = menu.query_selector_all("[role=menuitem]") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

/// Focuses item `index` (wrapping around; from the end when negative).
fn focus_item(menu: &web_sys::Element, index: i32) {
    let entries = entries(menu);
    let count = entries.len() as i32;
    if count > 0 {
        let _ = entries[index.rem_euclid(count) as usize].focus();
    }
}

fn key(event: web_sys::Event) {
    let Some(key) = event.dyn_ref::<web_sys::KeyboardEvent>().map(|k| k.key()) else {
        return;
    };
    let Some(menu) = MENU.with(|m| m.borrow().as_ref().map(|m| m.el.clone())) else {
        return;
    };
    // the item with focus is the one the key came to
    let on: Option<JsValue> = event.target().map(Into::into);
    let current = entries(&menu)
        .iter()
        .position(|e| on.as_ref() == Some(e.as_ref()))
        .map_or(-1, |i| i as i32);
    match key.as_str() {
        "ArrowDown" => focus_item(&menu, current + 1),
        "ArrowUp" => focus_item(&menu, current - 1),
        "Home" => focus_item(&menu, 0),
        "End" => focus_item(&menu, -1),
        "Escape" => {
            close(true);
        }
        _ => return,
    }
    event.prevent_default();
    event.stop_propagation();
}

/// Focus left the menu (Tab, a click elsewhere): it closes. Not when it
/// went to the menu's own button, whose click closes it (a toggle).
fn left(event: web_sys::Event) {
    let to = event
        .dyn_ref::<web_sys::FocusEvent>()
        .and_then(|f| f.related_target())
        .and_then(|t| t.dyn_into::<web_sys::Node>().ok());
    let stays = MENU.with(|m| {
        m.borrow().as_ref().is_some_and(|m| {
            to.as_ref()
                .is_some_and(|to| m.el.contains(Some(to)) || m.button.is_same_node(Some(to)))
        })
    });
    if !stays {
        close(false);
    }
}

/// An item was chosen (a click, or Enter or Space on it).
fn chosen(event: web_sys::Event) {
    let index = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|t| t.closest("[data-item]").ok().flatten())
        .and_then(|t| t.get_attribute("data-item"))
        .and_then(|i| i.parse::<usize>().ok());
    let picked = MENU.with(|m| {
        let m = m.borrow();
        let m = m.as_ref()?;
        Some((m.chat, *m.items.get(index?)?, m.message.clone()))
    });
    if let Some((chat, item, message)) = picked {
        close(true);
        act(chat, item, &message);
    }
}

/// Sends a moderation frame: on the local provider's connection (the one
/// client whose files are DAChat's too: a query, not a trait method,
/// because one more method cost the core 81 B, BENCHMARKS.md), or on
/// Twilio to DAChat's API (`POST /v1/moderation`, with the host token),
/// whose answer is read as the connection's would be. Says so when there
/// is no connection for it, and shows a refusal.
fn moderate(chat: UseChatReturn, frame: &ModerationFrame) {
    let Some(client) = chat.client() else {
        chat.notice(t(Msg::ActionsOffline));
        return;
    };
    if client.file_endpoint().is_some() {
        if !json::stringify(frame).is_some_and(|text| client.moderate(&text)) {
            chat.notice(t(Msg::ActionsOffline));
        }
        return;
    }
    leptos::task::spawn_local(run(chat, Job::Moderate(frame.clone())));
}

/// What the piece waits for. One future type for both: each type spawned
/// is one more function table entry in the core's WASM.
enum Job {
    /// The clipboard's promise.
    Copy(js_sys::Promise),
    /// A frame for DAChat's API (Twilio).
    Moderate(ModerationFrame),
}

async fn run(chat: UseChatReturn, job: Job) {
    match job {
        Job::Copy(promise) => {
            if wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() {
                chat.notice(t(Msg::ActionsCopied));
            }
        }
        Job::Moderate(frame) => {
            let body = |token: &str| {
                json::stringify(&ModerationRequest {
                    token: token.to_owned(),
                    frame: frame.clone(),
                })
                .unwrap_or_default()
            };
            match chat.with_host_token("/v1/moderation", Some(&body)).await {
                Ok(answer) => self::frame(chat, &answer),
                Err(refused) => chat.notice(refused.message),
            }
        }
    }
}

fn act(chat: UseChatReturn, item: Item, message: &Message) {
    let room = message.room.clone();
    let id = message.id;
    match item {
        Item::Edit => {
            if let Some(body) = crate::browser::prompt(&t(Msg::ActionsEditPrompt), &message.body)
                && !body.trim().is_empty()
                && body != message.body
            {
                chat.edit(&room, id, &body);
            }
        }
        Item::Delete => {
            if let (true, Some(client)) = (crate::browser::confirm(&t(Msg::ActionsDeleteConfirm)), chat.client()) {
                client.delete(&room, id);
            }
        }
        Item::Copy => copy(chat, &message.body),
        Item::Report => match reason(crate::browser::prompt(&t(Msg::ActionsReportPrompt), "")) {
            Ok(Some(reason)) => moderate(chat, &ModerationFrame::Report { room, id, reason }),
            Ok(None) => {}
            Err(words) => chat.notice(words),
        },
        Item::Remove => {
            if crate::browser::confirm(&t(Msg::ActionsRemoveConfirm)) {
                moderate(chat, &ModerationFrame::Remove { room, id });
            }
        }
        Item::Mute(minutes) => moderate(
            chat,
            &ModerationFrame::Mute {
                room,
                identity: message.author.clone(),
                minutes: minutes.min(MAX_MUTE_MINUTES),
            },
        ),
        Item::Unmute => moderate(
            chat,
            &ModerationFrame::Unmute {
                room,
                identity: message.author.clone(),
            },
        ),
        Item::Reports => moderate(chat, &ModerationFrame::Reports { room }),
    }
}

/// Puts `text` on the clipboard (`navigator.clipboard`), and says so.
fn copy(chat: UseChatReturn, text: &str) {
    let clipboard = web_sys::window()
        .map(|w| w.navigator())
        .and_then(|n| js_sys::Reflect::get(&n, &"clipboard".into()).ok())
        .filter(|c| c.is_object());
    let write = clipboard
        .as_ref()
        .and_then(|c| js_sys::Reflect::get(c, &"writeText".into()).ok())
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let (Some(clipboard), Some(write)) = (clipboard, write) else {
        return;
    };
    let Ok(promise) = write.call1(&clipboard, &text.into()) else {
        return;
    };
    leptos::task::spawn_local(run(chat, Job::Copy(js_sys::Promise::from(promise))));
}

/// A frame the core does not know: moderation's answer or news.
fn frame(chat: UseChatReturn, text: &str) {
    match json::parse::<ModerationEvent>(text) {
        Some(ModerationEvent::Done { action, .. }) => {
            if let Some(words) = done_words(&action) {
                chat.notice(words);
            }
        }
        Some(ModerationEvent::Reported { report }) => {
            let line = chat.state.with_untracked(|s| {
                s.as_ref().map(|s| {
                    tf(
                        Msg::ActionsNewReport,
                        &[
                            ("reporter", s.display_name(&report.reporter)),
                            ("room", &report.room),
                            ("reason", &report.reason),
                        ],
                    )
                })
            });
            if let Some(line) = line {
                chat.notice(line);
            }
            reports::reported(chat, &report);
        }
        Some(ModerationEvent::ReportList { room, reports }) => reports::show(chat, &room, &reports),
        None => {}
    }
}

/// A new element in `parent`, with a class and a text (each if not empty).
/// The same helper as the attachment piece's, kept apart on purpose: one
/// shared copy in `browser.rs` goes into a chunk both pieces fetch, which
/// measured +122 B on this piece and +73 B on attachments.
fn element(parent: &web_sys::Node, tag: &str, class: &str, text: &str) -> Option<web_sys::HtmlElement> {
    let el: web_sys::HtmlElement = parent.owner_document()?.create_element(tag).ok()?.unchecked_into();
    if !class.is_empty() {
        el.set_class_name(class);
    }
    if !text.is_empty() {
        el.set_text_content(Some(text));
    }
    parent.append_child(&el).ok()?;
    Some(el)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_menu_offers_what_the_user_may_do() {
        assert_eq!(items(true, true, false), [Item::Edit, Item::Delete, Item::Copy]);
        assert_eq!(items(false, true, false), [Item::Copy, Item::Report]);
        assert_eq!(
            items(false, true, true),
            [
                Item::Copy,
                Item::Report,
                Item::Remove,
                Item::Mute(60),
                Item::Mute(1440),
                Item::Unmute,
                Item::Reports
            ]
        );
        // a moderator's own message: edited and deleted as anyone's, and the room's reports
        assert_eq!(
            items(true, true, true),
            [Item::Edit, Item::Delete, Item::Copy, Item::Reports]
        );
        // a provider that does not carry moderation (Twilio, until its
        // routes exist): nothing of it, whatever the token says
        assert_eq!(items(false, false, true), [Item::Copy]);
        assert_eq!(items(true, false, true), [Item::Edit, Item::Delete, Item::Copy]);
    }

    #[test]
    fn a_reason_is_trimmed_and_held_to_the_limit() {
        crate::i18n::speak(crate::i18n::EN_ACTIONS);
        assert_eq!(reason(None), Ok(None));
        assert_eq!(reason(Some("   ".into())), Ok(None));
        assert_eq!(reason(Some("  spam \n".into())), Ok(Some("spam".into())));
        assert_eq!(reason(Some("é".repeat(500))), Ok(Some("é".repeat(500))));
        assert_eq!(
            reason(Some("a".repeat(501))),
            Err("A reason can be at most 500 characters.".to_owned())
        );
    }

    #[test]
    fn labels_name_the_author_and_the_mute_length() {
        crate::i18n::speak(crate::i18n::EN_ACTIONS);
        assert_eq!(label(Item::Mute(60), "Bob"), "Mute Bob for 1 hour");
        assert_eq!(label(Item::Mute(1440), "Bob"), "Mute Bob for 1 day");
        assert_eq!(label(Item::Unmute, "Bob"), "Let Bob write again");
        assert_eq!(done_words("mute").as_deref(), Some("Muted: they can read, not write."));
        assert_eq!(done_words("something new"), None);
    }
}
