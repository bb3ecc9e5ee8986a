//! The view's pieces ([`crate::pieces`]): the markdown renderer of
//! message bodies, the e-mail notification panel, the attachment code
//! ([`crate::attach`]) and the menu of a message's actions
//! ([`crate::actions`]), each a `#[wasm_split]` function whose code the
//! core never holds.
//!
//! Until markdown arrives a body is its plain text (marked `plain`); when
//! it arrives every plain body in the window is drawn again in place.
//! Until the attachment piece arrives an attachment is its file name; files
//! the user picks, pastes or drops meanwhile wait for it.
//! This module and `chat/pieces.rs` are the only ones that allow
//! `unsafe_code`: the macro's expansion declares the loader functions the
//! split adds (an `extern` block) and their loaders' statics.

#![allow(unsafe_code)]

use std::cell::{Cell, RefCell};

use leptos::prelude::WithUntracked;
use leptos::wasm_split::SplitLoaderError;
#[cfg(feature = "split")]
use leptos::wasm_split::wasm_split;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;

use protocol::local::Attachment;

use super::notify::NotifyPanel;
use crate::actions::Actions;
use crate::attach::Attach;
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t};
use crate::pieces::{self, Piece};

/// Draws a message body into its element.
pub type Render = fn(&str, &web_sys::Element);

