//! The controller's pieces ([`crate::pieces`]): what a slash command
//! means, and the Rust half of the Twilio bridge, each a `#[wasm_split]`
//! function whose code the core never holds. A local session never
//! fetches the Twilio piece.
//!
//! This module and `view/pieces.rs` are the only ones that allow
//! `unsafe_code`: the macro's expansion declares the loader functions the
//! split adds (an `extern` block) and their loaders' statics.

#![allow(unsafe_code)]

use std::cell::Cell;
use std::rc::Rc;

use leptos::wasm_split::SplitLoaderError;
#[cfg(feature = "split")]
use leptos::wasm_split::wasm_split;

use super::UseChatReturn;
use crate::client::{ChatClient, Listener};
use crate::commands::Input;
use crate::pieces::{self, Piece};

/// What a line typed into the composer means ([`crate::commands::parse`]).
type Parse = fn(&str) -> Input;

/// A Twilio client on its way (the SDK is fetched, then connected).
pub type Connecting = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Rc<dyn ChatClient>, ()>>>>;

#[cfg_attr(feature = "split", wasm_split(commands, wasm_split_path = ::leptos::wasm_split, fallible))]
fn commands_parser() -> Result<Parse, SplitLoaderError> {
    crate::i18n::speak(crate::i18n::EN_COMMANDS);
    Ok(crate::commands::parse)
}

/// Connects to Twilio through the SDK (the piece holds `TwilioClient`).
#[cfg_attr(
    feature = "split",
    wasm_split(twilio, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_twilio))
)]
fn twilio_connect(token: String, listener: Listener) -> Result<Connecting, SplitLoaderError> {
    Ok(Box::pin(async move {
        let client = crate::client::twilio::TwilioClient::connect(&token, listener)
            .await
            .map_err(|_| ())?;
        Ok(Rc::new(client) as Rc<dyn ChatClient>)
    }))
}

/// Reads a frame the core does not know ([`crate::client::Event::Other`]:
/// moderation's, read by the message actions piece).
pub type OtherFrame = fn(UseChatReturn, &str);

thread_local! {
    static COMMANDS: Cell<Option<Parse>> = const { Cell::new(None) };
    static OTHER: Cell<Option<OtherFrame>> = const { Cell::new(None) };
}

/// A frame the core does not know: to its reader, once that piece is
/// here. Before, it is dropped (only news of a report, to a moderator
/// whose window has not fetched the piece yet, which it does in the
/// background: the room's reports list still has it) and the piece is
/// fetched.
pub fn other_frame(chat: UseChatReturn, text: String) {
    match OTHER.get() {
        Some(read) => read(chat, &text),
        None => pieces::needed(Piece::Actions),
    }
}

/// The reader of frames the core does not know has arrived.
pub fn read_other_frames(read: OtherFrame) {
    OTHER.set(Some(read));
}

/// Registers the controller's pieces.
pub fn register() {
    pieces::register(Piece::Commands, || {
        Box::pin(async {
            let Ok(parse) = crate::pieces::entry!(commands_parser()) else {
                return false;
            };
            COMMANDS.set(Some(parse));
            true
        })
    });
    #[cfg(feature = "split")]
    pieces::register(Piece::Twilio, || Box::pin(async { preload_twilio().await.is_ok() }));
    #[cfg(not(feature = "split"))]
    pieces::register(Piece::Twilio, || Box::pin(async { true }));
}

/// A Twilio client for `token`, once the Twilio piece is here (fetched,
/// and tried again while it cannot be) and the SDK connected; `None` if
/// the window was closed meanwhile.
pub async fn connect_twilio(token: String, listener: Listener) -> Option<Result<Rc<dyn ChatClient>, ()>> {
    pieces::needed(Piece::Twilio);
    if !pieces::ensure(Piece::Twilio).await {
        return None;
    }
    Some(match crate::pieces::entry!(twilio_connect(token, listener)) {
        Ok(connecting) => connecting.await,
        Err(_) => Err(()),
    })
}

/// What `line` means, once the commands piece is here (`None`: not yet;
/// it is on its way, and the window says so until it arrives).
pub fn parse_command(line: &str) -> Option<Input> {
    match COMMANDS.get() {
        Some(parse) => Some(parse(line)),
        None => {
            pieces::waiting(Piece::Commands);
            None
        }
    }
}
