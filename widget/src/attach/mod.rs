//! The attachment piece (issue #31): sending photos, documents and voice
//! messages, and showing them in the log. Its code and words are a piece
//! of the window ([`crate::pieces`]), fetched when a file is first picked,
//! pasted or dropped, or a message with one is first shown, and in the
//! background once the window runs; the core only hands it files and the
//! elements to draw attachments in (`view/pieces.rs`).
//!
//! - `tray.rs`: the files waiting to go, above the composer: a preview
//!   each, the refusals before anything is sent (type, size, first
//!   bytes, by the session's policy: the same rules the server applies
//!   again), "send photos as they are", then per file a progress bar and
//!   Cancel while it uploads, and "Try again" when it failed;
//! - `photo.rs`: a photo re-encoded in the browser (at most 2,048 px on its
//!   longest edge, JPEG), which drops its metadata; `strip.rs`: the
//!   location and other metadata removed from an original's bytes without
//!   re-encoding (pure Rust, tested natively);
//! - `upload.rs`: the upload (`XMLHttpRequest`, for its progress events
//!   and `abort`) and the server's refusals in words;
//! - `show.rs`: an attachment in the log: a photo as a thumbnail in a
//!   fixed box that opens large, a voice message as a player, anything
//!   else as a chip with its name, type and size, to download.
//!
//! Built by hand with `web_sys`, like the notification panel: the same
//! views in `view!` cost the download several times as much. The piece
//! brings its own styles ([`STYLE`]), added to the window's shadow root
//! when it first draws.

mod js;
mod photo;
mod show;
pub mod strip;
mod tray;
mod upload;

use protocol::local::Attachment;
use wasm_bindgen::JsCast;

use crate::chat::UseChatReturn;
use crate::i18n::{self, Msg, t, tf};

/// What the piece offers the core (function pointers, so the core holds
/// none of their code).
#[derive(Clone, Copy)]
pub struct Attach {
    /// Draws an attachment into its element in the log.
    pub show: fn(UseChatReturn, &Attachment, &web_sys::Element),
    /// Files the user picked, pasted or dropped on the composer `form`.
    pub take: fn(UseChatReturn, &web_sys::Element, js_sys::Array),
    /// The composer's text was submitted: `true` when files were waiting
    /// in the tray and go now, with the text.
    pub submit: fn(UseChatReturn, &str) -> bool,
}

/// The piece, as its loader hands it to the core.
pub fn piece() -> Attach {
    i18n::speak(i18n::EN_ATTACH);
    Attach {
        show: show::show,
        take: tray::take,
        submit: tray::submit,
    }
}

/// The piece's styles (added once to the window's shadow root).
const STYLE: &str = ".chat .file{margin-top:4px}\
.chat .thumb{display:block;width:220px;max-width:100%;height:160px;padding:0;border:1px solid var(--border);border-radius:8px;overflow:hidden;background:var(--mine)}\
.chat .thumb img{width:100%;height:100%;object-fit:cover;display:block}\
.chat .chip{display:inline-flex;gap:6px;align-items:center;max-width:100%;padding:4px 8px;border:1px solid var(--border);border-radius:8px;color:var(--fg);text-decoration:none;overflow-wrap:anywhere}\
.chat a.chip{text-decoration:underline}\
.chat .voice{display:flex;gap:6px;align-items:center;flex-wrap:wrap}\
.chat .voice audio{max-width:100%;height:36px}\
.chat .viewer{position:absolute;inset:0;z-index:5;display:flex;flex-direction:column;background:rgba(0,0,0,.88);padding:8px;gap:8px}\
.chat .viewer img{flex:1;min-height:0;object-fit:contain}\
.chat .viewer button{align-self:flex-end;background:var(--bg)}\
.chat .tray{border-top:1px solid var(--border);padding:6px 8px;display:flex;flex-direction:column;gap:6px}\
.chat .tray ul{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:4px}\
.chat .tray li{display:flex;gap:8px;align-items:center}\
.chat .tray li img,.chat .tray .kind{flex:none;width:48px;height:48px;object-fit:cover;border-radius:4px}\
.chat .tray .kind{display:grid;place-items:center;border:1px solid var(--border);font-size:11px}\
.chat .tray .info{flex:1;min-width:0;display:flex;flex-direction:column;overflow-wrap:anywhere}\
.chat .tray .info span:empty,.chat [hidden]{display:none}\
.chat .tray progress{width:100%}\
.chat .tray .failed{color:#b3261e}\
.chat .tray .row{display:flex;gap:8px;align-items:center;justify-content:space-between;flex-wrap:wrap;font-size:12px}";

/// Adds [`STYLE`] to the shadow root (or document) `el` is in, once.
fn style(el: &web_sys::Element) {
    let root = el.get_root_node();
    let Ok(root) = root.dyn_into::<web_sys::DocumentFragment>() else {
        return;
    };
    if root.query_selector("style.attach").ok().flatten().is_some() {
        return;
    }
    if let Some(document) = el.owner_document()
        && let Ok(style) = document.create_element("style")
    {
        style.set_class_name("attach");
        style.set_text_content(Some(STYLE));
        let _ = root.append_child(&style);
    }
}

/// A new element in `parent`, with a class and a text (each if not empty).
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

/// A type as people know it: `JPEG`, `PDF`, `voice message`, …
fn type_label(content_type: &str) -> String {
    match content_type {
        "image/jpeg" => "JPEG".into(),
        "image/png" => "PNG".into(),
        "image/webp" => "WebP".into(),
        "image/gif" => "GIF".into(),
        "application/pdf" => "PDF".into(),
        "text/plain" => "TXT".into(),
        "text/csv" => "CSV".into(),
        t if t.starts_with("audio/") => i18n::t(Msg::AttachVoice),
        other => other.to_owned(),
    }
}

/// The allowed types, as people know them (`JPEG, PNG, PDF, …`).
fn allowed_labels(types: &[String]) -> String {
    let mut labels: Vec<String> = types.iter().map(|t| type_label(t)).collect();
    labels.dedup();
    labels.join(", ")
}

/// The server's refusal of a file, in the user's words: the catalog's for
/// the codes it knows (the server's own, more precise, in an English
/// window), else the server's.
fn refusal(code: &str, message: &str, name: &str) -> String {
    let known = match code {
        "type_not_allowed" => Msg::AttachTypeNotAllowedServer,
        "type_mismatch" => Msg::AttachTypeMismatch,
        "too_large" => Msg::AttachTooLargeServer,
        "quota_exceeded" => Msg::AttachQuota,
        "empty_file" => Msg::AttachEmpty,
        "not_a_member" => Msg::ErrorNoAccess,
        "rate_limited" => Msg::ErrorTooMany,
        _ if message.is_empty() => Msg::ErrorUnavailable,
        _ => return message.to_owned(),
    };
    if i18n::english() && !message.is_empty() {
        return message.to_owned();
    }
    match known {
        Msg::AttachTypeMismatch | Msg::AttachEmpty | Msg::AttachTypeNotAllowedServer => tf(known, &[("name", name)]),
        other => t(other),
    }
}
