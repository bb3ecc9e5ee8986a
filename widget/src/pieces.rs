//! The window's pieces: features whose code is not in the core WASM but in
//! a module of its own, fetched the first time it is needed (and in the
//! background once the window is usable), so that a first open downloads
//! only what reading and typing need.
//!
//! Each piece is a `#[wasm_split]` function (the mechanism under Leptos
//! 0.8's `#[lazy]`, used with `fallible`, so that a failed fetch is an
//! error rather than a panic): `cargo xtask widget` links with
//! `--emit-relocs`, cuts everything only that function reaches into
//! `split_<piece>.wasm`, and the core calls it through a loader that
//! fetches the module first. The functions live beside their callers, in
//! `view/pieces.rs` ([`Piece::Markdown`]: the markdown parser and the
//! DOM builder of message bodies; [`Piece::Notify`]: the e-mail
//! notification panel; [`Piece::Attach`]: sending and showing files;
//! [`Piece::Actions`]: the menu of a message's actions, moderation's
//! among them) and
//! `chat/pieces.rs` ([`Piece::Commands`]: what a
//! line starting with `/` means; [`Piece::Twilio`]: the Rust half of the
//! Twilio bridge, for Twilio sessions only). This module is what they
//! share, and knows none of them: each registers its loader at mount
//! (`lib.rs`, [`register`]).
//!
//! A piece that fails to load (offline, a 5xx) is tried again with
//! jittered backoff, at once when the browser comes back online, and is
//! never remembered as failed; meanwhile, if something on screen waits for
//! it ([`needed`]), [`missing`] names it and the window says what is
//! missing.

/// Calls a piece's function: through its loader (`.await`) in the
/// widget's build, where the `split` feature makes each one a
/// `#[wasm_split]` function; directly in builds that link the widget
/// whole (the browser test suites), where nothing is split off.
macro_rules! entry {
    ($call:expr) => {{
        #[cfg(feature = "split")]
        let answer = $call.await;
        #[cfg(not(feature = "split"))]
        let answer = $call;
        answer
    }};
}
pub(crate) use entry;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;

use leptos::prelude::*;

/// A part of the window that is fetched when first needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    Markdown,
    Notify,
    Commands,
    Twilio,
    Attach,
    Actions,
}

impl Piece {
    /// The pieces every session may use, in the order the background
    /// fetches them (Twilio's only for Twilio sessions, when they connect):
    /// what every message needs first, then the small ones, the
    /// attachments last (the largest, and waited for only by a file).
    const BACKGROUND: [Piece; 5] = [
        Piece::Markdown,
        Piece::Commands,
        Piece::Actions,
        Piece::Notify,
        Piece::Attach,
    ];

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// One attempt to fetch a piece and take what it gives: `true` when it
/// is here.
pub type Loader = fn() -> Pin<Box<dyn Future<Output = bool>>>;

thread_local! {
    /// Each piece's loader, by `Piece as usize`.
    static LOADERS: RefCell<[Option<Loader>; 6]> = const { RefCell::new([None; 6]) };
    /// Loaded pieces, by [`Piece::bit`].
    static LOADED: Cell<u8> = const { Cell::new(0) };
    /// Pieces being fetched (or waiting to be tried again).
    static LOADING: Cell<u8> = const { Cell::new(0) };
    /// Pieces something on screen waits for.
    static NEEDED: Cell<u8> = const { Cell::new(0) };
    /// Pieces whose last fetch failed.
    static FAILED: Cell<u8> = const { Cell::new(0) };
    /// Pieces that are needed and cannot be fetched: the window says so.
    static MISSING: RefCell<Option<ArcRwSignal<u8>>> = const { RefCell::new(None) };
    /// Whether the window is mounted: loads waiting to be tried again stop
    /// when it is closed.
    static MOUNTED: Cell<bool> = const { Cell::new(false) };
}

/// How `piece` is fetched (called once per piece when the window mounts).
pub fn register(piece: Piece, loader: Loader) {
    LOADERS.with(|l| l.borrow_mut()[piece as usize] = Some(loader));
    MOUNTED.set(true);
}

/// The window was closed: loads waiting to be tried again stop.
pub fn unmounted() {
    MOUNTED.set(false);
}

/// The pieces that are needed and could not be fetched yet (flags, read
/// with [`is_missing`]): a signal the window's status line follows.
pub fn missing() -> ArcRwSignal<u8> {
    MISSING.with(|m| m.borrow_mut().get_or_insert_with(|| ArcRwSignal::new(0)).clone())
}

/// Whether `piece` is among `flags` (from [`missing`]).
pub fn is_missing(flags: u8, piece: Piece) -> bool {
    flags & piece.bit() != 0
}

/// Something on screen waits for `piece`: it is fetched, and if it
/// cannot be (now or after a failure already), the window says so until it
/// arrives. A piece fetched in the background that nobody waits for yet
/// fails quietly.
pub fn needed(piece: Piece) {
    if loaded(piece) {
        return;
    }
    NEEDED.set(NEEDED.get() | piece.bit());
    if FAILED.get() & piece.bit() != 0 {
        missing().update(|m| *m |= piece.bit());
    }
    fetch(piece);
}

/// The user acted and waits for `piece` (a command typed before its piece
/// arrived): the window says so at once, until it arrives.
pub fn waiting(piece: Piece) {
    if !loaded(piece) {
        missing().update(|m| *m |= piece.bit());
        needed(piece);
    }
}

/// Whether `piece` has arrived.
pub fn loaded(piece: Piece) -> bool {
    LOADED.get() & piece.bit() != 0
}

/// Starts fetching `piece` unless it is here or on its way.
pub fn fetch(piece: Piece) {
    if (LOADED.get() | LOADING.get()) & piece.bit() != 0 {
        return;
    }
    leptos::task::spawn_local(async move {
        let _ = ensure(piece).await;
    });
}

/// Waits until `piece` is here, fetching it (again, with backoff) as long
/// as it takes; `false` only if the window was closed meanwhile.
pub async fn ensure(piece: Piece) -> bool {
    let Some(load) = LOADERS.with(|l| l.borrow()[piece as usize]) else {
        return false;
    };
    let mut attempt = 0u32;
    LOADING.set(LOADING.get() | piece.bit());
    let here = loop {
        if loaded(piece) {
            break true;
        }
        if load().await {
            LOADED.set(LOADED.get() | piece.bit());
            break true;
        }
        attempt += 1;
        FAILED.set(FAILED.get() | piece.bit());
        if NEEDED.get() & piece.bit() != 0 {
            missing().update(|m| *m |= piece.bit());
        }
        let wait = crate::client::backoff_ms(attempt, js_sys::Math::random());
        let (woken, _) = crate::browser::until_online_or(f64::from(wait));
        let _ = wasm_bindgen_futures::JsFuture::from(woken).await;
        if !MOUNTED.get() {
            break false;
        }
    };
    LOADING.set(LOADING.get() & !piece.bit());
    if here {
        FAILED.set(FAILED.get() & !piece.bit());
        missing().update(|m| *m &= !piece.bit());
    }
    here
}

/// Fetches the pieces every session may use, one after another, in the
/// background; not on a connection that asks to save data
/// ([`crate::browser::save_data`]): there each comes when first used.
pub fn prefetch() {
    if crate::browser::save_data() {
        return;
    }
    leptos::task::spawn_local(async {
        for piece in Piece::BACKGROUND {
            if !ensure(piece).await {
                return;
            }
        }
    });
}
