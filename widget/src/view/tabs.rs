//! The bar above the log: a tab per open room (with unread counts), the
//! picker of rooms the token allows that are not open, and "Minimise".

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::chat::{Page, UseChatReturn};
use crate::i18n::{Msg, t, tf, tn};
use crate::state::ChatState;

#[component]
pub fn Bar(chat: UseChatReturn, page: Page) -> impl IntoView {
    // Minimise through the launcher, so it stays the one owner of open/closed.
    let minimise = move |_| {
        let launcher = page
            .panel
            .get_value()
            .and_then(|panel| panel.parent_node())
            .and_then(|root| root.dyn_into::<web_sys::DocumentFragment>().ok())
            .and_then(|root| {
                root.query_selector("button[aria-expanded]:not(.notify-toggle)")
                    .ok()
                    .flatten()
            })
            .and_then(|button| button.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(launcher) = launcher {
            launcher.click();
        }
    };
    view! {
        <div class="bar">
            <Tabs chat />
            <Picker chat />
            <button type="button" class="minimise" on:click=minimise>{t(Msg::TabsMinimise)}</button>
        </div>
    }
}

#[component]
fn Tabs(chat: UseChatReturn) -> impl IntoView {
    let state = chat.state;
    view! {
        <div class="tabs" role="tablist" aria-label=t(Msg::TabsLabel)>
            // Keyed, so a tab keeps its DOM node (and the keyboard focus) across updates.
            <For
                each=move || state.with(|s| s.as_ref().map(|s| s.rooms.iter().map(|r| r.name.clone()).collect::<Vec<_>>()).unwrap_or_default())
                key=|name| name.clone()
                children=move |name: String| {
                    let index = {
                        let name = name.clone();
                        move || state.with(|s| s.as_ref().and_then(|s| s.rooms.iter().position(|r| r.name == name)))
                    };
                    let unread = {
                        let name = name.clone();
                        move || state.with(|s| s.as_ref().and_then(|s| s.room(&name).map(|r| r.unread)).unwrap_or(0))
                    };
                    let selected = {
                        let index = index.clone();
                        move || state.with(|s| s.as_ref().map(|s| s.active)) == index() && index().is_some()
                    };
                    let label = {
                        let name = name.clone();
                        let unread = unread.clone();
                        move || match unread() { 0 => name.clone(), n => tn(Msg::TabsUnread, n, &[("room", &name)]) }
                    };
                    let closable = index() != Some(0);
                    let close = {
                        let name = name.clone();
                        move || chat.update(|s| s.close_tab(&name))
                    };
                    let close_key = close.clone();
                    let select = {
                        let index = index.clone();
                        move |_| if let Some(i) = index() { chat.update(|s| s.select(i)) }
                    };
                    // The close mark is part of the tab (a tablist holds
                    // only tabs): a click on it, or Delete on the tab.
                    view! {
                        <button type="button" role="tab" class="tab" aria-selected=move || selected().to_string() aria-label=label
                            aria-keyshortcuts=closable.then_some("Delete") on:click=select
                            on:keydown=move |ev: web_sys::KeyboardEvent| if closable && ev.key() == "Delete" { close_key() }>
                            <bdi>{name.clone()}</bdi>
                            {move || { let n = unread(); (n > 0).then(|| view! { <span class="unread" aria-hidden="true">{n}</span> }) }}
                            {closable.then(|| view! {
                                <span class="close-tab" aria-hidden="true" title=tf(Msg::TabsClose, &[("room", &name)])
                                    on:click=move |ev| { ev.stop_propagation(); close() }>"×"</span>
                            })}
                        </button>
                    }
                }
            />
        </div>
    }
}

/// "Open a room…": the rooms the token allows that have no tab.
#[component]
fn Picker(chat: UseChatReturn) -> impl IntoView {
    move || {
        let closed = chat
            .state
            .with(|s| s.as_ref().map(ChatState::closed_rooms).unwrap_or_default());
        (!closed.is_empty()).then(move || {
            view! {
                <select class="picker" aria-label=t(Msg::TabsOpenRoom) on:change=move |ev| {
                    let room = event_target_value(&ev);
                    if !room.is_empty() {
                        chat.join(room);
                    }
                }>
                    <option value="">{t(Msg::TabsOpenRoomPick)}</option>
                    {closed.into_iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view()}
                </select>
            }
        })
    }
}
