//! The files waiting to go, above the composer.
//!
//! A file picked, pasted or dropped is checked first, by the session's
//! policy (the server checks the same again: the client is not trusted):
//! its type (by what the browser says, else its name), its size (a photo
//! that will be re-encoded is checked once it is), its first bytes (a
//! "PNG" that is HTML is refused here, before a byte is sent). A refusal
//! names the file and what is allowed. What passes waits in the tray with
//! a preview (a photo's thumbnail from the device, nothing fetched) and a
//! Remove button. Send (the tray's, or Enter in the composer) sends them
//! one after another, the composer's text with the first: each is
//! prepared (`photo.rs`), uploaded with a progress bar and Cancel, then
//! posted through the outbox (on Twilio: sent with its message through the
//! SDK, `upload::send_media`). A file that fails says why and offers "Try
//! again"; the text waits for the first file that goes.

use std::cell::RefCell;

use leptos::prelude::WithUntracked;
use protocol::files::{HEAD_BYTES, KNOWN_TYPES, clean_name, head_matches, human_size, is_image};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::js::{self, call, get, new, number, set, text};
use super::upload::{Cancel, Failure, upload};
use super::{allowed_labels, element, photo, refusal, style, type_label};
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t, tf};

type Listener = Closure<dyn FnMut(web_sys::Event)>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ready,
    Preparing,
    Uploading,
    Failed,
}

struct Item {
    key: u32,
    /// The `File`.
    file: JsValue,
    name: String,
    content_type: String,
    /// A photo's preview (an object URL of the file on the device).
    preview: Option<String>,
    li: web_sys::HtmlElement,
    status: web_sys::HtmlElement,
    bar: web_sys::HtmlElement,
    retry: web_sys::HtmlElement,
    /// Remove; Cancel while it is being prepared or uploaded.
    remove: web_sys::HtmlElement,
    phase: Phase,
    cancel: Cancel,
    _listeners: [Listener; 2],
}

struct Tray {
    form: web_sys::Element,
    el: web_sys::HtmlElement,
    list: web_sys::HtmlElement,
    /// The "send photos as they are" checkbox.
    original: web_sys::Element,
    original_row: web_sys::HtmlElement,
    items: Vec<Item>,
    next: u32,
    sending: bool,
    /// The composer's text, to go with the first file that is sent.
    caption: String,
    _listeners: Vec<Listener>,
}

thread_local! {
    static TRAY: RefCell<Option<Tray>> = const { RefCell::new(None) };
}

fn listener(act: impl FnMut(web_sys::Event) + 'static, target: &web_sys::EventTarget, event: &str) -> Listener {
    let closure = Listener::new(act);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure
}

/// The type to check a file by: what the browser says when DAChat knows
/// it, else what its name says (Windows calls a CSV
/// `application/vnd.ms-excel`), else what the browser said.
fn declared_type(name: &str, said: &str) -> String {
    if KNOWN_TYPES.contains(&said) {
        return said.to_owned();
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let by_name = match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "weba" | "webm" => "audio/webm",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "m4a" => "audio/mp4",
        _ => said,
    };
    by_name.to_owned()
}

/// Files the user picked, pasted or dropped on the composer `form`.
pub fn take(chat: UseChatReturn, form: &web_sys::Element, files: js_sys::Array) {
    let form = form.clone();
    leptos::task::spawn_local(async move {
        let Some(policy) = chat
            .state
            .with_untracked(|s| s.as_ref().and_then(|s| s.attachments.clone()))
        else {
            chat.notice(t(Msg::AttachNotHere));
            return;
        };
        let mut refused = Vec::new();
        for file in files.iter() {
            let name = text(&file, "name");
            let content_type = declared_type(&name, &text(&file, "type"));
            let size = number(&file, "size") as u64;
            let why = if !policy.types.contains(&content_type) {
                Some(tf(
                    Msg::AttachTypeNotAllowed,
                    &[("name", &name), ("types", &allowed_labels(&policy.types))],
                ))
            } else if size == 0 {
                Some(tf(Msg::AttachEmpty, &[("name", &name)]))
            } else if size > policy.max_bytes && !photo::reencoded(&content_type) {
                Some(tf(
                    Msg::AttachTooLarge,
                    &[
                        ("name", &name),
                        ("size", &human_size(size)),
                        ("max", &human_size(policy.max_bytes)),
                    ],
                ))
            } else if !head_matches(
                &content_type,
                &js::bytes(&file, Some(HEAD_BYTES as f64)).await.unwrap_or_default(),
            ) {
                Some(tf(Msg::AttachTypeMismatch, &[("name", &name)]))
            } else {
                None
            };
            match why {
                Some(why) => refused.push(why),
                None => add(chat, &form, file, clean_name(&name, &content_type), content_type),
            }
        }
        if !refused.is_empty() {
            chat.notice(refused.join(" "));
        }
    });
}

