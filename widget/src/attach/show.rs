//! An attachment in the log. A photo is a thumbnail in a fixed box (no
//! jump while it loads; the message's text shows at once), a button that
//! opens it large in the window, with the file name as its alternative
//! text; a voice message is the browser's player (play/pause, position,
//! length) with a speed button (×1, ×1.5, ×2), one playing at a time;
//! anything else a chip with its name, type and size, a download. Names
//! are text only; SVG and HTML never reach here (the server takes neither).
//!
//! One set of listeners per window, on its root (clicks, Escape, `play`,
//! an image's `error`), not one per row: a long log holds no closures.
//! Until the provider's client is connected there is no address to load a
//! file from (a repeat visit shows the device's copy first): such
//! attachments show as chips and are drawn again once it is online.

use std::cell::RefCell;

use protocol::files::{KNOWN_TYPES, clean_name, human_size, is_image, safe_text};
use protocol::local::Attachment;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::js::{call, get, set, text};
use super::{element, style, type_label};
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t, tf};

/// An attachment drawn without an address, drawn again once online.
type Unlinked = (UseChatReturn, Attachment, web_sys::Element);

thread_local! {
    static UNLINKED: RefCell<Vec<Unlinked>> = const { RefCell::new(Vec::new()) };
    static WATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The chat whose client gives files' addresses (a thumbnail whose
    /// token expired asks it again).
    static CHAT: std::cell::Cell<Option<UseChatReturn>> = const { std::cell::Cell::new(None) };
}

/// Where the file `id` is fetched from, if the client can say.
fn address(chat: UseChatReturn, id: &str) -> Option<String> {
    let (endpoint, token) = chat.client()?.file_endpoint()?;
    Some(format!(
        "{endpoint}/{}?token={}",
        js_sys::encode_uri_component(id),
        js_sys::encode_uri_component(&token)
    ))
}

/// Draws `file` into `el` (see the module's documentation).
pub fn show(chat: UseChatReturn, file: &Attachment, el: &web_sys::Element) {
    // a row is drawn before it is put in the window: the window's styles
    // and listeners once it is there
    let slot = el.clone();
    leptos::task::spawn_local(async move {
        style(&slot);
        listen(&slot);
    });
    CHAT.set(Some(chat));
    // a name from another Twilio client was never cleaned by our server
    let file = &Attachment {
        name: if KNOWN_TYPES.contains(&file.content_type.as_str()) {
            clean_name(&file.name, &file.content_type)
        } else {
            safe_text(&file.name)
        },
        ..file.clone()
    };
    if let Some(url) = address(chat, &file.id) {
        draw(el, Some(&url), file);
        return;
    }
    draw(el, None, file);
    match chat.client().and_then(|c| c.file_url(&file.id)) {
        // Twilio: a temporary address from its media service
        Some(asked) => {
            let (el, file) = (el.clone(), file.clone());
            leptos::task::spawn_local(async move {
                if let Ok(url) = wasm_bindgen_futures::JsFuture::from(asked).await
                    && let Some(url) = url.as_string()
                {
                    draw(&el, Some(&url), &file);
                }
            });
        }
        // the local client, not connected yet
        None => {
            UNLINKED.with(|u| u.borrow_mut().push((chat, file.clone(), el.clone())));
            watch_connection();
        }
    }
}

/// Draws `file` into `el`, from `url` if there is one yet: a photo, a
/// voice message, or a chip (a download only for the types DAChat
/// checks; another Twilio client may have sent anything).
fn draw(el: &web_sys::Element, url: Option<&str>, file: &Attachment) {
    el.set_text_content(None);
    let kind = file.content_type.as_str();
    let _ = match url {
        Some(url) if is_image(kind) => thumbnail(el, url, file),
        Some(url) if kind.starts_with("audio/") && KNOWN_TYPES.contains(&kind) => player(el, url, file),
        url => chip(el, url.filter(|_| KNOWN_TYPES.contains(&kind)), file),
    };
}

