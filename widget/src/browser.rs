//! Browser glue: the few things the widget asks of the page it runs in
//! (time, storage, events to the host, visibility, dialogs). Everything
//! here fails soft: a browser that refuses storage or dialogs leaves the
//! chat working.

use wasm_bindgen::{JsCast, JsValue};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// This browser's device id (kept in local storage; made on first use).
pub fn device_id() -> String {
    let storage = local_storage();
    if let Some(id) = storage
        .as_ref()
        .and_then(|s| s.get_item("dachat:device").ok().flatten())
    {
        return id;
    }
    let id: String = format!("{:x}{:x}", (js_sys::Math::random() * 1e12) as u64, now_ms() as u64);
    if let Some(s) = storage {
        let _ = s.set_item("dachat:device", &id);
    }
    id
}

/// A fresh id for a message the user sends (the provider deduplicates on it).
pub fn new_client_id() -> String {
    format!("c{:x}{:x}", now_ms() as u64, (js_sys::Math::random() * 1e9) as u64)
}

/// A value kept in local storage under `key`, if any.
pub fn stored(key: &str) -> Option<String> {
    local_storage().and_then(|s| s.get_item(key).ok().flatten())
}

/// Keeps `value` in local storage under `key` (quietly, if storage is refused).
pub fn store(key: &str, value: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(key, value);
    }
}

/// Tells the host page: a `CustomEvent` named `name` on `window`.
pub fn window_event(name: &str, detail: &JsValue) {
    dispatch(name, detail, false);
}

/// Asks the host page: a cancelable `CustomEvent` on `window`; `true` when a
/// listener called `preventDefault()` (it will answer).
pub fn window_question(name: &str, detail: &JsValue) -> bool {
    dispatch(name, detail, true)
}

fn dispatch(name: &str, detail: &JsValue, cancelable: bool) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let init = web_sys::CustomEventInit::new();
    init.set_detail(detail);
    init.set_cancelable(cancelable);
    match web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
        Ok(event) => window.dispatch_event(&event) == Ok(false),
        Err(_) => false,
    }
}

thread_local! {
    /// The locale's time and day formats, made once per locale: the log
    /// asks for every message's day on each change, and a fresh
    /// `toLocaleDateString` per call would cost it a new `Intl` formatter.
    static FORMATS: std::cell::RefCell<Option<(String, js_sys::Function, js_sys::Function)>> =
        const { std::cell::RefCell::new(None) };
}

/// Formats `ms` with the locale's time (`day == false`) or day format.
fn format(ms: i64, day: bool) -> String {
    let lang = crate::i18n::lang();
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    FORMATS.with(|f| {
        let mut f = f.borrow_mut();
        if f.as_ref().is_none_or(|(l, _, _)| *l != lang) {
            let make = |pairs: &[(&str, &str)]| {
                let locales = js_sys::Array::of1(&JsValue::from_str(&lang));
                js_sys::Intl::DateTimeFormat::new(&locales, options(pairs).unchecked_ref()).format()
            };
            let time = make(&[("hour", "2-digit"), ("minute", "2-digit")]);
            let days = make(&[
                ("weekday", "long"),
                ("year", "numeric"),
                ("month", "long"),
                ("day", "numeric"),
            ]);
            *f = Some((lang, time, days));
        }
        let (_, time, days) = f.as_ref().expect("made above");
        (if day { days } else { time })
            .call1(&JsValue::NULL, &date)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default()
    })
}

/// The local time of day in the window's locale, e.g. "09:05" (through
/// the browser's `Intl`).
pub fn local_time(ms: i64) -> String {
    format(ms, false)
}

/// The local calendar day of a time in the window's locale, e.g.
/// "Saturday, 28 November 2026".
pub fn local_day(ms: i64) -> String {
    format(ms, true)
}

/// A time as ISO 8601 in UTC (a `<time datetime>`).
pub fn iso_time(ms: i64) -> String {
    js_sys::Date::new(&JsValue::from_f64(ms as f64)).to_iso_string().into()
}

/// An `Intl` options object.
fn options(pairs: &[(&str, &str)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in pairs {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    object.into()
}

/// Whether the page is visible (not a background tab).
pub fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .map(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
        .unwrap_or(true)
}

/// Whether the browser believes it has a network.
pub fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// Whether the user's connection asks to save data: `Save-Data` is on, or
/// the browser rates the link 2G or slower (`navigator.connection`, where
/// the browser has it). Then nothing is fetched before it is needed.
pub fn save_data() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let get = |target: &JsValue, key: &str| js_sys::Reflect::get(target, &JsValue::from_str(key)).ok();
    let Some(connection) = get(&window.navigator(), "connection").filter(|c| c.is_object()) else {
        return false;
    };
    let saving = get(&connection, "saveData").is_some_and(|v| v.is_truthy());
    let slow = get(&connection, "effectiveType")
        .and_then(|v| v.as_string())
        .is_some_and(|kind| kind.ends_with("2g"));
    saving || slow
}

/// Runs `callback` once after `wait_ms`.
pub fn after(wait_ms: f64, callback: impl FnOnce() + 'static) {
    let callback = wasm_bindgen::closure::Closure::once_into_js(callback);
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), wait_ms as i32);
    }
}

/// A promise settled after `wait_ms`, or as soon as the browser is back
/// online, or when the returned function is called ("Retry now").
pub fn until_online_or(wait_ms: f64) -> (js_sys::Promise, js_sys::Function) {
    let mut wake = None;
    let woken = js_sys::Promise::new(&mut |resolve, _| wake = Some(resolve));
    let wake = wake.unwrap_or_else(|| js_sys::Function::new_no_args(""));
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&wake, wait_ms as i32);
        let once = web_sys::AddEventListenerOptions::new();
        once.set_once(true);
        let _ = window.add_event_listener_with_callback_and_add_event_listener_options("online", &wake, &once);
    }
    (woken, wake)
}

/// The browser's own prompt; `None` when cancelled.
pub fn prompt(message: &str, default: &str) -> Option<String> {
    web_sys::window().and_then(|w| w.prompt_with_message_and_default(message, default).ok().flatten())
}

/// The browser's own confirmation; `false` when cancelled.
pub fn confirm(message: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(message).ok())
        .unwrap_or(false)
}

/// Adds a piece's styles (`css`, known as `name`) to the shadow root `near`
/// is in, once: a piece brings its own styles, so the core does not carry
/// them. Only pieces call it (it is in their shared code, not the core).
pub fn add_style(near: &web_sys::Node, name: &str, css: &str) {
    let Ok(root) = near.get_root_node().dyn_into::<web_sys::DocumentFragment>() else {
        return;
    };
    let present = root
        .query_selector(&format!("style[data-piece={name}]"))
        .ok()
        .flatten()
        .is_some();
    if let (false, Some(document)) = (present, near.owner_document())
        && let Ok(style) = document.create_element("style")
    {
        let _ = style.set_attribute("data-piece", name);
        style.set_text_content(Some(css));
        let _ = root.append_child(&style);
    }
}