#[cfg_attr(feature = "split", wasm_split(markdown, wasm_split_path = ::leptos::wasm_split, fallible))]
fn markdown_renderer() -> Result<Render, SplitLoaderError> {
    ROOT.with(|r| {
        if let Some(root) = r.borrow().as_ref() {
            crate::browser::add_style(root, "markdown", super::markdown_dom::STYLE);
        }
    });
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

#[cfg_attr(feature = "split", wasm_split(attach, wasm_split_path = ::leptos::wasm_split, fallible))]
fn attach_piece() -> Result<Attach, SplitLoaderError> {
    Ok(crate::attach::piece())
}

#[cfg_attr(feature = "split", wasm_split(actions, wasm_split_path = ::leptos::wasm_split, fallible))]
fn actions_piece() -> Result<Actions, SplitLoaderError> {
    Ok(crate::actions::piece())
}

/// An attachment shown before its piece arrived, drawn again when it does.
type Waiting = (UseChatReturn, Attachment, web_sys::Element);

thread_local! {
    static MARKDOWN: Cell<Option<Render>> = const { Cell::new(None) };
    static ATTACH: Cell<Option<Attach>> = const { Cell::new(None) };
    static ACTIONS: Cell<Option<Actions>> = const { Cell::new(None) };
    /// A message's actions asked for before their piece arrived.
    static ASKED: RefCell<Option<(UseChatReturn, i64, web_sys::HtmlElement)>> = const { RefCell::new(None) };
    static WAITING: RefCell<Vec<Waiting>> = const { RefCell::new(Vec::new()) };
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
    pieces::register(Piece::Attach, || {
        Box::pin(async {
            let Ok(attach) = crate::pieces::entry!(attach_piece()) else {
                return false;
            };
            ATTACH.set(Some(attach));
            for (chat, file, el) in WAITING.take() {
                if el.is_connected() {
                    (attach.show)(chat, &file, &el);
                }
            }
            true
        })
    });
    pieces::register(Piece::Actions, || {
        Box::pin(async {
            let Ok(actions) = crate::pieces::entry!(actions_piece()) else {
                return false;
            };
            ACTIONS.set(Some(actions));
            crate::chat::pieces::read_other_frames(actions.frame);
            if let Some((chat, id, button)) = ASKED.take()
                && button.is_connected()
            {
                (actions.open)(chat, id, button);
            }
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

/// The actions button of message `id` of the room on screen was clicked:
/// the piece's menu opens (or closes) under it; if the piece is not here
/// yet, when it arrives (the last button pressed; the window says what it
/// waits for meanwhile).
pub fn message_actions(chat: UseChatReturn, id: i64, click: web_sys::MouseEvent) {
    let Some(button) = click
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    match ACTIONS.get() {
        Some(actions) => (actions.open)(chat, id, button),
        None => {
            ASKED.with(|a| *a.borrow_mut() = Some((chat, id, button)));
            pieces::waiting(Piece::Actions);
        }
    }
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

/// An attachment in the log: drawn by the attachment piece; until it
/// arrives, the file's name (shown as text), and the piece is needed.
pub fn show_file(chat: UseChatReturn, file: &Attachment, el: &web_sys::Element) {
    match ATTACH.get() {
        Some(attach) => (attach.show)(chat, file, el),
        None => {
            el.set_text_content(Some(&file.name));
            WAITING.with(|w| w.borrow_mut().push((chat, file.clone(), el.clone())));
            pieces::needed(Piece::Attach);
        }
    }
}

/// Files the user picked, pasted or dropped on the composer `form`: to
/// the attachment piece's tray, once it is here (the window says it is
/// coming meanwhile); no files: the microphone button, a voice message to
/// record.
pub fn take_files(chat: UseChatReturn, form: web_sys::Element, files: js_sys::Array) {
    pieces::waiting(Piece::Attach);
    leptos::task::spawn_local(async move {
        if pieces::ensure(Piece::Attach).await
            && let Some(attach) = ATTACH.get()
        {
            match files.length() {
                0 => (attach.record)(chat, &form),
                _ => (attach.take)(chat, &form, files),
            }
        }
    });
}

/// The composer's file hooks, added when its form is created, when the
/// session allows files (`js/files.js`: in Rust through web-sys they cost
/// the core more): the attach button (a native file input in a label, so
/// the picker opens at once, whether the piece is here yet or not), the
/// microphone button, the composer's `paste` and drops anywhere on the
/// window, all handed to [`take_files`]; a dropped file is never opened by
/// the browser in the host's tab.
#[derive(Clone, Copy)]
pub struct FileHooks(pub UseChatReturn);

impl leptos::tachys::html::node_ref::NodeRefContainer<leptos::html::Form> for FileHooks {
    fn load(self, form: &web_sys::Element) {
        hook_files(self.0, form);
    }
}

type Hook = Closure<dyn FnMut(js_sys::Array)>;

thread_local! {
    /// The composer's file listener (replaced when it is drawn again).
    static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

#[wasm_bindgen(module = "/js/files.js")]
extern "C" {
    #[wasm_bindgen(js_name = hookFiles)]
    fn hook_files_js(form: &web_sys::Element, accept: &str, label: &str, take: &js_sys::Function, mic_label: &str);
}

fn hook_files(chat: UseChatReturn, form: &web_sys::Element) {
    let Some(accept) = chat.state.with_untracked(|s| {
        s.as_ref()
            .and_then(|s| s.attachments.as_ref().map(|a| a.types.join(",")))
    }) else {
        return;
    };
    let form_el = form.clone();
    let hook = Hook::new(move |files| take_files(chat, form_el.clone(), files));
    // a voice message needs a type the browsers record
    let voice = if accept.contains("audio/") {
        t(Msg::ComposerRecord)
    } else {
        String::new()
    };
    hook_files_js(
        form,
        &accept,
        &t(Msg::ComposerAttach),
        hook.as_ref().unchecked_ref(),
        &voice,
    );
    HOOK.with(|h| *h.borrow_mut() = Some(hook));
}

/// The composer's text is submitted: with the files waiting in the tray,
/// if there are any (`true`: the piece took the text).
pub fn submit_files(chat: UseChatReturn, text: &str) -> bool {
    ATTACH.get().is_some_and(|attach| (attach.submit)(chat, text))
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
            // an attachment at the body's end is kept, not read as text
            let file = el.query_selector(":scope > .file").ok().flatten();
            if let Some(file) = &file {
                file.remove();
            }
            let text = el.text_content().unwrap_or_default();
            let _ = el.class_list().remove_1("plain");
            render(&text, &el);
            if let Some(file) = file {
                let _ = el.append_child(&file);
            }
        }
    }
    if let (true, Some(log)) = (at_end, log) {
        log.set_scroll_top(log.scroll_height());
    }
}