/// The tray for `form`, made if there is none (or the window was drawn
/// again since).
fn tray_for(chat: UseChatReturn, form: &web_sys::Element) -> Option<()> {
    let here = TRAY.with(|tray_cell| {
        tray_cell
            .borrow()
            .as_ref()
            .is_some_and(|t| get(&t.el, "isConnected").is_truthy())
    });
    if here {
        return Some(());
    }
    style(form);
    let el: web_sys::HtmlElement = form.owner_document()?.create_element("div").ok()?.unchecked_into();
    el.set_class_name("tray");
    el.set_attribute("role", "region").ok()?;
    el.set_attribute("aria-label", &t(Msg::AttachTrayLabel)).ok()?;
    form.parent_node()?.insert_before(&el, Some(form)).ok()?;
    let list = element(&el, "ul", "", "")?;
    let row = element(&el, "div", "row", "")?;
    let original_row = element(&row, "label", "", "")?;
    let original = element(&original_row, "input", "", "")?;
    original.set_attribute("type", "checkbox").ok()?;
    element(&original_row, "span", "", &t(Msg::AttachOriginal))?;
    let send = element(&row, "button", "", &t(Msg::AttachSend))?;
    send.set_attribute("type", "button").ok()?;
    let on_send = listener(
        move |_| {
            let textarea = TRAY.with(|tray_cell| {
                tray_cell
                    .borrow()
                    .as_ref()
                    .and_then(|t| t.form.query_selector("textarea").ok().flatten())
            });
            let typed = textarea.as_ref().map(|t| text(t, "value")).unwrap_or_default();
            if submit(chat, &typed)
                && let Some(textarea) = textarea
            {
                write(&textarea, "");
            }
        },
        &send,
        "click",
    );
    TRAY.with(|tray_cell| {
        *tray_cell.borrow_mut() = Some(Tray {
            form: form.clone(),
            el,
            list,
            original: original.into(),
            original_row,
            items: Vec::new(),
            next: 0,
            sending: false,
            caption: String::new(),
            _listeners: vec![on_send],
        })
    });
    Some(())
}

/// Writes `value` into the composer's box, as if typed: its own handler
/// keeps the draft and the counter in step.
fn write(textarea: &web_sys::Element, value: &str) {
    set(textarea, "value", &value.into());
    if let Ok(input) = new("Event", &[&"input".into()]) {
        let _ = call(textarea, "dispatchEvent", &[&input]);
    }
}

/// Puts a checked file in the tray (one picked, pasted or dropped, or a
/// voice message just recorded, to be heard back before it goes).
pub fn add(chat: UseChatReturn, form: &web_sys::Element, file: JsValue, name: String, content_type: String) {
    if tray_for(chat, form).is_none() {
        return;
    }
    TRAY.with(|tray_cell| {
        let mut tray = tray_cell.borrow_mut();
        let Some(tray) = tray.as_mut() else { return };
        let key = tray.next;
        tray.next += 1;
        let Some(li) = element(&tray.list, "li", "", "") else {
            return;
        };
        let preview = if is_image(&content_type) || content_type.starts_with("audio/") {
            call(&get(&js_sys::global(), "URL"), "createObjectURL", &[&file])
                .ok()
                .and_then(|u| u.as_string())
        } else {
            None
        };
        // a photo's own preview; anything else its type, in the same box
        let shown = match &preview {
            // a voice message, to be heard back before it goes
            Some(url) if content_type.starts_with("audio/") => element(&li, "audio", "", "").map(|audio| {
                let _ = audio.set_attribute("controls", "");
                let _ = audio.set_attribute("src", url);
                let _ = audio.set_attribute("aria-label", &name);
            }),
            Some(url) => element(&li, "img", "", "").map(|img| {
                let _ = img.set_attribute("src", url);
                let _ = img.set_attribute("alt", "");
            }),
            None => element(&li, "span", "kind", &type_label(&content_type)).map(drop),
        };
        let label = format!("{name} · {}", human_size(number(&file, "size") as u64));
        let info = element(&li, "span", "info", "");
        let (Some(()), Some(info)) = (shown, info) else { return };
        let (Some(_), Some(status), Some(bar), Some(retry), Some(remove)) = (
            element(&info, "span", "name", &label),
            element(&info, "span", "", ""),
            element(&info, "progress", "", ""),
            element(&li, "button", "", &t(Msg::AttachRetry)),
            element(&li, "button", "", "×"),
        ) else {
            return;
        };
        bar.set_hidden(true);
        retry.set_hidden(true);
        let _ = retry.set_attribute("type", "button");
        let _ = remove.set_attribute("type", "button");
        let _ = remove.set_attribute("aria-label", &tf(Msg::AttachRemove, &[("name", &name)]));
        let _ = bar.set_attribute("aria-label", &name);
        let listeners = [
            listener(move |_| drop_item(key), &remove, "click"),
            listener(
                move |_| {
                    set_phase(key, Phase::Ready, "");
                    start(chat);
                },
                &retry,
                "click",
            ),
        ];
        tray.items.push(Item {
            key,
            file,
            name,
            content_type,
            preview,
            li,
            status,
            bar,
            retry,
            remove,
            phase: Phase::Ready,
            cancel: Cancel::default(),
            _listeners: listeners,
        });
        let photos = tray.items.iter().any(|i| photo::reencoded(&i.content_type));
        tray.original_row.set_hidden(!photos);
    });
}

