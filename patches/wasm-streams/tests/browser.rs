//! The replacement `wasm-streams` in Chromium, used the two ways
//! `server_fn` uses it: a Rust stream as a request body, a fetch
//! response body read as a Rust stream.
#![cfg(target_arch = "wasm32")]

use futures_util::stream::{self, StreamExt as _};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use wasm_streams::ReadableStream;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn chunk(text: &str) -> JsValue {
    Uint8Array::from(text.as_bytes()).into()
}

fn text_of(chunks: &[Result<JsValue, JsValue>]) -> String {
    let mut bytes = Vec::new();
    for item in chunks {
        let array: Uint8Array = item.clone().expect("a chunk, not an error").into();
        bytes.extend(array.to_vec());
    }
    String::from_utf8(bytes).expect("UTF-8")
}

#[wasm_bindgen_test]
async fn a_rust_stream_reads_back_whole_through_js() {
    let source = stream::iter(["one ", "two ", "three"].map(|t| Ok(chunk(t))));
    let raw = ReadableStream::from_stream(source).into_raw();
    let read: Vec<_> = ReadableStream::from_raw(raw).into_stream().collect().await;
    assert_eq!(read.len(), 3);
    assert_eq!(text_of(&read), "one two three");
}

#[wasm_bindgen_test]
async fn a_rust_stream_is_a_fetch_body() {
    // what server_fn does with a streaming request body, read back by the browser
    let source = stream::iter(["hello, ", "stream"].map(|t| Ok(chunk(t))));
    let body = ReadableStream::from_stream(source).into_raw();
    let response = web_sys::Response::new_with_opt_readable_stream(Some(&body)).expect("a Response");
    let text = JsFuture::from(response.text().expect("text()"))
        .await
        .expect("the body");
    assert_eq!(text.as_string().as_deref(), Some("hello, stream"));
}

#[wasm_bindgen_test]
async fn a_fetch_body_reads_as_a_rust_stream() {
    // what server_fn does with a streaming response
    let response = web_sys::Response::new_with_opt_str(Some("a response body")).expect("a Response");
    let body = response.body().expect("a body");
    let read: Vec<_> = ReadableStream::from_raw(body).into_stream().collect().await;
    assert!(!read.is_empty());
    assert_eq!(text_of(&read), "a response body");
}

#[wasm_bindgen_test]
async fn an_error_in_the_rust_stream_errors_the_js_stream() {
    let source = stream::iter([Ok(chunk("before")), Err(JsValue::from_str("broken"))]);
    let raw = ReadableStream::from_stream(source).into_raw();
    let read: Vec<_> = ReadableStream::from_raw(raw).into_stream().collect().await;
    assert_eq!(read.len(), 2, "the chunk, then the error, then the end");
    assert_eq!(text_of(&read[..1]), "before");
    assert_eq!(
        read[1].clone().expect_err("the error").as_string().as_deref(),
        Some("broken")
    );
}

#[wasm_bindgen_test]
async fn dropping_the_rust_reader_early_cancels_the_source() {
    let pulled = std::rc::Rc::new(std::cell::Cell::new(0));
    let counted = pulled.clone();
    let source = stream::iter(0..100).map(move |n| {
        counted.set(counted.get() + 1);
        Ok(chunk(&n.to_string()))
    });
    let raw = ReadableStream::from_stream(source).into_raw();
    let first: Vec<_> = ReadableStream::from_raw(raw.clone())
        .into_stream()
        .take(2)
        .collect()
        .await;
    assert_eq!(text_of(&first), "01");
    // cancelled: the JS stream is closed, and the Rust source was not drained
    let after = JsFuture::from(
        raw.get_reader()
            .unchecked_into::<web_sys::ReadableStreamDefaultReader>()
            .read(),
    )
    .await
    .expect("a read on a cancelled stream resolves");
    let done = js_sys::Reflect::get(&after, &"done".into()).expect("done");
    assert_eq!(done.as_bool(), Some(true));
    assert!(pulled.get() < 100, "pulled {} of 100", pulled.get());
}
