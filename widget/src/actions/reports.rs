//! A room's reports, for its moderators (issue #30): who reported whose
//! message, when and why, newest first, above the log, each with Remove
//! for everyone while the message is there. Opened from a message's menu
//! ("Reports in this room"); a report that comes while it is open is
//! added at its top. Close, or Escape, hides it.

use std::cell::RefCell;

use leptos::prelude::WithUntracked;
use protocol::moderation::{ModerationFrame, Report};
use wasm_bindgen::JsCast;

use super::{Listener, WINDOW, element, listen, moderate};
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t, tf};

/// The reports list on screen.
struct Reports {
    el: web_sys::HtmlElement,
    room: String,
    chat: UseChatReturn,
    _listeners: [Listener; 2],
}

thread_local! {
    static REPORTS: RefCell<Option<Reports>> = const { RefCell::new(None) };
}

fn close() {
    if let Some(reports) = REPORTS.with(|r| r.borrow_mut().take()) {
        reports.el.remove();
    }
}

/// The room's reports (the service's answer), newest first, above its log.
pub fn show(chat: UseChatReturn, room: &str, reports: &[Report]) {
    close();
    let Some(window) = WINDOW.with(|w| w.borrow().clone()) else {
        return;
    };
    let Some(log) = window.query_selector(".log").ok().flatten() else {
        return;
    };
    let Some(document) = window.owner_document() else {
        return;
    };
    let Ok(el) = document.create_element("section") else {
        return;
    };
    let el: web_sys::HtmlElement = el.unchecked_into();
    el.set_class_name("reports");
    let _ = el.set_attribute("role", "dialog");
    let _ = el.set_attribute("aria-labelledby", "dachat-reports-title");
    if let Some(title) = element(&el, "h2", "", &t(Msg::ActionsReports)) {
        title.set_id("dachat-reports-title");
    }
    let close_button = element(&el, "button", "close", &t(Msg::ActionsClose));
    if let Some(b) = &close_button {
        let _ = b.set_attribute("type", "button");
    }
    if let Some(list) = element(&el, "ul", "", "") {
        if reports.is_empty() {
            element(&list, "li", "none", &t(Msg::ActionsNoReports));
        }
        for report in reports {
            add(chat, &list, report, false);
        }
    }
    let _ = log.before_with_node_1(&el);
    let listeners = [listen(&el, "click", clicked), listen(&el, "keydown", key)];
    if let Some(b) = close_button {
        let _ = b.focus();
    }
    REPORTS.with(|r| {
        *r.borrow_mut() = Some(Reports {
            el,
            room: room.to_owned(),
            chat,
            _listeners: listeners,
        })
    });
}

/// A new report: at the top of the list, if the list of its room is open.
pub fn reported(chat: UseChatReturn, report: &Report) {
    let shown = REPORTS.with(|r| {
        r.borrow()
            .as_ref()
            .filter(|r| r.room == report.room)
            .map(|r| r.el.clone())
    });
    if let Some(list) = shown.and_then(|el| el.query_selector("ul").ok().flatten()) {
        if let Some(none) = list.query_selector(".none").ok().flatten() {
            none.remove();
        }
        add(chat, &list, report, true);
    }
}

/// One report in the list (at its top when `first`).
fn add(chat: UseChatReturn, list: &web_sys::Element, report: &Report, first: bool) {
    let Some((line, present)) = chat.state.with_untracked(|s| {
        let s = s.as_ref()?;
        let message = s.room(&report.room).and_then(|r| r.messages.get(&report.message_id));
        let author = message.map_or("?", |m| s.display_name(&m.author));
        let line = tf(
            Msg::ActionsReportLine,
            &[
                ("reporter", s.display_name(&report.reporter)),
                ("author", author),
                ("time", &crate::browser::local_time(report.at)),
                ("reason", &report.reason),
            ],
        );
        Some((line, message.is_some_and(|m| !m.deleted)))
    }) else {
        return;
    };
    let Some(document) = list.owner_document() else {
        return;
    };
    let Ok(item) = document.create_element("li") else {
        return;
    };
    let _ = item.set_attribute("dir", "auto");
    if let Some(text) = element(&item, "span", "", &line)
        && present
        && let Some(remove) = element(&item, "button", "", &t(Msg::ActionsRemove))
    {
        let _ = text.after_with_str_1(" ");
        let _ = remove.set_attribute("type", "button");
        let _ = remove.set_attribute("data-remove", &report.message_id.to_string());
    }
    let _ = if first {
        list.prepend_with_node_1(&item)
    } else {
        list.append_with_node_1(&item)
    };
}

/// Close, or a report's Remove for everyone.
fn clicked(event: web_sys::Event) {
    let Some(target) = event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else {
        return;
    };
    if target.class_name() == "close" {
        close();
        return;
    }
    let id = target.get_attribute("data-remove").and_then(|i| i.parse::<i64>().ok());
    let shown = REPORTS.with(|r| r.borrow().as_ref().map(|r| (r.room.clone(), r.chat)));
    if let (Some(id), Some((room, chat))) = (id, shown)
        && crate::browser::confirm(&t(Msg::ActionsRemoveConfirm))
    {
        moderate(chat, &ModerationFrame::Remove { room, id });
        target.remove();
    }
}

fn key(event: web_sys::Event) {
    if event
        .dyn_ref::<web_sys::KeyboardEvent>()
        .is_some_and(|k| k.key() == "Escape")
    {
        close();
        event.stop_propagation();
    }
}