/// Removes an item (cancelling its upload), and the tray once empty.
fn drop_item(key: u32) {
    let removed = TRAY.with(|tray_cell| {
        let mut tray = tray_cell.borrow_mut();
        let tray = tray.as_mut()?;
        let at = tray.items.iter().position(|i| i.key == key)?;
        Some(tray.items.remove(at))
    });
    if let Some(item) = removed {
        item.cancel.cancel();
        let _ = call(&item.li, "remove", &[]);
        if let Some(url) = item.preview {
            let _ = call(&get(&js_sys::global(), "URL"), "revokeObjectURL", &[&url.into()]);
        }
    }
    close_if_empty();
}

fn close_if_empty() {
    TRAY.with(|tray_cell| {
        let mut tray = tray_cell.borrow_mut();
        if tray.as_ref().is_some_and(|t| t.items.is_empty() && !t.sending)
            && let Some(tray) = tray.take()
        {
            let _ = call(&tray.el, "remove", &[]);
        }
    });
}

/// Shows an item's phase, with `note` (a reason, a progress).
fn set_phase(key: u32, phase: Phase, note: &str) {
    TRAY.with(|tray_cell| {
        if let Some(item) = tray_cell
            .borrow_mut()
            .as_mut()
            .and_then(|t| t.items.iter_mut().find(|i| i.key == key))
        {
            item.phase = phase;
            item.status.set_text_content(Some(note));
            item.status
                .set_class_name(if phase == Phase::Failed { "failed" } else { "" });
            item.bar.set_hidden(phase != Phase::Uploading);
            item.retry.set_hidden(phase != Phase::Failed);
            let busy = matches!(phase, Phase::Preparing | Phase::Uploading);
            item.remove
                .set_text_content(Some(&if busy { t(Msg::LogCancel) } else { "×".into() }));
            let label = tf(
                if busy { Msg::AttachCancel } else { Msg::AttachRemove },
                &[("name", &item.name)],
            );
            let _ = item.remove.set_attribute("aria-label", &label);
        }
    });
}

/// The composer's text was submitted: with the files in the tray, if
/// some wait to go (`true`: taken).
pub fn submit(chat: UseChatReturn, text: &str) -> bool {
    let taken = TRAY.with(|tray_cell| {
        let mut tray = tray_cell.borrow_mut();
        let Some(tray) = tray.as_mut() else { return false };
        if tray.sending || !tray.items.iter().any(|i| i.phase == Phase::Ready) {
            return false;
        }
        tray.caption = text.trim().to_owned();
        true
    });
    if taken {
        start(chat);
    }
    taken
}

/// The next item to send: its key, file, name, type, and cancel handle.
fn next_ready() -> Option<(u32, JsValue, String, String, Cancel)> {
    TRAY.with(|tray_cell| {
        let tray = tray_cell.borrow();
        let item = tray.as_ref()?.items.iter().find(|i| i.phase == Phase::Ready)?;
        Some((
            item.key,
            item.file.clone(),
            item.name.clone(),
            item.content_type.clone(),
            item.cancel.clone(),
        ))
    })
}

/// Sends what is ready, one file after another (unless already sending).
fn start(chat: UseChatReturn) {
    let go = TRAY.with(|tray_cell| {
        tray_cell
            .borrow_mut()
            .as_mut()
            .is_some_and(|t| !std::mem::replace(&mut t.sending, true))
    });
    if !go {
        return;
    }
    leptos::task::spawn_local(async move {
        let room = chat.active_room_name();
        while let Some((key, file, name, content_type, cancel)) = next_ready() {
            match send_one(chat, &room, key, &file, &name, &content_type, &cancel).await {
                Ok(()) | Err(Failure::Cancelled) => drop_item(key),
                Err(Failure::Network) => set_phase(key, Phase::Failed, &t(Msg::AttachOffline)),
                Err(Failure::Refused { code, message }) => {
                    set_phase(key, Phase::Failed, &refusal(&code, &message, &name));
                }
            }
        }
        // a text whose files all failed goes back to the composer
        let back = TRAY.with(|tray_cell| {
            let mut tray = tray_cell.borrow_mut();
            let tray = tray.as_mut()?;
            tray.sending = false;
            let caption = std::mem::take(&mut tray.caption);
            Some((caption, tray.form.query_selector("textarea").ok().flatten()?))
        });
        if let Some((caption, textarea)) = back
            && !caption.is_empty()
            && text(&textarea, "value").is_empty()
        {
            write(&textarea, &caption);
        }
        close_if_empty();
    });
}

