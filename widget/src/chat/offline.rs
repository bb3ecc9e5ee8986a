//! The chat on a weak link (issue #15): the device's copy shown before the
//! service answers, kept in step while the chat runs, and what waited to
//! go sent when the browser is back online. The copy itself (IndexedDB,
//! one identity's at a time) is [`crate::cache`]. And the first
//! `/v1/session`, which the loader starts at the click, beside the
//! window's own files (issue #34): [`preload_session`].

use leptos::prelude::*;
use protocol::js as json;

use super::UseChatReturn;
use crate::browser;
use crate::cache;
use crate::host;
use crate::state::ChatState;

thread_local! {
    /// The loader's `/v1/session` for a context: the answer's text, or an
    /// empty text when it was refused or unreachable.
    static PRELOADED: std::cell::RefCell<Option<(String, js_sys::Promise)>> = const { std::cell::RefCell::new(None) };
}

/// The loader asked `/v1/session` for `context` when the user clicked
/// (`answer`: a promise of the response's text, empty unless it was 2xx),
/// so the window does not wait for its own files before asking.
pub fn preload_session(context: String, answer: js_sys::Promise) {
    PRELOADED.with(|p| *p.borrow_mut() = Some((context, answer)));
}

/// The loader's answer for `context`, once (`None`: it asked for another
/// context, did not ask, was refused, or `usable` says its JWT was about
/// to expire: the window asks itself, with the host-token renewal and
/// retries of [`UseChatReturn::with_host_token`]).
pub(super) async fn preloaded_session(context: &str, usable: bool) -> Option<protocol::SessionResponse> {
    let (asked, answer) = PRELOADED.with(|p| p.borrow_mut().take())?;
    if asked != context || !usable {
        return None;
    }
    let text = wasm_bindgen_futures::JsFuture::from(answer).await.ok()?.as_string()?;
    json::parse(&text)
}

impl UseChatReturn {
    /// After a page of `room`'s history: while the room holds fewer than
    /// the device keeps ([`cache::HISTORY_KEPT`]) and older ones exist,
    /// the next older page, in the background (the window is usable from
    /// the first page; the rest is for the next visit on a weak link).
    pub(super) fn fill_copy(self, room: &str) {
        if !self.page.keep {
            return;
        }
        let before = self
            .state
            .try_update(|s| {
                let r = s.as_mut()?.rooms.iter_mut().find(|r| r.name == room)?;
                (r.messages.len() < cache::HISTORY_KEPT && r.has_more && !r.loading_older).then(|| {
                    r.loading_older = true;
                    r.oldest_id()
                })
            })
            .flatten();
        if let (Some(before), Some(client)) = (before, self.client()) {
            client.history(room, before);
        }
    }

    /// Shows what the device kept for the person the host token names (an
    /// unverified read, only to pick that person's copy: see
    /// [`crate::cache`]), before the service has answered.
    pub(super) async fn show_saved(self, context: &str) {
        let Some((identity, allowed)) = host::claimed(&self.page.host_token.get_untracked()) else {
            return;
        };
        let mut rooms = vec![context.to_owned()];
        rooms.extend(
            browser::stored(&format!("dachat:tabs:{identity}"))
                .and_then(|text| json::parse::<Vec<String>>(&text))
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r != context),
        );
        let Some(saved) = cache::load(&identity, &rooms, self.page.keep).await else {
            return;
        };
        if self.state.is_disposed()
            || (saved.rooms.is_empty() && saved.outbox.is_empty())
            || self.state.with_untracked(Option::is_some)
        {
            return;
        }
        let mut state = ChatState::new(&identity, allowed, context);
        state.restore_saved(saved);
        self.state.set(Some(state));
    }

    /// Keeps the device's copy in step: the outbox at once on every change,
    /// each room's recent history a moment after it changes.
    pub(super) fn keep_saving(self) {
        if !self.page.keep || self.saving.get_value() {
            return;
        }
        self.saving.set_value(true);
        Effect::new(move |_| {
            let Some(outbox) = self.state.with(|s| s.as_ref().map(ChatState::outbox)) else {
                return;
            };
            cache::save_outbox(outbox);
            cache::save_history_soon(move || {
                self.state
                    .with_untracked(|s| {
                        s.as_ref().map(|s| {
                            s.rooms
                                .iter()
                                // a room still showing the saved copy has nothing new, and
                                // one with no messages yet must not erase what was saved
                                .filter(|r| !r.cached && !r.messages.is_empty())
                                .map(|r| {
                                    let recent = r.messages.values().rev().take(cache::HISTORY_KEPT).rev();
                                    (r.name.clone(), recent.cloned().collect())
                                })
                                .collect()
                        })
                    })
                    .unwrap_or_default()
            });
        });
    }

    /// The user cancelled a message waiting to go.
    pub fn cancel(self, client_id: &str) {
        self.update(|s| s.cancel(client_id));
    }

    /// The link is back (the browser says so): what waited goes now, on the
    /// connection if it survived (one that did not reconnects, and its
    /// joins send it).
    pub fn flush(self) {
        let rooms = self.state.with_untracked(|s| {
            s.as_ref().map(|s| {
                s.rooms
                    .iter()
                    .filter(|r| r.subscribed)
                    .map(|r| r.name.clone())
                    .collect::<Vec<_>>()
            })
        });
        for room in rooms.unwrap_or_default() {
            self.send_unsent(&room);
        }
    }
}
