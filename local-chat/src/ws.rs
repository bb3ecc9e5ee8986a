//! The WebSocket endpoint: authorise the connection by its access token,
//! then answer each client frame. A bad frame gets an error frame and
//! affects nothing else; membership is checked against the store on every
//! frame, so a revocation takes effect at once.

use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use backend::api::error::ApiError;
use futures_util::SinkExt as _;
use protocol::local::{
    ClientFrame, MAX_FRAME_BYTES, MAX_MEMBERS_LISTED, MAX_NICK_CHARS, MAX_PAGE, Member, ServerFrame,
};
use protocol::moderation::{
    MAX_MUTE_MINUTES, MAX_REASON_CHARS, MAX_REPORTS_PER_HOUR, ModerationEvent, ModerationFrame,
};
use serde::Deserialize;
use tokio::sync::{Notify, mpsc};

use crate::LocalChat;
use crate::hub::{Frame, OUTBOX, Outbox, PRESENCE_LIMIT};
use crate::store::StoreError;

pub fn router(chat: LocalChat) -> Router {
    Router::new().route("/v1/local/ws", get(upgrade)).with_state(chat)
}

#[derive(Deserialize)]
struct Auth {
    token: Option<String>,
}

async fn upgrade(State(chat): State<LocalChat>, Query(auth): Query<Auth>, ws: WebSocketUpgrade) -> Response {
    let now = chat.inner.clock.now_secs();
    let identity = auth.token.as_deref().and_then(|t| chat.inner.tokens.verify(t, now));
    let Some(identity) = identity else {
        return ApiError::InvalidToken("the chat token is missing, invalid or expired; open a new session".into())
            .into_response();
    };
    // Larger frames than the maximum message size close the socket (code
    // 1009); frames between MAX_FRAME_BYTES and it get an error frame.
    ws.max_message_size(4 * MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| connection(chat, identity.as_str().to_owned(), socket))
}

fn encode(frame: &ServerFrame) -> Frame {
    Frame::from(serde_json::to_string(frame).unwrap_or_default())
}

fn error(code: &str, message: impl Into<String>, client_id: Option<String>) -> ServerFrame {
    ServerFrame::Error {
        code: code.into(),
        message: message.into(),
        client_id,
        room: None,
    }
}

struct Connection {
    chat: LocalChat,
    identity: String,
    id: u64,
    outbox: Outbox,
}

async fn connection(chat: LocalChat, identity: String, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::channel::<Frame>(OUTBOX);
    let kick = Arc::new(Notify::new());
    let conn = Connection {
        id: chat.inner.hub.connection_id(),
        chat,
        identity,
        outbox: Outbox { tx, kick: kick.clone() },
    };
    let welcome = match (
        conn.chat.inner.store.rooms_of(&conn.identity),
        conn.chat.inner.store.nick_of(&conn.identity),
    ) {
        (Ok(rooms), Ok(nick)) => ServerFrame::Welcome {
            identity: conn.identity.clone(),
            nick,
            rooms,
        },
        _ => error("unavailable", "the chat store is unavailable", None),
    };
    if socket.send(WsMessage::Text(encode(&welcome))).await.is_err() {
        return;
    }
    conn.chat.connected(&conn.identity, true);
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    if let Some(reply) = conn.handle(text.as_str())
                        && socket.send(WsMessage::Text(reply)).await.is_err()
                    {
                        break;
                    }
                }
                Some(Ok(WsMessage::Binary(_))) => {
                    let reply = error("bad_frame", "frames must be JSON text", None);
                    if socket.send(WsMessage::Text(encode(&reply))).await.is_err() {
                        break;
                    }
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
            },
            outgoing = rx.recv() => match outgoing {
                Some(frame) => {
                    if write_queued(&mut socket, frame, &mut rx).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            () = kick.notified() => {
                let bye = error("reconnect", "this connection fell behind or lost a room; reconnect to catch up", None);
                let _ = socket.send(WsMessage::Text(encode(&bye))).await;
                break;
            }
        }
    }
    conn.chat.connected(&conn.identity, false);
    let hub = &conn.chat.inner.hub;
    for room in hub
        .leave_all(conn.id)
        .into_iter()
        .filter(|room| hub.connections(room) < PRESENCE_LIMIT)
    {
        let frame = ServerFrame::Presence {
            room: room.clone(),
            identity: conn.identity.clone(),
            online: false,
        };
        conn.chat.inner.hub.broadcast(&room, &encode(&frame), None);
    }
}

