//! The browser APIs only this piece uses (uploads, canvas, media, files),
//! called by name through `Reflect` rather than through `web-sys`
//! bindings. wasm-bindgen writes one JS shim per binding into the glue,
//! and the glue is one file, part of the core: typed bindings for this
//! piece cost the core 0.9 KB brotli (measured; ARCHITECTURE.md,
//! Decisions). `Reflect`'s own bindings are the core's already. The
//! element basics the rest of the window binds too (`createElement`,
//! `setAttribute`, `appendChild`, …) stay typed.

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// `target[key]` (`undefined` when it cannot be read).
pub fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `target[key] = value`.
pub fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// `target[key]` as a string (empty when it is not one).
pub fn text(target: &JsValue, key: &str) -> String {
    get(target, key).as_string().unwrap_or_default()
}

/// `target[key]` as a number (0 when it is not one).
pub fn number(target: &JsValue, key: &str) -> f64 {
    get(target, key).as_f64().unwrap_or(0.0)
}

/// `target.method(...args)`.
pub fn call(target: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = get(target, method).dyn_into()?;
    Reflect::apply(&function, target, &args.iter().copied().collect::<Array>())
}

/// `new globalThis[class](...args)`.
pub fn new(class: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let class: Function = get(&js_sys::global(), class).dyn_into()?;
    Reflect::construct(&class, &args.iter().copied().collect::<Array>())
}

/// What the promise `target.method(...args)` resolves to.
pub async fn wait(target: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let promise: Promise = call(target, method, args)?.dyn_into()?;
    JsFuture::from(promise).await
}

/// A blob's bytes (or a file's), from `start` up to `end` (all of it
/// without `end`).
pub async fn bytes(blob: &JsValue, end: Option<f64>) -> Option<Vec<u8>> {
    let part = match end {
        Some(end) => call(blob, "slice", &[&JsValue::from(0), &JsValue::from(end)]).ok()?,
        None => blob.clone(),
    };
    let buffer = wait(&part, "arrayBuffer", &[]).await.ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// A blob of `bytes`, of type `content_type`.
pub fn blob(bytes: &[u8], content_type: &str) -> Option<JsValue> {
    let parts = Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = js_sys::Object::new();
    set(&options, "type", &JsValue::from_str(content_type));
    new("Blob", &[&parts, &options]).ok()
}
