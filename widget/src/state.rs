//! The chat's UI state as plain Rust: rooms (tabs), their messages, unread
//! counts, typing, members and nicknames, and the connection. Server frames
//! are applied with [`ChatState::apply`]; views only read. No DOM, no JS:
//! tested natively.
//!
//! Over 600 lines: ~560 of code and the rest its native unit tests; the state and its rules are one piece, split only by what they change.

use std::collections::BTreeMap;

use protocol::AttachmentPolicy;
use protocol::local::{Attachment, Member, Message, ServerFrame};

use crate::i18n;

/// A small map by identity or room name, kept in a `Vec`: the widget's maps
/// hold tens of entries, and a hash map per value type cost the download
/// more than these few lines.
#[derive(Debug, Clone, PartialEq)]
pub struct ByName<V>(Vec<(String, V)>);

impl<V> Default for ByName<V> {
    fn default() -> Self {
        ByName(Vec::new())
    }
}

impl<V> ByName<V> {
    pub fn get(&self, name: &str) -> Option<&V> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn insert(&mut self, name: String, value: V) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name, value)),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<V> {
        let at = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.swap_remove(at).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

/// How long a typing notice shows, in milliseconds.
pub const TYPING_MS: f64 = 4000.0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Online,
    /// Lost; trying again (attempt number).
    Reconnecting(u32),
    /// Gave up or refused; the message says why.
    Failed(String),
}

impl Connection {
    /// The name the host's `dachat:connection` event carries.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Online => "online",
            Self::Reconnecting(_) => "reconnecting",
            Self::Failed(_) => "failed",
        }
    }
}

/// A message the user sent that the server has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub client_id: String,
    pub body: String,
    /// Written to an open connection (else it waits for the next one).
    pub sent: bool,
    /// It may have reached the provider before: written to an earlier
    /// connection, or restored from the device's outbox after a reload.
    /// Twilio does not deduplicate, so the window looks for it first.
    pub maybe_sent: bool,
    pub failed: Option<String>,
    /// The file it carries (uploaded already: the attachment piece sends
    /// a message only once its file is at the provider).
    pub attachment: Option<Box<Attachment>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Room {
    pub name: String,
    /// By id: ordered, and a message seen twice is kept once.
    pub messages: BTreeMap<i64, Message>,
    pub pending: Vec<Pending>,
    pub has_more: bool,
    /// An older page has been asked for and has not arrived yet.
    pub loading_older: bool,
    pub joined: bool,
    /// Joined on the current connection: only then do messages go out (a
    /// message typed before waits, unsent, and goes when the join answers).
    pub subscribed: bool,
    pub unread: u32,
    /// The newest message the provider's count at the last join covered:
    /// a live message up to it is already counted (it can arrive after the
    /// join's answer when it was sent while the join was in progress).
    pub counted_up_to: Option<i64>,
    pub read_up_to: Option<i64>,
    /// Where the "new messages" divider goes: after this id, as the read
    /// horizon stood when the room was joined (it does not move while open).
    pub divider_after: Option<i64>,
    /// Who is typing, until when (ms).
    pub typing: ByName<f64>,
    pub members: Vec<Member>,
    /// "… joined" / "… left" notices, each placed after the message that was
    /// the newest when it happened (`None`: before every message).
    pub notices: Vec<(Option<i64>, String)>,
    /// Its messages are the device's saved copy, not yet brought up to
    /// date by the provider.
    pub cached: bool,
}

impl Room {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    pub fn last_id(&self) -> Option<i64> {
        self.messages.keys().next_back().copied()
    }

    pub fn oldest_id(&self) -> Option<i64> {
        self.messages.keys().next().copied()
    }