/// Bytes read from a socket at a time. tungstenite zeroes its read buffer
/// up to this size on every read attempt, and a connection is polled for
/// reading each time it is woken to write: the default 128 KiB made zeroing
/// a fifth of the server's work at 10,000 sockets. Client frames are small;
/// a bigger one is read in several steps.
const READ_BUFFER: usize = 4 * 1024;

/// The most queued frames written before one flush.
const WRITE_BATCH: usize = 64;

/// Writes `first` and whatever else is queued (up to [`WRITE_BATCH`]), then
/// flushes once: a connection that fell behind catches up in one write, not
/// one system call per frame.
async fn write_queued(
    socket: &mut WebSocket,
    first: Frame,
    queue: &mut mpsc::Receiver<Frame>,
) -> Result<(), axum::Error> {
    socket.feed(WsMessage::Text(first)).await?;
    for _ in 1..WRITE_BATCH {
        match queue.try_recv() {
            Ok(frame) => socket.feed(WsMessage::Text(frame)).await?,
            Err(_) => break,
        }
    }
    socket.flush().await
}

impl Connection {
    /// Message timestamps, from the provider's clock.
    fn now_ms(&self) -> i64 {
        i64::try_from(self.chat.inner.clock.now_ms()).unwrap_or(i64::MAX)
    }

    // the error is the frame sent back as it is (its JSON allocates anyway)
    #[allow(clippy::result_large_err)]
    fn member_of(&self, room: &str) -> Result<(), ServerFrame> {
        match self.chat.inner.store.is_member(&self.identity, room) {
            Ok(true) => Ok(()),
            Ok(false) => Err(error("not_a_member", format!("you have no access to {room:?}"), None)),
            Err(e) => Err(store_error(&e, None)),
        }
    }

    // the error is the frame sent back as it is (its JSON allocates anyway)
    #[allow(clippy::result_large_err)]
    fn joined(&self, room: &str) -> Result<(), ServerFrame> {
        self.member_of(room)?;
        if self.chat.inner.hub.is_joined(room, self.id) {
            Ok(())
        } else {
            Err(error("not_joined", format!("join {room:?} first"), None))
        }
    }

    /// The direct reply to one frame, if any, encoded; fan-out goes
    /// through the hub.
    fn handle(&self, text: &str) -> Option<Frame> {
        match self.read(text) {
            Ok(Some(reply)) => Some(reply),
            Ok(None) => None,
            Err(reply) => Some(encode(&reply)),
        }
    }

