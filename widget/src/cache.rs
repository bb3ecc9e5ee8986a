//! What the window keeps on this device (issue #15), so that it opens at
//! once on a weak link and loses nothing typed offline: the last
//! [`HISTORY_KEPT`] messages of each room the user had open, and the
//! outbox (messages not yet acknowledged by the provider), in IndexedDB
//! through `js/store.js`.
//!
//! Privacy on shared devices: the store belongs to one identity at a time.
//! It is read only for the identity it was written for (`owner`); opened
//! by anyone else it is emptied first, so a different person on the same
//! browser never sees it. The host turns it off with `data-cache="off"`
//! (which also empties it), and `DAChat('logout')` deletes it (the loader
//! does that, see `loader/dachat.js`). Keys: `owner`, `outbox`,
//! `h/<room>`. Every failure leaves the window working without a cache.

use std::cell::RefCell;

use protocol::js::{FromJs, ToJs};
use protocol::local::{Attachment, Message};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::browser;

/// Messages kept per room.
pub const HISTORY_KEPT: usize = 50;

/// How long history changes gather before they are written (ms).
const WRITE_AFTER_MS: f64 = 1000.0;

// `catch` also routes these through the glue, as every other import is
// (`xtask/src/widget.rs` shortens the glue's names, and expects no other
// import module).
#[wasm_bindgen(module = "/js/store.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = read)]
    fn read_js(keys: js_sys::Array) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = write)]
    fn write_js(entries: js_sys::Array, clear: bool) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = close)]
    fn close_js() -> Result<(), JsValue>;
}

fn read(keys: js_sys::Array) -> js_sys::Promise {
    read_js(keys).unwrap_or_else(|e| js_sys::Promise::reject(&e))
}

fn write(entries: js_sys::Array, clear: bool) -> js_sys::Promise {
    write_js(entries, clear).unwrap_or_else(|e| js_sys::Promise::reject(&e))
}

fn close() {
    let _ = close_js();
}

/// A message waiting to go, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub room: String,
    pub client_id: String,
    pub body: String,
    /// An uploaded file it carries (its metadata; never the bytes).
    pub attachment: Option<Box<Attachment>>,
}

/// What the device had for an identity.
#[derive(Debug, Default)]
pub struct Saved {
    pub rooms: Vec<(String, Vec<Message>)>,
    pub outbox: Vec<Queued>,
}

fn field(value: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(value, &JsValue::from_str(key)).ok()?.as_string()
}

fn entry(key: &str, value: &JsValue) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(key), value).into()
}

fn history_key(room: &str) -> String {
    format!("h/{room}")
}

/// What was written, so that only changes are written again.
#[derive(Default)]
struct Written {
    outbox: Option<Vec<Queued>>,
    /// Each room's fingerprint as written (a few rooms: a list).
    rooms: Vec<(String, u64)>,
    /// A history write is waiting for its timer.
    scheduled: bool,
}

thread_local! {
    /// `Some(identity)` once the store is the identity's and may be written.
    static OWNER: RefCell<Option<String>> = const { RefCell::new(None) };
    static WRITTEN: RefCell<Option<Written>> = const { RefCell::new(None) };
}

fn spawn_write(entries: js_sys::Array, clear: bool) {
    let written = write(entries, clear);
    wasm_bindgen_futures::spawn_local(async move {
        if JsFuture::from(written).await.is_err() {
            web_sys::console::warn_1(&JsValue::from_str("DAChat: the chat cache could not be written"));
        }
    });
}

/// Opens the store for `identity` and reads what it has for `rooms`.
/// `None` when caching is off (the store is emptied then) or the browser
/// refuses storage. The store of anyone else is emptied, never read.
pub async fn load(identity: &str, rooms: &[String], enabled: bool) -> Option<Saved> {
    OWNER.with(|o| *o.borrow_mut() = None);
    if !enabled {
        // turned off by the host: nothing stays from before
        let _ = JsFuture::from(write(js_sys::Array::new(), true)).await;
        return None;
    }
    let keys: js_sys::Array = ["owner", "outbox"]
        .into_iter()
        .map(str::to_owned)
        .chain(rooms.iter().map(|r| history_key(r)))
        .map(|k| JsValue::from_str(&k))
        .collect();
    let values: js_sys::Array = JsFuture::from(read(keys)).await.ok()?.into();
    let mut saved = Saved::default();
    if values.get(0).as_string().as_deref() == Some(identity) {
        let outbox = values.get(1);
        if js_sys::Array::is_array(&outbox) {
            saved.outbox = js_sys::Array::from(&outbox)
                .iter()
                .filter_map(|q| {
                    Some(Queued {
                        room: field(&q, "room")?,
                        client_id: field(&q, "clientId")?,
                        body: field(&q, "body")?,
                        attachment: js_sys::Reflect::get(&q, &JsValue::from_str("attachment"))
                            .ok()
                            .and_then(|a| Attachment::from_js(&a))
                            .map(Box::new),
                    })
                })
                .collect();
        }
        for (index, room) in rooms.iter().enumerate() {
            let messages = Vec::<Message>::from_js(&values.get(index as u32 + 2)).unwrap_or_default();
            if !messages.is_empty() {
                saved.rooms.push((room.clone(), messages));
            }
        }
    } else {
        // someone else's, or nobody's: emptied before it is this identity's
        let owner = js_sys::Array::of1(&entry("owner", &JsValue::from_str(identity)));
        JsFuture::from(write(owner, true)).await.ok()?;
    }
    OWNER.with(|o| *o.borrow_mut() = Some(identity.to_owned()));
    WRITTEN.with(|w| {
        *w.borrow_mut() = Some(Written {
            outbox: Some(saved.outbox.clone()),
            ..Written::default()
        })
    });
    Some(saved)
}