/// Sets each attribute of `el`.
fn attributes(el: &web_sys::Element, pairs: &[(&str, &str)]) -> Option<()> {
    for (name, value) in pairs {
        el.set_attribute(name, value).ok()?;
    }
    Some(())
}

fn thumbnail(el: &web_sys::Element, url: &str, file: &Attachment) -> Option<()> {
    let name = file.name.as_str();
    let button = element(el, "button", "thumb", "")?;
    attributes(
        &button,
        &[
            ("type", "button"),
            ("aria-label", &tf(Msg::AttachOpen, &[("name", name)])),
        ],
    )?;
    let img = element(&button, "img", "", "")?;
    attributes(
        &img,
        &[
            ("alt", name),
            ("loading", "lazy"),
            ("decoding", "async"),
            ("data-id", &file.id),
            ("src", url),
        ],
    )
}

fn player(el: &web_sys::Element, url: &str, file: &Attachment) -> Option<()> {
    let voice = element(el, "div", "voice", "")?;
    let audio = element(&voice, "audio", "", "")?;
    // nothing is fetched until it is played: a weak link pays for what is heard
    attributes(
        &audio,
        &[
            ("controls", ""),
            ("preload", "none"),
            ("aria-label", &format!("{} · {}", t(Msg::AttachVoice), file.name)),
            ("src", url),
        ],
    )?;
    let speed = element(&voice, "button", "speed", "×1")?;
    attributes(&speed, &[("type", "button"), ("aria-label", &t(Msg::AttachSpeed))])?;
    element(&voice, "span", "", &human_size(file.size))?;
    Some(())
}

fn chip(el: &web_sys::Element, url: Option<&str>, file: &Attachment) -> Option<()> {
    let text = format!(
        "{} · {} · {}",
        file.name,
        type_label(&file.content_type),
        human_size(file.size)
    );
    let chip = element(el, if url.is_some() { "a" } else { "span" }, "chip", &text)?;
    match url {
        Some(url) => attributes(
            &chip,
            &[
                ("href", url),
                ("download", &file.name),
                ("rel", "noopener"),
                ("aria-label", &tf(Msg::AttachDownload, &[("name", &text)])),
            ],
        ),
        None => Some(()),
    }
}

/// Whether `el` is still in the page.
fn connected(el: &web_sys::Element) -> bool {
    get(el, "isConnected").is_truthy()
}

/// The closest ancestor of `el` (or itself) matching `selector`.
fn closest(el: &JsValue, selector: &str) -> Option<web_sys::HtmlElement> {
    call(el, "closest", &[&selector.into()]).ok()?.dyn_into().ok()
}