    // the error is the frame sent back as it is (its JSON allocates anyway)
    #[allow(clippy::result_large_err)]
    fn read(&self, text: &str) -> Result<Option<Frame>, ServerFrame> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(error(
                "too_large",
                format!("frames are at most {MAX_FRAME_BYTES} bytes"),
                None,
            ));
        }
        if let Err(e) = protocol::shape::check_object(text.as_bytes()) {
            return Err(error("bad_frame", format!("could not read the frame: it {e}"), None));
        }
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => {
                // moderation's frames are apart from the window's (issue #30)
                if let Ok(frame) = serde_json::from_str::<ModerationFrame>(text) {
                    return self.moderate(frame).map(Some);
                }
                let what = if e.is_data() {
                    "a frame of an unknown type or shape"
                } else {
                    "not JSON"
                };
                return Err(error("bad_frame", format!("could not read the frame: {what}"), None));
            }
        };
        Ok(self.dispatch(frame)?.map(|reply| encode(&reply)))
    }

    // the error is the frame sent back as it is (its JSON allocates anyway)
    #[allow(clippy::result_large_err)]
    fn dispatch(&self, frame: ClientFrame) -> Result<Option<ServerFrame>, ServerFrame> {
        let store = &self.chat.inner.store;
        let hub = &self.chat.inner.hub;
        match frame {
            ClientFrame::Join { room } => {
                self.member_of(&room)?;
                let came_online = hub.join(&room, self.id, &self.identity, self.outbox.clone());
                if came_online && hub.connections(&room) <= PRESENCE_LIMIT {
                    let frame = ServerFrame::Presence {
                        room: room.clone(),
                        identity: self.identity.clone(),
                        online: true,
                    };
                    hub.broadcast(&room, &encode(&frame), Some(self.id));
                }
                // online first, then the others, each by identity; big rooms
                // list only the first few (and none of this walks the room)
                let (online, online_total) = hub.online(&room, MAX_MEMBERS_LISTED);
                let member = |online| move |(identity, nick)| Member { identity, nick, online };
                let mut members: Vec<Member> = store
                    .members_among(&room, &online)
                    .map_err(|e| store_error(&e, None))?
                    .into_iter()
                    .map(member(true))
                    .collect();
                if online_total < MAX_MEMBERS_LISTED {
                    // everyone online is listed: the first others by identity
                    // are among the first MAX_MEMBERS_LISTED members
                    let others = store
                        .members_of(&room, MAX_MEMBERS_LISTED)
                        .map_err(|e| store_error(&e, None))?
                        .into_iter()
                        .filter(|(identity, _)| online.binary_search(identity).is_err())
                        .take(MAX_MEMBERS_LISTED - members.len())
                        .map(member(false));
                    members.extend(others);
                }
                let member_count = store.member_count(&room).map_err(|e| store_error(&e, None))?;
                let read_up_to = store
                    .read_up_to(&self.identity, &room)
                    .map_err(|e| store_error(&e, None))?;
                let last_id = store.last_id(&room).map_err(|e| store_error(&e, None))?;
                let unread = store.unread(&self.identity, &room).map_err(|e| store_error(&e, None))?;
                Ok(Some(ServerFrame::Joined {
                    room,
                    members,
                    member_count,
                    read_up_to,
                    last_id,
                    unread,
                }))
            }
            ClientFrame::History { room, before, limit } => {
                self.member_of(&room)?;
                let limit = limit.unwrap_or(20).clamp(1, MAX_PAGE);
                let (messages, has_more) = store.history(&room, before, limit).map_err(|e| store_error(&e, None))?;
                Ok(Some(ServerFrame::History {
                    room,
                    messages,
                    has_more,
                }))
            }
            ClientFrame::Send {
                room,
                client_id,
                body,
                attachment,
            } => {
                let fail = |code: &str, message: String| error(code, message, Some(client_id.clone()));
                self.joined(&room).map_err(|e| with_client_id(e, &client_id))?;
                self.not_muted(&room).map_err(|e| with_client_id(e, &client_id))?;
                // a file may go without a caption
                let body = match (&attachment, body.trim().is_empty()) {
                    (Some(_), true) => "",
                    _ => check_body(&body).map_err(|m| fail("bad_message", m))?,
                };
                let (message, new) = store
                    .insert(
                        &room,
                        &self.identity,
                        body,
                        self.now_ms(),
                        Some(&client_id),
                        attachment.as_deref(),
                    )
                    .map_err(|e| match e {
                        StoreError::NotYours => fail(
                            "bad_attachment",
                            "that file was not uploaded by you to this room, or was sent already".into(),
                        ),
                        e => store_error(&e, Some(client_id.clone())),
                    })?;
                let id = message.id;
                // A resend of a stored message (its ack was lost) is acknowledged again, not re-announced.
                if new {
                    self.chat.announce(crate::MessageEvent {
                        room: room.clone(),
                        author: self.identity.clone(),
                        at: u64::try_from(message.created_at / 1000).unwrap_or(0),
                    });
                    hub.broadcast(&room, &encode(&ServerFrame::Message { message }), Some(self.id));
                }
                // The sender gets its own message back through the ack only.
                Ok(Some(ServerFrame::Ack { client_id, id }))
            }
            ClientFrame::Edit { room, id, body } => {
                self.joined(&room)?;
                self.not_muted(&room)?;
                let body = check_body(&body).map_err(|m| error("bad_message", m, None))?;
                let message = store
                    .edit(&room, id, &self.identity, body, self.now_ms())
                    .map_err(|e| store_error(&e, None))?;
                hub.broadcast(&room, &encode(&ServerFrame::Edited { message }), None);
                Ok(None)
            }
            ClientFrame::Delete { room, id } => {
                self.joined(&room)?;
                let unused = store
                    .delete(&room, id, &self.identity)
                    .map_err(|e| store_error(&e, None))?;
                if let Some(sha) = unused {
                    self.chat.unlink(&sha);
                }
                hub.broadcast(&room, &encode(&ServerFrame::Deleted { room: room.clone(), id }), None);
                Ok(None)
            }
            ClientFrame::Typing { room } => {
                self.joined(&room)?;
                let frame = ServerFrame::Typing {
                    room: room.clone(),
                    identity: self.identity.clone(),
                };
                hub.broadcast(&room, &encode(&frame), Some(self.id));
                Ok(None)
            }
            ClientFrame::Read { room, up_to } => {
                self.member_of(&room)?;
                let up_to = store
                    .mark_read(&self.identity, &room, up_to)
                    .map_err(|e| store_error(&e, None))?;
                Ok(Some(ServerFrame::Read { room, up_to }))
            }
            ClientFrame::Nick { nick } => {
                let nick = nick.trim();
                let nick = (!nick.is_empty()).then_some(nick);
                if let Some(n) = nick
                    && (n.chars().count() > MAX_NICK_CHARS || n.chars().any(char::is_control))
                {
                    return Err(error(
                        "bad_nick",
                        format!("a nickname is 1 to {MAX_NICK_CHARS} characters, no control characters"),
                        None,
                    ));
                }
                store
                    .set_nick(&self.identity, nick)
                    .map_err(|e| store_error(&e, None))?;
                let frame = encode(&ServerFrame::Nick {
                    identity: self.identity.clone(),
                    nick: nick.map(str::to_owned),
                });
                for room in store.rooms_of(&self.identity).map_err(|e| store_error(&e, None))? {
                    hub.broadcast(&room, &frame, None);
                }
                Ok(None)
            }
        }
    }
}

