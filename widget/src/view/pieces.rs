//! The view's pieces ([`crate::pieces`]): the markdown renderer of
//! message bodies and the e-mail notification panel, each a
//! `#[wasm_split]` function whose code the core never holds.
//!
//! Until markdown arrives a body is its plain text (marked `plain`); when
//! it arrives every plain body in the window is drawn again in place.
//! This module and `chat/pieces.rs` are the only ones that allow
//! `unsafe_code`: the macro's expansion declares the loader functions the
//! split adds (an `extern` block) and their loaders' statics.

#![allow(unsafe_code)]

use std::cell::{Cell, RefCell};

use leptos::wasm_split::SplitLoaderError;
#[cfg(feature = "split")]
use leptos::wasm_split::wasm_split;
use wasm_bindgen::JsCast;

use super::notify::NotifyPanel;
use crate::chat::UseChatReturn;
use crate::pieces::{self, Piece};

/// Draws a message body into its element.
pub type Render = fn(&str, &web_sys::Element);

#[cfg_attr(feature = "split", wasm_split(markdown, wasm_split_path = ::leptos::wasm_split, fallible))]
fn markdown_renderer() -> Result<Render, SplitLoaderError> {
    Ok(super::markdown_dom::render)
}

/// Attaches the notification panel to the core's `toggle`, inside `root`.
#[cfg_attr(
    feature = "split",
    wasm_split(notify, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_notify))
)]
fn notify_panel(
    chat: UseChatReturn,
    root: web_sys::Element,
    toggle: web_sys::HtmlElement,
) -> Result<NotifyPanel, SplitLoaderError> {
    Ok(super::notify::attach(chat, root, toggle))
}

thread_local! {
    static MARKDOWN: Cell<Option<Render>> = const { Cell::new(None) };
    /// The element the window is mounted in (plain bodies are drawn again there).
    static ROOT: RefCell<Option<web_sys::Element>> = const { RefCell::new(None) };
}

/// Registers the view's pieces for the window mounted in `root`.
pub fn register(root: web_sys::Element) {
    ROOT.with(|r| *r.borrow_mut() = Some(root));
    pieces::register(Piece::Markdown, || {
        Box::pin(async {
            let Ok(render) = crate::pieces::entry!(markdown_renderer()) else {
                return false;
            };
            MARKDOWN.set(Some(render));
            draw_plain_bodies(render);
            true
        })
    });
    #[cfg(feature = "split")]
    pieces::register(Piece::Notify, || Box::pin(async { preload_notify().await.is_ok() }));
    #[cfg(not(feature = "split"))]
    pieces::register(Piece::Notify, || Box::pin(async { true }));
}

/// Attaches the notification panel (the piece is here: [`pieces::ensure`]).
pub async fn attach_notify(
    chat: UseChatReturn,
    root: web_sys::Element,
    toggle: web_sys::HtmlElement,
) -> Option<NotifyPanel> {
    crate::pieces::entry!(notify_panel(chat, root, toggle)).ok()
}

/// A message body: markdown once that piece is here; until then its plain
/// text, and the piece is needed.
pub fn render_body(text: &str, el: &web_sys::Element) {
    match MARKDOWN.get() {
        Some(render) => render(text, el),
        None => {
            el.set_text_content(Some(text));
            let _ = el.class_list().add_1("plain");
            pieces::needed(Piece::Markdown);
        }
    }
}

/// Draws every body still shown as plain text as markdown, in place (the
/// rows stay, and with them focus); a log scrolled to its end stays there.
fn draw_plain_bodies(render: Render) {
    let (plain, log) = ROOT.with(|r| {
        let root = r.borrow();
        let root = root.as_ref();
        (
            root.and_then(|root| root.query_selector_all(".body.plain").ok()),
            root.and_then(|root| root.query_selector(".log").ok().flatten()),
        )
    });
    let Some(plain) = plain else { return };
    let at_end = log
        .as_ref()
        .is_some_and(|log| log.scroll_height() - log.scroll_top() - log.client_height() < 120);
    for index in 0..plain.length() {
        if let Some(el) = plain.item(index).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
            let text = el.text_content().unwrap_or_default();
            let _ = el.class_list().remove_1("plain");
            render(&text, &el);
        }
    }
    if let (true, Some(log)) = (at_end, log) {
        log.set_scroll_top(log.scroll_height());
    }
}