/// Draws again what was drawn without an address, when the window's
/// connection comes online (`dachat:connection`).
fn watch_connection() {
    if WATCHING.replace(true) {
        return;
    }
    let on_change = Closure::<dyn FnMut(JsValue)>::new(|event: JsValue| {
        if text(&event, "detail") == "online" {
            for (chat, file, el) in UNLINKED.take() {
                if connected(&el) {
                    show(chat, &file, &el);
                }
            }
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window.add_event_listener_with_callback("dachat:connection", on_change.as_ref().unchecked_ref());
    }
    // one for the page's life
    on_change.forget();
}

/// The root's listeners, once per window (marked on the root).
fn listen(el: &web_sys::Element) {
    let Some(root) = closest(el, ".chat") else { return };
    if get(&root, "dachatFiles").is_truthy() {
        return;
    }
    set(&root, "dachatFiles", &JsValue::TRUE);
    let on_click = Closure::<dyn FnMut(web_sys::Event)>::new(clicked);
    let on_play = Closure::<dyn FnMut(web_sys::Event)>::new(played);
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(failed);
    let on_key = Closure::<dyn FnMut(web_sys::Event)>::new(key);
    let _ = root.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    let _ = root.add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
    // `play` and `error` do not bubble: heard on their way down
    for (event, handler) in [("play", &on_play), ("error", &on_error)] {
        let _ = call(
            &root,
            "addEventListener",
            &[&event.into(), handler.as_ref(), &JsValue::TRUE],
        );
    }
    // they live as long as the window's root (closing the window drops it)
    on_click.forget();
    on_play.forget();
    on_error.forget();
    on_key.forget();
}

fn target(event: &web_sys::Event, selector: &str) -> Option<web_sys::HtmlElement> {
    closest(&event.target()?.into(), selector)
}

fn clicked(event: web_sys::Event) {
    if let Some(thumb) = target(&event, ".thumb") {
        open(&thumb);
    } else if let Some(speed) = target(&event, ".speed") {
        let audio = closest(&speed, ".voice").and_then(|v| v.query_selector("audio").ok().flatten());
        if let Some(audio) = audio {
            let (rate, label) = match get(&audio, "playbackRate").as_f64().unwrap_or(1.0) {
                r if r < 1.25 => (1.5, "×1.5"),
                r if r < 1.75 => (2.0, "×2"),
                _ => (1.0, "×1"),
            };
            set(&audio, "playbackRate", &rate.into());
            speed.set_text_content(Some(label));
        }
    } else if let Some(viewer) = target(&event, ".viewer") {
        // a click beside the photo (or on Close) closes it
        let on_photo = event.target().is_some_and(|t| text(&t, "tagName") == "IMG");
        if !on_photo {
            shut(&viewer);
        }
    }
}

/// One voice message plays at a time: another starting pauses the rest.
fn played(event: web_sys::Event) {
    let Some(playing) = event.target().map(JsValue::from) else {
        return;
    };
    let Some(all) = closest(&playing, ".chat").and_then(|r| r.query_selector_all("audio").ok()) else {
        return;
    };
    for index in 0..all.length() {
        if let Some(audio) = all.item(index).map(JsValue::from)
            && !call(&audio, "isSameNode", &[&playing]).is_ok_and(|same| same.is_truthy())
        {
            let _ = call(&audio, "pause", &[]);
        }
    }
}

/// A thumbnail that failed to load (its token may have expired): once
/// more with the client's current address.
fn failed(event: web_sys::Event) {
    let Some(img) = event.target().map(JsValue::from) else {
        return;
    };
    let id = text(&get(&img, "dataset"), "id");
    if id.is_empty() || get(&img, "retried").is_truthy() {
        return;
    }
    set(&img, "retried", &JsValue::TRUE);
    if let Some(fresh) = CHAT.get().and_then(|chat| address(chat, &id)) {
        set(&img, "src", &fresh.into());
    }
}

/// Escape closes an open photo.
fn key(event: web_sys::Event) {
    let escape = text(&event, "key") == "Escape";
    let viewer = target(&event, ".viewer");
    if let (true, Some(viewer)) = (escape, viewer) {
        event.stop_propagation();
        shut(&viewer);
    }
}

/// Opens a thumbnail's photo large, over the window; Escape, the close
/// button or a click beside the photo closes it, and focus returns.
fn open(thumb: &web_sys::HtmlElement) {
    let Some(img) = thumb.query_selector("img").ok().flatten() else {
        return;
    };
    let Some(root) = closest(thumb, ".chat") else { return };
    let name = text(&img, "alt");
    let Some(viewer) = element(&root, "div", "viewer", "") else {
        return;
    };
    let _ = attributes(
        &viewer,
        &[("role", "dialog"), ("aria-modal", "true"), ("aria-label", &name)],
    );
    let close = element(&viewer, "button", "", &t(Msg::AttachClose));
    if let Some(large) = element(&viewer, "img", "", "") {
        let _ = attributes(&large, &[("alt", &name), ("src", &text(&img, "src"))]);
    }
    let _ = thumb.set_attribute("id", "dachat-opened");
    if let Some(close) = close {
        let _ = close.set_attribute("type", "button");
        let _ = close.focus();
    }
}

fn shut(viewer: &web_sys::HtmlElement) {
    let opened = closest(viewer, ".chat").and_then(|root| root.query_selector("#dachat-opened").ok().flatten());
    let _ = call(viewer, "remove", &[]);
    if let Some(thumb) = opened.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = call(&thumb, "removeAttribute", &[&"id".into()]);
        let _ = thumb.focus();
    }
}