fn with_client_id(frame: ServerFrame, client_id: &str) -> ServerFrame {
    match frame {
        ServerFrame::Error { code, message, .. } => error(&code, message, Some(client_id.to_owned())),
        other => other,
    }
}

impl LocalChat {
    /// Stores `body` in `room` as `identity` and shows it to the room, as a
    /// `Send` frame would; `client_id` makes a repeat harmless (returns
    /// `false`, nothing shown twice). For replies that arrive by e-mail.
    pub fn post(&self, room: &str, identity: &str, body: &str, client_id: &str) -> Result<bool, StoreError> {
        let body = check_body(body).map_err(StoreError::Database)?;
        let now_ms = i64::try_from(self.inner.clock.now_ms()).unwrap_or(i64::MAX);
        let (message, new) = self
            .inner
            .store
            .insert(room, identity, body, now_ms, Some(client_id), None)?;
        if new {
            self.announce(crate::MessageEvent {
                room: room.to_owned(),
                author: identity.to_owned(),
                at: u64::try_from(message.created_at / 1000).unwrap_or(0),
            });
            self.inner
                .hub
                .broadcast(room, &encode(&ServerFrame::Message { message }), None);
        }
        Ok(new)
    }
}

fn check_body(body: &str) -> Result<&str, String> {
    let trimmed = body.trim_end();
    if trimmed.trim().is_empty() {
        Err("a message cannot be empty".into())
    } else if protocol::message_units(trimmed) > protocol::MAX_MESSAGE_UNITS {
        Err(format!(
            "a message is at most {} characters",
            protocol::MAX_MESSAGE_UNITS
        ))
    } else {
        Ok(trimmed)
    }
}

fn store_error(e: &StoreError, client_id: Option<String>) -> ServerFrame {
    match e {
        StoreError::NotFound => error("not_found", e.to_string(), client_id),
        StoreError::NotYours => error("not_yours", e.to_string(), client_id),
        StoreError::Database(detail) | StoreError::Setup(detail) => {
            tracing::warn!(error = %detail, "local chat store failed");
            error("unavailable", "the chat store failed; try again", client_id)
        }
    }
}

/// Moderation (issue #30): what a moderator and a reporter may do here.
impl Connection {
    // the error is the frame sent back as it is (its JSON allocates anyway)
    #[allow(clippy::result_large_err)]
    fn not_muted(&self, room: &str) -> Result<(), ServerFrame> {
        match self.chat.inner.store.muted_until(&self.identity, room, self.now_ms()) {
            Ok(None) => Ok(()),
            Ok(Some(until)) => Err(error(
                "muted",
                format!(
                    "a moderator muted you in {room:?} until {}: you can read, not send",
                    backend::clock::rfc3339(u64::try_from(until / 1000).unwrap_or(0))
                ),
                None,
            )),
            Err(e) => Err(store_error(&e, None)),
        }
    }

