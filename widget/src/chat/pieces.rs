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

thread_local! {
    static COMMANDS: Cell<Option<Parse>> = const { Cell::new(None) };
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
