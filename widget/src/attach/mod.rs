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
mod voice;

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
    /// The microphone button was pressed on the composer `form`.
    pub record: fn(UseChatReturn, &web_sys::Element),
}

/// The piece, as its loader hands it to the core.
pub fn piece() -> Attach {
    i18n::speak(i18n::EN_ATTACH);
    Attach {
        show: show::show,
        take: tray::take,
        submit: tray::submit,
        record: voice::record,
    }
}

/// The piece's styles (`attach.css`, minified by `build.rs`).
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/attach.css"));

/// Adds [`STYLE`] to the window's shadow root, once.
fn style(el: &web_sys::Element) {
    crate::browser::add_style(el, "attach", STYLE);
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