    // the error is the frame sent back as it is (its JSON allocates anyway)
    #[allow(clippy::result_large_err)]
    fn moderator_of(&self, room: &str) -> Result<(), ServerFrame> {
        self.joined(room)?;
        match self.chat.inner.store.is_moderator(&self.identity, room) {
            Ok(true) => Ok(()),
            Ok(false) => Err(error(
                "not_moderator",
                format!("the host does not name you a moderator of {room:?}"),
                None,
            )),
            Err(e) => Err(store_error(&e, None)),
        }
    }

    // the error is the frame sent back as it is (its JSON allocates anyway)
    #[allow(clippy::result_large_err)]
    fn moderate(&self, frame: ModerationFrame) -> Result<Frame, ServerFrame> {
        let store = &self.chat.inner.store;
        let hub = &self.chat.inner.hub;
        let done = |action: &str, room: String| {
            encode_moderation(&ModerationEvent::Done {
                action: action.into(),
                room,
            })
        };
        let reply = match frame {
            ModerationFrame::Remove { room, id } => {
                self.moderator_of(&room)?;
                let (_, unused) = store
                    .remove_as_moderator(&self.identity, &room, id, self.now_ms())
                    .map_err(|e| store_error(&e, None))?;
                if let Some(sha) = unused {
                    self.chat.unlink(&sha);
                }
                hub.broadcast(&room, &encode(&ServerFrame::Deleted { room: room.clone(), id }), None);
                done("remove", room)
            }
            ModerationFrame::Mute {
                room,
                identity,
                minutes,
            } => {
                self.moderator_of(&room)?;
                if minutes == 0 || minutes > MAX_MUTE_MINUTES {
                    return Err(error(
                        "bad_frame",
                        format!("a mute lasts 1 to {MAX_MUTE_MINUTES} minutes"),
                        None,
                    ));
                }
                let until = self.now_ms().saturating_add(i64::from(minutes) * 60_000);
                store
                    .set_mute(&self.identity, &room, &identity, Some(until), self.now_ms())
                    .map_err(|e| store_error(&e, None))?;
                done("mute", room)
            }
            ModerationFrame::Unmute { room, identity } => {
                self.moderator_of(&room)?;
                store
                    .set_mute(&self.identity, &room, &identity, None, self.now_ms())
                    .map_err(|e| store_error(&e, None))?;
                done("unmute", room)
            }
            ModerationFrame::Report { room, id, reason } => {
                self.joined(&room)?;
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
                    return Err(error(
                        "bad_frame",
                        format!("a report gives a reason of 1 to {MAX_REASON_CHARS} characters"),
                        None,
                    ));
                }
                let now = self.now_ms();
                let made = store
                    .reports_by(&self.identity, now - 3_600_000)
                    .map_err(|e| store_error(&e, None))?;
                if made >= MAX_REPORTS_PER_HOUR {
                    return Err(error(
                        "rate_limited",
                        format!("at most {MAX_REPORTS_PER_HOUR} reports an hour; the room's moderators have yours"),
                        None,
                    ));
                }
                let report = store
                    .report(&self.identity, &room, id, reason, now)
                    .map_err(|e| store_error(&e, None))?;
                self.chat.reported(report.clone());
                let event = encode_moderation(&ModerationEvent::Reported { report });
                // (a report kept is answered done even if no moderator can be told now)
                let moderators = store.moderators_of(&room).unwrap_or_default();
                hub.send_where(&room, &event, |identity| moderators.iter().any(|m| m == identity));
                done("report", room)
            }
            ModerationFrame::Reports { room } => {
                self.moderator_of(&room)?;
                let reports = store.reports(&room, MAX_PAGE).map_err(|e| store_error(&e, None))?;
                encode_moderation(&ModerationEvent::ReportList { room, reports })
            }
        };
        Ok(reply)
    }
}

fn encode_moderation(event: &ModerationEvent) -> Frame {
    Frame::from(serde_json::to_string(event).unwrap_or_default())
}
