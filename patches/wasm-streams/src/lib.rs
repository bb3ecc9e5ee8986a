//! What `server_fn` needs of `wasm-streams` 0.5: a [`ReadableStream`] made
//! from a Rust [`Stream`], and a JS `ReadableStream` read as one.
//!
//! Why this exists: `leptos` always enables `server_fn`'s `browser` feature,
//! which depends on `wasm-streams`. That crate declares its underlying
//! sources and sink as `#[wasm_bindgen]` classes, and exported classes are
//! roots the linker cannot drop: every Leptos app carries them, with the
//! futures, I/O errors and JS glue they reach, whether it streams or not.
//! For the widget that was 5.9 KB of its brotli download (BENCHMARKS.md).
//! This crate keeps the same API for what `server_fn` calls and builds the
//! JS side from closures instead, so nothing is linked unless used.
//!
//! The widget has no server functions; the browser test in `tests/` holds
//! this crate to the behaviour `server_fn` relies on. Drop the
//! `[patch.crates-io]` entry when `leptos` makes `server_fn` optional or
//! `wasm-streams` stops exporting classes.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;

use futures_util::stream::{LocalBoxStream, Stream, StreamExt as _};
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use web_sys::{QueuingStrategy, ReadableStreamDefaultController, ReadableStreamDefaultReader};

/// The raw bindings, under the names `wasm-streams` uses.
pub mod sys {
    pub use web_sys::ReadableStream;
}

/// A JS `ReadableStream`, convertible to and from a Rust [`Stream`].
#[derive(Debug)]
pub struct ReadableStream {
    raw: sys::ReadableStream,
}

type Source = Option<Pin<Box<dyn Stream<Item = Result<JsValue, JsValue>>>>>;

impl ReadableStream {
    /// Wraps a JS `ReadableStream`.
    pub fn from_raw(raw: sys::ReadableStream) -> Self {
        Self { raw }
    }

    /// A JS `ReadableStream` that pulls its chunks from `stream`: each
    /// `Ok` item is enqueued, an `Err` errors the JS stream, the end closes
    /// it. The high-water mark is 0, so nothing is pulled before JS reads.
    pub fn from_stream<St>(stream: St) -> Self
    where
        St: Stream<Item = Result<JsValue, JsValue>> + 'static,
    {
        let source: Rc<RefCell<Source>> = Rc::new(RefCell::new(Some(Box::pin(stream))));
        let pulled = source.clone();
        let pull = Closure::<dyn FnMut(ReadableStreamDefaultController) -> Promise>::new(
            move |controller: ReadableStreamDefaultController| {
                let source = pulled.clone();
                future_to_promise(async move {
                    // Taken out while awaited: JS calls pull again only after
                    // this promise settles, and cancel may run in between.
                    let Some(mut stream) = source.borrow_mut().take() else {
                        return Ok(JsValue::UNDEFINED);
                    };
                    match stream.next().await {
                        Some(Ok(chunk)) => {
                            controller.enqueue_with_chunk(&chunk)?;
                            *source.borrow_mut() = Some(stream);
                        }
                        Some(Err(error)) => return Err(error),
                        None => controller.close()?,
                    }
                    Ok(JsValue::UNDEFINED)
                })
            },
        );
        let cancel = Closure::<dyn FnMut(JsValue)>::new(move |_reason| {
            source.borrow_mut().take();
        });
        let underlying = Object::new();
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&underlying, &"pull".into(), &pull.into_js_value());
        let _ = Reflect::set(&underlying, &"cancel".into(), &cancel.into_js_value());
        let strategy = QueuingStrategy::new();
        strategy.set_high_water_mark(0.0);
        let raw = sys::ReadableStream::new_with_underlying_source_and_strategy(&underlying, &strategy)
            .expect_throw("ReadableStream with a pull source");
        Self { raw }
    }

    /// The JS `ReadableStream`.
    pub fn into_raw(self) -> sys::ReadableStream {
        self.raw
    }

    /// Reads the JS stream as a Rust stream of its chunks; a read error
    /// is yielded once and ends the stream. Dropping the Rust stream before
    /// the end cancels the JS stream.
    ///
    /// # Panics
    /// If the stream is already locked to a reader (as `wasm-streams` does).
    pub fn into_stream(self) -> LocalBoxStream<'static, Result<JsValue, JsValue>> {
        let reader: ReadableStreamDefaultReader = self.raw.get_reader().unchecked_into();
        futures_util::stream::unfold(Some(Reader(reader)), |reader| async move {
            let reader = reader?;
            match JsFuture::from(reader.0.read()).await {
                Err(error) => Some((Err(error), None)),
                Ok(result) => {
                    let done = Reflect::get(&result, &"done".into()).ok()?.is_truthy();
                    if done {
                        return None;
                    }
                    let value = Reflect::get(&result, &"value".into()).unwrap_or(JsValue::UNDEFINED);
                    Some((Ok(value), Some(reader)))
                }
            }
        })
        .boxed_local()
    }
}

/// The stream's reader; when dropped it cancels the stream (which does
/// nothing once the stream has ended) and releases its lock.
struct Reader(ReadableStreamDefaultReader);

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = self.0.cancel();
        self.0.release_lock();
    }
}