/// Prepares, uploads and posts one file.
async fn send_one(
    chat: UseChatReturn,
    room: &str,
    key: u32,
    file: &JsValue,
    name: &str,
    content_type: &str,
    cancel: &Cancel,
) -> Result<(), Failure> {
    let refused = Failure::said;
    set_phase(key, Phase::Preparing, &t(Msg::AttachPreparing));
    let original = TRAY.with(|tray_cell| {
        tray_cell
            .borrow()
            .as_ref()
            .is_some_and(|t| get(&t.original, "checked").is_truthy())
    });
    let prepared = photo::prepare(file, content_type, name, original)
        .await
        .ok_or_else(|| refused(tf(Msg::AttachPhotoError, &[("name", name)])))?;
    // removed while it was being prepared
    if !TRAY.with(|tray_cell| {
        tray_cell
            .borrow()
            .as_ref()
            .is_some_and(|t| t.items.iter().any(|i| i.key == key))
    }) {
        return Err(Failure::Cancelled);
    }
    let max = chat
        .state
        .with_untracked(|s| s.as_ref().and_then(|s| s.attachments.as_ref().map(|a| a.max_bytes)))
        .unwrap_or(0);
    let size = photo::size(&prepared);
    if size > max {
        return Err(refused(tf(
            Msg::AttachTooLarge,
            &[("name", name), ("size", &human_size(size)), ("max", &human_size(max))],
        )));
    }
    let client = chat.client().ok_or_else(|| refused(t(Msg::AttachNotHere)))?;
    let Some(endpoint) = client.file_endpoint() else {
        // Twilio: the file goes with its message, through the SDK (which
        // reports no progress), and the provider's events bring it back
        set_phase(key, Phase::Uploading, &t(Msg::LogSending));
        let caption = TRAY.with(|tray_cell| tray_cell.borrow_mut().as_mut().map(|t| std::mem::take(&mut t.caption)));
        let caption = caption.unwrap_or_default();
        let id = crate::browser::new_client_id();
        let sent = super::upload::send_media(&*client, room, &id, &caption, &prepared, cancel)
            .await
            .unwrap_or_else(|| Err(refused(t(Msg::AttachNotHere))));
        if sent.is_err() {
            // the text waits for the next file that goes
            TRAY.with(|tray_cell| {
                if let Some(t) = tray_cell.borrow_mut().as_mut() {
                    t.caption = caption;
                }
            });
        }
        return sent;
    };
    set_phase(key, Phase::Uploading, "");
    let progress = move |sent: f64, total: f64| {
        TRAY.with(|tray_cell| {
            if let Some(item) = tray_cell
                .borrow()
                .as_ref()
                .and_then(|t| t.items.iter().find(|i| i.key == key))
            {
                let _ = item.bar.set_attribute("max", &total.to_string());
                let _ = item.bar.set_attribute("value", &sent.to_string());
                item.status.set_text_content(Some(&tf(
                    Msg::AttachUploading,
                    &[("sent", &human_size(sent as u64)), ("total", &human_size(total as u64))],
                )));
            }
        });
    };
    let attachment = upload(endpoint, room, &prepared, progress, cancel).await?;
    let caption = TRAY.with(|tray_cell| tray_cell.borrow_mut().as_mut().map(|t| std::mem::take(&mut t.caption)));
    if !chat.post(room, &caption.unwrap_or_default(), Some(Box::new(attachment))) {
        return Err(refused(t(Msg::ErrorSendFailed)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_type_is_what_the_browser_says_else_what_its_name_says() {
        assert_eq!(declared_type("stock.csv", "application/vnd.ms-excel"), "text/csv");
        assert_eq!(declared_type("scan.PDF", ""), "application/pdf");
        assert_eq!(declared_type("photo.png", "image/png"), "image/png");
        assert_eq!(declared_type("note.ogg", "video/ogg"), "audio/ogg");
        // what DAChat does not know stays what it is, and is refused by type
        assert_eq!(
            declared_type("tool.exe", "application/x-msdownload"),
            "application/x-msdownload"
        );
        assert_eq!(declared_type("logo.svg", "image/svg+xml"), "image/svg+xml");
    }
}
