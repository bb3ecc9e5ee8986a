//! A WebSocket test client for the local provider: JSON frames out, JSON
//! frames in, every read bounded by a timeout so a missing frame fails the
//! test instead of hanging it.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// How long a read waits for a frame.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    /// Connects to `url` (`ws://…`); the handshake's refusal is the error.
    pub async fn connect(url: &str) -> Result<Self, tungstenite::Error> {
        let (socket, _) = connect_async(url).await?;
        Ok(Self { socket })
    }

    /// Sends one frame as JSON text.
    pub async fn send(&mut self, frame: Value) {
        self.send_raw(Message::text(frame.to_string())).await;
    }

    pub async fn send_raw(&mut self, message: Message) {
        if let Err(e) = self.socket.send(message).await {
            panic!("cannot send a frame: {e}");
        }
    }

    /// The next text frame within [`READ_TIMEOUT`]; `None` when the socket
    /// closed. Panics (failing the test) when none comes in time.
    pub async fn try_next(&mut self) -> Option<Value> {
        loop {
            let Ok(message) = tokio::time::timeout(READ_TIMEOUT, self.socket.next()).await else {
                panic!("no frame within {} s", READ_TIMEOUT.as_secs());
            };
            match message {
                Some(Ok(Message::Text(text))) => match serde_json::from_str(&text) {
                    Ok(frame) => return Some(frame),
                    Err(e) => panic!("a frame that is not JSON ({e}): {text}"),
                },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next text frame; panics when the socket closed.
    pub async fn next(&mut self) -> Value {
        match self.try_next().await {
            Some(frame) => frame,
            None => panic!("the socket closed"),
        }
    }

    /// Frames until one whose `type` is `kind`, which is returned.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }
}