    /// Identities typing now, sorted.
    pub fn typing_now(&self, now_ms: f64) -> Vec<String> {
        let mut who: Vec<String> = self
            .typing
            .iter()
            .filter(|(_, until)| **until > now_ms)
            .map(|(w, _)| w.clone())
            .collect();
        who.sort();
        who
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatState {
    pub identity: String,
    /// Every context the host token allows.
    pub allowed: Vec<String>,
    /// Open tabs, in order; the page's context first.
    pub rooms: Vec<Room>,
    pub active: usize,
    pub nicks: ByName<String>,
    pub connection: Connection,
    /// Whether the connection has been online since the session started.
    pub was_online: bool,
    /// A notice for the user (e.g. a refused command), shown until dismissed.
    pub notice: Option<String>,
    /// What files may be attached (the session's answer; `None`: none).
    pub attachments: Option<AttachmentPolicy>,
}

impl ChatState {
    /// A connection change; `true` the first time it is online (the chat
    /// is ready).
    pub fn set_connection(&mut self, connection: Connection) -> bool {
        let first_online = connection == Connection::Online && !self.was_online;
        self.was_online |= first_online;
        // a new connection must join every room again
        for r in &mut self.rooms {
            r.subscribed = false;
        }
        self.connection = connection;
        first_online
    }

    pub fn new(identity: &str, allowed: Vec<String>, first_room: &str) -> Self {
        Self {
            identity: identity.to_owned(),
            allowed,
            rooms: vec![Room::new(first_room)],
            active: 0,
            nicks: ByName::default(),
            connection: Connection::Connecting,
            was_online: false,
            notice: None,
            attachments: None,
        }
    }

    pub fn room(&self, name: &str) -> Option<&Room> {
        self.rooms.iter().find(|r| r.name == name)
    }

    fn room_mut(&mut self, name: &str) -> Option<&mut Room> {
        self.rooms.iter_mut().find(|r| r.name == name)
    }

    pub fn active_room(&self) -> Option<&Room> {
        self.rooms.get(self.active)
    }

    /// Opens a tab (or switches to it). Only contexts the token allows.
    pub fn open_tab(&mut self, name: &str) -> Result<(), String> {
        if !self.allowed.iter().any(|c| c == name) {
            return Err(i18n::tf(i18n::Msg::ComposerNoAccess, &[("room", name)]));
        }
        match self.rooms.iter().position(|r| r.name == name) {
            Some(i) => self.active = i,
            None => {
                self.rooms.push(Room::new(name));
                self.active = self.rooms.len() - 1;
            }
        }
        if let Some(room) = self.rooms.get_mut(self.active) {
            room.unread = 0;
        }
        Ok(())
    }

    /// Adds tabs remembered from an earlier page view, without switching to
    /// them; only contexts the token still allows. Returns the ones added.
    pub fn restore_tabs(&mut self, names: &[String]) -> Vec<String> {
        let mut added = Vec::new();
        for name in names {
            if self.allowed.contains(name) && self.room(name).is_none() {
                self.rooms.push(Room::new(name));
                added.push(name.clone());
            }
        }
        added
    }

    /// The open tabs' names, to remember.
    pub fn tab_names(&self) -> Vec<String> {
        self.rooms.iter().map(|r| r.name.clone()).collect()
    }

    /// Closes a tab; the page's own context (the first) stays.
    pub fn close_tab(&mut self, name: &str) {
        if let Some(i) = self.rooms.iter().position(|r| r.name == name).filter(|i| *i > 0) {
            self.rooms.remove(i);
            if self.active >= i {
                self.active -= 1;
            }
        }
    }

    pub fn select(&mut self, index: usize) {
        if index < self.rooms.len() {
            self.active = index;
            self.rooms[index].unread = 0;
        }
    }

    pub fn unread_total(&self) -> u32 {
        self.rooms.iter().map(|r| r.unread).sum()
    }

    /// The name to show for an identity: its nickname, else the identity.
    pub fn display_name<'a>(&'a self, identity: &'a str) -> &'a str {
        self.nicks.get(identity).map(String::as_str).unwrap_or(identity)
    }

    pub fn add_pending(
        &mut self,
        room: &str,
        client_id: &str,
        body: &str,
        sent: bool,
        attachment: Option<Box<Attachment>>,
    ) {
        if let Some(room) = self.room_mut(room) {
            room.pending.push(Pending {
                client_id: client_id.to_owned(),
                body: body.to_owned(),
                sent,
                maybe_sent: false,
                failed: None,
                attachment,
            });
        }
    }

    /// Brings back what the device kept: each room's recent messages (its
    /// tab opened, marked as saved until the provider answers) and the
    /// outbox, whose messages wait for their room's join like any unsent
    /// one (they may have reached the provider before the reload).
    pub fn restore_saved(&mut self, saved: crate::cache::Saved) {
        for (room, messages) in saved.rooms {
            if self.open_tab(&room).is_ok()
                && let Some(r) = self.room_mut(&room)
                && r.messages.is_empty()
            {
                // inserted one by one: collecting into a map costs the download a sort
                for m in messages {
                    r.messages.insert(m.id, m);
                }
                r.cached = true;
                r.has_more = true;
                // what was unread then was counted then; the provider's count follows
                r.counted_up_to = r.last_id();
            }
        }
        for queued in saved.outbox {
            if self.open_tab(&queued.room).is_ok() {
                self.add_pending(&queued.room, &queued.client_id, &queued.body, false, queued.attachment);
                if let Some(p) = self.room_mut(&queued.room).and_then(|r| r.pending.last_mut()) {
                    p.maybe_sent = true;
                }
            }
        }
        self.select(0);
    }

    /// What must survive a reload: every message still waiting to go.
    pub fn outbox(&self) -> Vec<crate::cache::Queued> {
        self.rooms
            .iter()
            .flat_map(|r| {
                r.pending
                    .iter()
                    .filter(|p| p.failed.is_none())
                    .map(|p| crate::cache::Queued {
                        room: r.name.clone(),
                        client_id: p.client_id.clone(),
                        body: p.body.clone(),
                        attachment: p.attachment.clone(),
                    })
            })
            .collect()
    }

    /// Messages waiting to go, in every room.
    pub fn pending_total(&self) -> usize {
        self.rooms
            .iter()
            .map(|r| r.pending.iter().filter(|p| p.failed.is_none()).count())
            .sum()
    }

    /// The user cancelled a message that was waiting to go.
    pub fn cancel(&mut self, client_id: &str) {
        for r in &mut self.rooms {
            r.pending.retain(|p| p.client_id != client_id);
        }
    }

    /// Messages of `room` to send once it is joined on a connection, in
    /// order, each with `maybe_sent` set when it may have reached the
    /// provider. That is every pending one: unsent, or sent without an
    /// acknowledgement (which may have been lost with the connection; the
    /// local provider stores a resend once, and for Twilio the window looks
    /// for it first).
    pub fn unsent(&self, room: &str) -> Vec<Pending> {
        self.room(room)
            .map(|r| {
                r.pending
                    .iter()
                    .filter(|p| p.failed.is_none())
                    .map(|p| Pending {
                        maybe_sent: p.sent || p.maybe_sent,
                        ..p.clone()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether messages to `room` can go out now (see [`Room::subscribed`]).
    pub fn can_send(&self, room: &str) -> bool {
        self.room(room).is_some_and(|r| r.subscribed)
    }

    pub fn mark_sent(&mut self, client_id: &str) {
        for p in self.rooms.iter_mut().flat_map(|r| r.pending.iter_mut()) {
            if p.client_id == client_id {
                p.sent = true;
            }
        }
    }

    /// Allowed contexts without an open tab, for the room picker.
    pub fn closed_rooms(&self) -> Vec<String> {
        self.allowed
            .iter()
            .filter(|c| self.room(c).is_none())
            .cloned()
            .collect()
    }

    /// Applies one server frame. `visible` says whether the user can see the
    /// active tab (the window is open), for unread counting.
    pub fn apply(&mut self, frame: ServerFrame, now_ms: f64, visible: bool) {
        let active_name = self.active_room().map(|r| r.name.clone());
        let me = self.identity.clone();
        match frame {
            ServerFrame::Welcome { nick, .. } => {
                if let Some(nick) = nick {
                    self.nicks.insert(me, nick);
                }
            }
            ServerFrame::Joined {
                room,
                members,
                read_up_to,
                last_id,
                unread,
                ..
            } => {
                let seen = visible && active_name.as_deref() == Some(room.as_str());
                for m in &members {
                    if let Some(nick) = &m.nick {
                        self.nicks.insert(m.identity.clone(), nick.clone());
                    }
                }
                if let Some(r) = self.room_mut(&room) {
                    if !r.joined {
                        r.divider_after = read_up_to;
                    }
                    r.joined = true;
                    r.subscribed = true;
                    r.members = members;
                    r.read_up_to = read_up_to;
                    // the provider's count is the truth after a (re)join;
                    // a room on screen is being read
                    r.unread = if seen { 0 } else { unread };
                    r.counted_up_to = last_id;
                }
            }
            ServerFrame::History {
                room,
                messages,
                has_more,
            } => {
                if let Some(r) = self.room_mut(&room) {
                    r.loading_older = false;
                    // a page of older messages: whether even older ones exist
                    let older_page = messages.first().map(|m| m.id) < r.oldest_id() || r.messages.is_empty();
                    for m in messages {
                        r.messages.insert(m.id, m);
                    }
                    // the first page over a saved copy: whether anything is older than the page
                    if older_page || r.cached {
                        r.has_more = has_more;
                    }
                    r.cached = false;
                }
            }
            ServerFrame::Message { message } => {
                let counts =
                    message.author != me && !(visible && active_name.as_deref() == Some(message.room.as_str()));
                if let Some(r) = self.room_mut(&message.room) {
                    r.typing.remove(&message.author);
                    let id = message.id;
                    let new = r.messages.insert(id, message).is_none();
                    if new && counts && id > r.counted_up_to.unwrap_or(0) {
                        r.unread += 1;
                    }
                }
            }
            ServerFrame::Ack { client_id, id } => {
                for r in &mut self.rooms {
                    if let Some(i) = r.pending.iter().position(|p| p.client_id == client_id) {
                        let p = r.pending.remove(i);
                        r.messages.entry(id).or_insert(Message {
                            id,
                            room: r.name.clone(),
                            author: me.clone(),
                            body: p.body,
                            created_at: now_ms as i64,
                            edited_at: None,
                            deleted: false,
                            attachment: p.attachment,
                        });
                    }
                }
            }
            ServerFrame::Edited { message } => {
                if let Some(r) = self.room_mut(&message.room) {
                    r.messages.insert(message.id, message);
                }
            }
            ServerFrame::Deleted { room, id } => {
                if let Some(m) = self.room_mut(&room).and_then(|r| r.messages.get_mut(&id)) {
                    m.deleted = true;
                    m.body.clear();
                }
            }
            ServerFrame::Typing { room, identity } => {
                if let Some(r) = self.room_mut(&room) {
                    r.typing.insert(identity, now_ms + TYPING_MS);
                }
            }
            ServerFrame::Presence { room, identity, online } => {
                let name = self.display_name(&identity).to_owned();
                if let Some(r) = self.room_mut(&room) {
                    let said = if online {
                        i18n::Msg::LogJoined
                    } else {
                        i18n::Msg::LogLeft
                    };
                    let text = i18n::tf(said, &[("name", &name)]);
                    r.notices.push((r.last_id(), text));
                    match r.members.iter_mut().find(|m| m.identity == identity) {
                        Some(m) => m.online = online,
                        None => r.members.push(Member {
                            identity,
                            nick: None,
                            online,
                        }),
                    }
                }
            }
            ServerFrame::Nick { identity, nick } => match nick {
                Some(nick) => {
                    self.nicks.insert(identity, nick);
                }
                None => {
                    self.nicks.remove(&identity);
                }
            },
            ServerFrame::Read { room, up_to } => {
                if let Some(r) = self.room_mut(&room) {
                    r.read_up_to = Some(up_to);
                }
            }
            ServerFrame::Error {
                code,
                message,
                client_id,
                room,
            } => {
                let message = i18n::refusal(&code, &message, room.as_deref());
                if let (Some(room), "room_closed") = (&room, code.as_str()) {
                    self.close_tab(room);
                    self.notice = Some(message);
                    return;
                }
                let failed_send = client_id.and_then(|id| {
                    self.rooms
                        .iter_mut()
                        .find_map(|r| r.pending.iter_mut().find(|p| p.client_id == id))
                });
                match failed_send {
                    Some(p) => p.failed = Some(message),
                    None if code != "reconnect" => self.notice = Some(message),
                    None => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
