//! The message log of the active room: keyed rows (messages, day
//! separators, the "new messages" divider, presence notices), pending
//! messages, paging in older messages near the top, and scrolling that
//! follows new messages only when the user is at the bottom.

use leptos::prelude::*;
use protocol::local::Message;

use super::message::{MessageRow, PendingBody};
use super::rows::{Row, RowMarks, row_marks, timeline};
use crate::browser;
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t, tf};

/// A row of the log as the view keeps it (owned, keyed).
#[derive(Clone)]
enum LogRow {
    Message(Message, String, bool, RowMarks),
    Notice(usize, String),
}

impl LogRow {
    /// Changes whenever the row must be drawn again.
    fn key(&self) -> String {
        match self {
            Self::Message(m, name, _, marks) => {
                // (no `{:?}`: Debug formatting would be linked in for it)
                let edited = m.edited_at.map(|at| at.to_string()).unwrap_or_default();
                let day = marks.day.as_deref().unwrap_or_default();
                format!("m{}:{edited}:{}:{name}:{day}:{}", m.id, m.deleted, marks.new_divider)
            }
            Self::Notice(i, _) => format!("n{i}"),
        }
    }
}

#[component]
pub fn Log(chat: UseChatReturn) -> impl IntoView {
    let state = chat.state;
    let log_ref = NodeRef::<leptos::html::Div>::new();
    // Keep the newest message in view when the user is at the bottom (or on
    // a room's first page); older pages arriving at the top do not move it.
    Effect::new(move |previous: Option<(Option<String>, Option<i64>, usize)>| {
        let now = state.with(|s| {
            s.as_ref()
                .and_then(|s| {
                    s.active_room()
                        .map(|r| (Some(r.name.clone()), r.last_id(), r.pending.len()))
                })
                .unwrap_or((None, None, 0))
        });
        if let Some(log) = log_ref.get() {
            let first_page = previous
                .as_ref()
                .is_none_or(|(room, last, _)| *room != now.0 || last.is_none());
            let grew_at_bottom = previous
                .as_ref()
                .is_some_and(|(_, last, pending)| *last != now.1 || *pending != now.2);
            let near_bottom = log.scroll_height() - log.scroll_top() - log.client_height() < 120;
            if first_page || (grew_at_bottom && near_bottom) {
                log.set_scroll_top(log.scroll_height());
            }
        }
        now
    });
    // Scrolling near the top pages in older messages.
    let on_scroll = move |_| {
        if log_ref.get_untracked().is_some_and(|log| log.scroll_top() < 48) {
            chat.load_older();
        }
    };
    // When older messages are prepended, keep the ones in view where they were.
    let anchor = StoredValue::new((None::<i64>, 0i32));
    Effect::new(move |_| {
        let oldest = state.with(|s| s.as_ref().and_then(|s| s.active_room().and_then(|r| r.oldest_id())));
        if let Some(log) = log_ref.get() {
            let (previous_oldest, previous_height) = anchor.get_value();
            if previous_oldest.is_some() && oldest < previous_oldest {
                log.set_scroll_top(log.scroll_top() + log.scroll_height() - previous_height);
            }
            anchor.set_value((oldest, log.scroll_height()));
        }
    });

    view! {
        {move || state.with(|s| s.as_ref().and_then(|s| s.active_room().map(|r| r.cached))).unwrap_or(false).then(|| view! {
            // a div: the loader styles its own p[role] as a toast
            <div class="saved" role="status">{t(Msg::LogSaved)}</div>
        })}
        <div class="log" role="log" aria-live="polite" aria-label=t(Msg::LogLabel) node_ref=log_ref tabindex="0" on:scroll=on_scroll>
            {move || state.with(|s| s.as_ref().and_then(|s| s.active_room().map(|r| r.has_more))).unwrap_or(false).then(|| view! {
                <button type="button" class="older" on:click=move |_| chat.load_older()>{t(Msg::LogOlder)}</button>
            })}
            // Keyed by id and revision, so rows (and focus on their buttons) persist.
            <For
                each=move || state.with(|s| s.as_ref().and_then(|s| s.active_room().map(|r| {
                    let messages: Vec<&Message> = r.messages.values().collect();
                    let mut marks = row_marks(&messages, r.divider_after, &s.identity, browser::local_day);
                    timeline(r).into_iter().map(|row| match row {
                        Row::Message(m) => LogRow::Message(
                            m.clone(),
                            s.display_name(&m.author).to_owned(),
                            m.author == s.identity,
                            // messages are in id order, and marks with them
                            messages
                                .binary_search_by_key(&m.id, |m| m.id)
                                .map(|at| std::mem::take(&mut marks[at]))
                                .unwrap_or_default(),
                        ),
                        Row::Notice(i, text) => LogRow::Notice(i, text.to_owned()),
                    }).collect::<Vec<_>>()
                })).unwrap_or_default())
                key=LogRow::key
                children=move |row| match row {
                    LogRow::Message(message, name, mine, marks) => view! {
                        {marks.day.map(|day| view! { <div class="day">{day}</div> })}
                        {marks.new_divider.then(|| view! { <div class="new-divider">{t(Msg::LogNewMessages)}</div> })}
                        <MessageRow message name mine chat />
                    }.into_any(),
                    LogRow::Notice(_, text) => view! { <div class="presence">{text}</div> }.into_any(),
                }
            />
            {move || {
                let pending = state.with(|s| s.as_ref().and_then(|s| s.active_room().map(|r| r.pending.clone()))).unwrap_or_default();
                pending.into_iter().map(|p| {
                    let status = match (p.failed, p.sent) {
                        (Some(f), _) => tf(Msg::LogNotSent, &[("reason", &f)]),
                        (None, true) => t(Msg::LogSending),
                        // offline, not joined yet, or back from the device's outbox
                        (None, false) => t(Msg::LogWaiting),
                    };
                    let id = p.client_id;
                    view! {
                        <div class="message pending">
                            <span class="author">{t(Msg::LogYou)}</span>
                            <span class="body" dir="auto" node_ref=PendingBody(p.body, p.attachment.map(|f| (chat, f)))></span>
                            <span class="status">{status}</span>
                            <button type="button" class="cancel" aria-label=t(Msg::LogCancelLabel)
                                on:click=move |_| chat.cancel(&id)>{t(Msg::LogCancel)}</button>
                        </div>
                    }
                }).collect_view()
            }}
        </div>
    }
}
