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

/// One row of a room's log: a message or a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row<'a> {
    Message(&'a Message),
    /// (position among the notices, text)
    Notice(usize, &'a str),
}

impl Room {
    /// Messages in order, each followed by the notices that came after it.
    pub fn timeline(&self) -> Vec<Row<'_>> {
        let mut rows = Vec::with_capacity(self.messages.len() + self.notices.len());
        let mut notices = self.notices.iter().enumerate().peekable();
        while let Some((i, (_, text))) = notices.next_if(|(_, (after, _))| after.is_none()) {
            rows.push(Row::Notice(i, text));
        }
        for message in self.messages.values() {
            rows.push(Row::Message(message));
            while let Some((i, (_, text))) = notices.next_if(|(_, (after, _))| after.is_some_and(|a| a <= message.id)) {
                rows.push(Row::Notice(i, text));
            }
        }
        rows.extend(notices.map(|(i, (_, text))| Row::Notice(i, text)));
        rows
    }
}

/// How a message row is introduced: a day separator when the day changes,
/// and the "new messages" divider before the first unread message of others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RowMarks {
    pub day: Option<String>,
    pub new_divider: bool,
}

/// Marks for `messages` (in order); `day_of` names the local day of a time.
pub fn row_marks(
    messages: &[&Message],
    divider_after: Option<i64>,
    me: &str,
    day_of: impl Fn(i64) -> String,
) -> Vec<RowMarks> {
    let mut previous_day: Option<String> = None;
    let mut divider_placed = false;
    messages
        .iter()
        .map(|m| {
            let day = day_of(m.created_at);
            let day_mark = (previous_day.as_ref() != Some(&day)).then(|| day.clone());
            previous_day = Some(day);
            let new_divider = !divider_placed && divider_after.is_some_and(|after| m.id > after) && m.author != me;
            divider_placed |= new_divider;
            RowMarks {
                day: day_mark,
                new_divider,
            }
        })
        .collect()
}