fn owned() -> bool {
    OWNER.with(|o| o.borrow().is_some())
}

/// Whether the store is open as `identity`'s already (no second [`load`]).
pub fn owned_by(identity: &str) -> bool {
    OWNER.with(|o| o.borrow().as_deref() == Some(identity))
}

/// Keeps the outbox as it is now (at once: it is what must survive a
/// closed tab).
pub fn save_outbox(outbox: Vec<Queued>) {
    if !owned() {
        return;
    }
    let changed = WRITTEN.with(|w| {
        let mut w = w.borrow_mut();
        let w = w.get_or_insert_with(Written::default);
        let changed = w.outbox.as_ref() != Some(&outbox);
        w.outbox = Some(outbox.clone());
        changed
    });
    if changed {
        let items: js_sys::Array = outbox
            .iter()
            .map(|q| {
                let item = js_sys::Object::new();
                for (key, value) in [("room", &q.room), ("clientId", &q.client_id), ("body", &q.body)] {
                    let _ = js_sys::Reflect::set(&item, &JsValue::from_str(key), &JsValue::from_str(value));
                }
                if let Some(attachment) = &q.attachment {
                    let _ = js_sys::Reflect::set(&item, &JsValue::from_str("attachment"), &attachment.to_js());
                }
                JsValue::from(item)
            })
            .collect();
        spawn_write(js_sys::Array::of1(&entry("outbox", &items)), false);
    }
}

/// A cheap fingerprint of what a room would keep.
fn fingerprint(messages: &[&Message]) -> u64 {
    messages.iter().fold(messages.len() as u64, |h, m| {
        let edited = m.edited_at.unwrap_or(0) as u64;
        (h.rotate_left(7) ^ (m.id as u64) ^ edited.rotate_left(21) ^ u64::from(m.deleted)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Keeps the last [`HISTORY_KEPT`] of each room's `messages`, written a
/// moment later (changes gather), and only for rooms that changed.
/// `collect` is asked for them when the write happens.
pub fn save_history_soon(collect: impl FnOnce() -> Vec<(String, Vec<Message>)> + 'static) {
    if !owned() {
        return;
    }
    let first = WRITTEN.with(|w| {
        let mut w = w.borrow_mut();
        let w = w.get_or_insert_with(Written::default);
        !std::mem::replace(&mut w.scheduled, true)
    });
    if !first {
        return;
    }
    browser::after(WRITE_AFTER_MS, move || {
        WRITTEN.with(|w| w.borrow_mut().as_mut().map(|w| w.scheduled = false));
        if !owned() {
            return;
        }
        let entries = js_sys::Array::new();
        for (room, messages) in collect() {
            let kept: Vec<&Message> = messages.iter().rev().take(HISTORY_KEPT).rev().collect();
            let print = fingerprint(&kept);
            let changed = WRITTEN.with(|w| {
                w.borrow_mut()
                    .as_mut()
                    .is_some_and(|w| match w.rooms.iter_mut().find(|(r, _)| *r == room) {
                        Some((_, old)) => std::mem::replace(old, print) != print,
                        None => {
                            w.rooms.push((room.clone(), print));
                            true
                        }
                    })
            });
            if changed {
                let list: js_sys::Array = kept.iter().map(|m| m.to_js()).collect();
                entries.push(&entry(&history_key(&room), &list));
            }
        }
        if entries.length() > 0 {
            spawn_write(entries, false);
        }
    });
}

/// The window is closing (or the host logs out): nothing more is written,
/// and the database is let go, so that it can be deleted.
pub fn forget() {
    OWNER.with(|o| *o.borrow_mut() = None);
    WRITTEN.with(|w| *w.borrow_mut() = None);
    close();
}
