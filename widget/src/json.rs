//! JSON through the browser's own `JSON.parse`/`JSON.stringify` and
//! serde-wasm-bindgen, so the widget ships no JSON parser of its own
//! (serde_json would add several kilobytes to the download).

use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn parse<T: DeserializeOwned>(text: &str) -> Option<T> {
    let value = js_sys::JSON::parse(text).ok()?;
    serde_wasm_bindgen::from_value(value).ok()
}

pub fn stringify<T: Serialize>(value: &T) -> Option<String> {
    let value = value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()?;
    js_sys::JSON::stringify(&value).ok()?.as_string()
}