/// A stable hue (0–359) for an identity, for its author colour.
pub fn hue_of(identity: &str) -> u32 {
    identity
        .bytes()
        .fold(2166136261u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16777619))
        % 360
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_name_keeps_one_value_per_name() {
        let mut map = ByName::default();
        map.insert("bo".to_owned(), 1);
        map.insert("ana".to_owned(), 2);
        map.insert("bo".to_owned(), 3);
        assert_eq!(map.get("bo"), Some(&3));
        assert_eq!(map.iter().count(), 2);
        assert_eq!(map.remove("bo"), Some(3));
        assert_eq!(map.remove("bo"), None);
        assert_eq!(map.get("ana"), Some(&2));
        assert_eq!(map.get("cy"), None);
    }

    fn message(id: i64, room: &str, author: &str, body: &str) -> Message {
        Message {
            id,
            room: room.into(),
            author: author.into(),
            body: body.into(),
            created_at: id,
            edited_at: None,
            deleted: false,
            attachment: None,
        }
    }

    /// The provider's answer to a join, with no members listed.
    fn joined(room: &str, read_up_to: Option<i64>, last_id: Option<i64>, unread: u32) -> ServerFrame {
        ServerFrame::Joined {
            room: room.into(),
            members: Vec::new(),
            member_count: 1,
            read_up_to,
            last_id,
            unread,
        }
    }

    fn state() -> ChatState {
        ChatState::new("alice", vec!["shipment-1".into(), "general".into()], "shipment-1")
    }

    /// What goes out after a join: (client id, body, may have reached the provider).
    fn unsent(s: &ChatState, room: &str) -> Vec<(String, String, bool)> {
        s.unsent(room)
            .into_iter()
            .map(|p| (p.client_id, p.body, p.maybe_sent))
            .collect()
    }

    #[test]
    fn messages_are_ordered_and_never_duplicated() {
        let mut s = state();
        s.apply(
            ServerFrame::Message {
                message: message(5, "shipment-1", "bob", "b"),
            },
            0.0,
            true,
        );
        s.apply(
            ServerFrame::Message {
                message: message(3, "shipment-1", "bob", "a"),
            },
            0.0,
            true,
        );
        s.apply(
            ServerFrame::History {
                room: "shipment-1".into(),
                messages: vec![message(3, "shipment-1", "bob", "a")],
                has_more: false,
            },
            0.0,
            true,
        );
        let ids: Vec<i64> = s.room("shipment-1").unwrap().messages.keys().copied().collect();
        assert_eq!(ids, [3, 5]);
    }

    #[test]
    fn unread_counts_only_what_the_user_cannot_see() {
        let mut s = state();
        s.open_tab("general").unwrap();
        s.select(0);
        s.apply(
            ServerFrame::Message {
                message: message(1, "general", "bob", "x"),
            },
            0.0,
            true,
        );
        s.apply(
            ServerFrame::Message {
                message: message(2, "shipment-1", "bob", "y"),
            },
            0.0,
            true,
        );
        s.apply(
            ServerFrame::Message {
                message: message(3, "shipment-1", "bob", "z"),
            },
            0.0,
            false,
        );
        s.apply(
            ServerFrame::Message {
                message: message(4, "shipment-1", "alice", "mine"),
            },
            0.0,
            false,
        );
        assert_eq!(s.room("general").unwrap().unread, 1);
        assert_eq!(s.room("shipment-1").unwrap().unread, 1);
        assert_eq!(s.unread_total(), 2);
        s.select(1);
        assert_eq!(s.room("general").unwrap().unread, 0);
    }

    #[test]
    fn tabs_only_for_allowed_contexts() {
        let mut s = state();
        assert_eq!(
            s.open_tab("shipment-2"),
            Err("You don't have access to \"shipment-2\".".into())
        );
        s.open_tab("general").unwrap();
        assert_eq!(s.active, 1);
        s.close_tab("shipment-1"); // the page's context stays
        assert_eq!(s.rooms.len(), 2);
        s.close_tab("general");
        assert_eq!((s.rooms.len(), s.active), (1, 0));
    }

    #[test]
    fn acks_turn_pending_into_messages_and_errors_mark_them() {
        let mut s = state();
        let photo = Attachment {
            id: "f1".into(),
            name: "pallet.jpg".into(),
            content_type: "image/jpeg".into(),
            size: 1234,
        };
        s.add_pending("shipment-1", "c1", "hello", true, Some(Box::new(photo.clone())));
        s.add_pending("shipment-1", "c2", "too long", true, None);
        s.add_pending("shipment-1", "c3", "while offline", false, None);
        // every pending message goes again on a new connection
        assert_eq!(s.unsent("shipment-1").len(), 3);
        s.mark_sent("c3");
        s.apply(
            ServerFrame::Ack {
                client_id: "c1".into(),
                id: 9,
            },
            1.0,
            true,
        );
        s.apply(
            ServerFrame::Error {
                code: "bad_message".into(),
                message: "too long".into(),
                client_id: Some("c2".into()),
                room: None,
            },
            1.0,
            true,
        );
        let room = s.room("shipment-1").unwrap();
        assert_eq!(room.messages[&9].body, "hello");
        assert_eq!(
            room.messages[&9].attachment.as_deref(),
            Some(&photo),
            "its file stays with it"
        );
        assert_eq!(room.pending.len(), 2);
        assert_eq!(room.pending[0].failed.as_deref(), Some("too long"));
        // the refused one is not sent again; the unacknowledged one is, as one
        // that may have reached the provider (it was written to a connection)
        assert_eq!(
            unsent(&s, "shipment-1"),
            [("c3".to_owned(), "while offline".to_owned(), true)]
        );
        assert!(s.unsent("general").is_empty());
        assert_eq!(s.closed_rooms(), ["general"]);
    }

    #[test]
    fn the_devices_copy_comes_back_marked_and_its_outbox_waits_to_be_checked() {
        let mut s = state();
        s.restore_saved(crate::cache::Saved {
            rooms: vec![
                ("shipment-1".into(), vec![message(4, "shipment-1", "bob", "saved")]),
                ("general".into(), vec![message(2, "general", "bob", "also saved")]),
                (
                    "not-allowed".into(),
                    vec![message(1, "not-allowed", "eve", "never shown")],
                ),
            ],
            outbox: ["one", "two"]
                .map(|body| crate::cache::Queued {
                    room: "general".into(),
                    client_id: format!("c-{body}"),
                    body: body.into(),
                    attachment: None,
                })
                .to_vec(),
        });
        assert_eq!(s.tab_names(), ["shipment-1", "general"]);
        assert_eq!(s.active, 0, "the page's own room stays on screen");
        let general = s.room("general").unwrap();
        assert!(general.cached && general.has_more);
        assert_eq!(general.unread, 0, "what was saved is not news");
        // in order, and to be looked for at the provider before posting
        assert_eq!(
            unsent(&s, "general"),
            [
                ("c-one".into(), "one".into(), true),
                ("c-two".into(), "two".into(), true)
            ]
        );
        assert_eq!(s.pending_total(), 2);
        assert_eq!(s.outbox().len(), 2);
        // the provider's first page replaces the mark; older saved messages stay reachable
        s.apply(
            ServerFrame::History {
                room: "general".into(),
                messages: vec![message(3, "general", "bob", "new")],
                has_more: true,
            },
            1.0,
            true,
        );
        let general = s.room("general").unwrap();
        assert!(!general.cached && general.has_more);
        assert_eq!(general.messages.len(), 2);
        s.cancel("c-one");
        assert_eq!(s.outbox().iter().map(|q| q.body.as_str()).collect::<Vec<_>>(), ["two"]);
    }

    #[test]
    fn joining_takes_the_providers_unread_count() {
        let mut s = state();
        s.open_tab("general").unwrap();
        s.select(0);
        let joined = |room: &str, unread| joined(room, Some(3), Some(9), unread);
        s.apply(joined("general", 4), 1.0, true);
        s.apply(joined("shipment-1", 2), 1.0, true);
        assert_eq!(s.room("general").unwrap().unread, 4, "a background tab");
        assert_eq!(
            s.room("shipment-1").unwrap().unread,
            0,
            "the tab on screen is being read"
        );
        assert_eq!(s.unread_total(), 4);
        // minimised: the active room counts too
        s.apply(joined("shipment-1", 2), 2.0, false);
        assert_eq!(s.unread_total(), 6);
    }

    #[test]
    fn messages_go_out_only_to_rooms_joined_on_this_connection() {
        let mut s = state();
        assert!(!s.can_send("shipment-1"), "not joined yet");
        s.set_connection(Connection::Online);
        assert!(!s.can_send("shipment-1"), "online, but the join has not answered");
        s.apply(joined("shipment-1", None, None, 0), 1.0, true);
        assert!(s.can_send("shipment-1"));
        assert!(!s.can_send("general"), "no tab");
        // the connection drops: every room must be joined again
        assert!(!s.set_connection(Connection::Reconnecting(1)));
        assert!(!s.can_send("shipment-1"));
        assert!(!s.set_connection(Connection::Online), "ready is told once");
        s.apply(joined("shipment-1", None, None, 0), 2.0, true);
        assert!(s.can_send("shipment-1"));
    }

    #[test]
    fn a_message_the_joins_count_covered_is_not_counted_again() {
        let mut s = state();
        s.open_tab("general").unwrap();
        s.select(0);
        s.apply(joined("general", None, Some(7), 1), 1.0, true);
        // sent while the join was in progress: counted by the join, delivered after it
        s.apply(
            ServerFrame::Message {
                message: message(7, "general", "bob", "x"),
            },
            2.0,
            true,
        );
        assert_eq!(s.room("general").unwrap().unread, 1);
        s.apply(
            ServerFrame::Message {
                message: message(8, "general", "bob", "y"),
            },
            3.0,
            true,
        );
        assert_eq!(s.room("general").unwrap().unread, 2);
    }

    #[test]
    fn a_closed_room_loses_its_tab_with_a_notice() {
        let mut s = state();
        s.open_tab("general").unwrap();
        let closed = |room: &str, message: &str| ServerFrame::Error {
            code: "room_closed".into(),
            message: message.into(),
            client_id: None,
            room: Some(room.into()),
        };
        s.apply(closed("general", "You no longer have access to general."), 1.0, true);
        assert_eq!(s.tab_names(), ["shipment-1"]);
        assert_eq!(s.notice.as_deref(), Some("You no longer have access to general."));
        // the page's own room keeps its tab (the notice says why it is silent)
        s.apply(closed("shipment-1", "This room was removed: shipment-1."), 2.0, true);
        assert_eq!(s.tab_names(), ["shipment-1"]);
        assert_eq!(s.notice.as_deref(), Some("This room was removed: shipment-1."));
    }

    #[test]
    fn typing_expires_and_clears_on_message() {
        let mut s = state();
        s.apply(
            ServerFrame::Typing {
                room: "shipment-1".into(),
                identity: "bob".into(),
            },
            1000.0,
            true,
        );
        assert_eq!(s.room("shipment-1").unwrap().typing_now(2000.0), ["bob"]);
        assert!(
            s.room("shipment-1")
                .unwrap()
                .typing_now(1000.0 + TYPING_MS + 1.0)
                .is_empty()
        );
        s.apply(
            ServerFrame::Message {
                message: message(1, "shipment-1", "bob", "x"),
            },
            1500.0,
            true,
        );
        assert!(s.room("shipment-1").unwrap().typing_now(1600.0).is_empty());
    }

    #[test]
    fn day_separators_and_the_new_messages_divider() {
        let ms = [
            message(1, "r", "bob", "a"),
            message(2, "r", "alice", "b"),
            message(3, "r", "bob", "c"),
            message(4, "r", "bob", "d"),
        ];
        let refs: Vec<&Message> = ms.iter().collect();
        let day = |t: i64| if t < 3 { "Mon".to_owned() } else { "Tue".to_owned() };
        let marks = row_marks(&refs, Some(1), "alice", day);
        let days: Vec<Option<&str>> = marks.iter().map(|m| m.day.as_deref()).collect();
        assert_eq!(days, [Some("Mon"), None, Some("Tue"), None]);
        // my own message after the horizon is not "new"; the divider goes once, before bob's
        let dividers: Vec<bool> = marks.iter().map(|m| m.new_divider).collect();
        assert_eq!(dividers, [false, false, true, false]);
        assert!(
            row_marks(&refs, None, "alice", |_| String::new())
                .iter()
                .all(|m| !m.new_divider)
        );
    }

    #[test]
    fn remembered_tabs_come_back_if_still_allowed() {
        let mut s = state();
        let added = s.restore_tabs(&["general".into(), "shipment-9".into(), "shipment-1".into()]);
        assert_eq!(added, ["general"]);
        assert_eq!(s.tab_names(), ["shipment-1", "general"]);
        assert_eq!(s.active, 0, "restoring does not switch tabs");
    }

    #[test]
    fn presence_notices_sit_between_the_messages_they_followed() {
        let mut s = state();
        s.apply(
            ServerFrame::Presence {
                room: "shipment-1".into(),
                identity: "bob".into(),
                online: true,
            },
            0.0,
            true,
        );
        s.apply(
            ServerFrame::Message {
                message: message(1, "shipment-1", "bob", "hi"),
            },
            0.0,
            true,
        );
        s.apply(
            ServerFrame::Nick {
                identity: "bob".into(),
                nick: Some("Bobby".into()),
            },
            0.0,
            true,
        );
        s.apply(
            ServerFrame::Presence {
                room: "shipment-1".into(),
                identity: "bob".into(),
                online: false,
            },
            0.0,
            true,
        );
        let room = s.room("shipment-1").unwrap();
        let rows: Vec<String> = room
            .timeline()
            .iter()
            .map(|r| match r {
                Row::Message(m) => m.body.clone(),
                Row::Notice(_, text) => (*text).to_owned(),
            })
            .collect();
        assert_eq!(rows, ["bob joined", "hi", "Bobby left"]);
    }

    #[test]
    fn hues_are_stable_and_in_range() {
        assert_eq!(hue_of("alice"), hue_of("alice"));
        assert_ne!(hue_of("alice"), hue_of("bob"));
        assert!(hue_of("zed") < 360);
    }

    #[test]
    fn nicknames_replace_identities() {
        let mut s = state();
        s.apply(
            ServerFrame::Nick {
                identity: "bob".into(),
                nick: Some("Bobby".into()),
            },
            0.0,
            true,
        );
        assert_eq!(s.display_name("bob"), "Bobby");
        s.apply(
            ServerFrame::Nick {
                identity: "bob".into(),
                nick: None,
            },
            0.0,
            true,
        );
        assert_eq!(s.display_name("bob"), "bob");
    }
}
