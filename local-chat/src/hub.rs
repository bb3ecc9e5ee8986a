//! Who is connected to which room, and fan-out of frames to them.
//!
//! Each connection has a bounded outbox; a connection that cannot keep up
//! is told to go (its `kick` fires) instead of slowing the room down or
//! silently missing frames. It reconnects and catches up from history.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc};

/// Frames a connection may have queued before it counts as too slow.
pub const OUTBOX: usize = 256;

/// Rooms with more connections than this get no live presence frames: each
/// arrival would cost one frame per member, so filling a big room would be
/// quadratic. Members still see who is online when they join.
pub const PRESENCE_LIMIT: usize = 500;

/// One encoded frame; cloning it shares the bytes (one encoding, no copy,
/// however many connections it goes to).
pub type Frame = axum::extract::ws::Utf8Bytes;

#[derive(Debug, Clone)]
pub struct Outbox {
    pub tx: mpsc::Sender<Frame>,
    pub kick: Arc<Notify>,
}

#[derive(Debug)]
struct Conn {
    identity: String,
    outbox: Outbox,
}

/// One room's connections, and who is online there (identity → its
/// connections), kept sorted so that joining, leaving and listing the first
/// few online never walk the whole room.
#[derive(Debug, Default)]
struct Room {
    conns: HashMap<u64, Conn>,
    online: BTreeMap<String, usize>,
}

#[derive(Debug, Default)]
pub struct Hub {
    next_id: AtomicU64,
    rooms: Mutex<HashMap<String, Room>>,
}

impl Hub {
    pub fn connection_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds the connection to `room`; `true` if the identity just came online there.
    pub fn join(&self, room: &str, conn: u64, identity: &str, outbox: Outbox) -> bool {
        let mut rooms = self.rooms();
        let room = rooms.entry(room.to_owned()).or_default();
        let previous = room.conns.insert(
            conn,
            Conn {
                identity: identity.to_owned(),
                outbox,
            },
        );
        if previous.is_some() {
            return false; // joined again on the same connection
        }
        let tabs = room.online.entry(identity.to_owned()).or_insert(0);
        *tabs += 1;
        *tabs == 1
    }

    pub fn is_joined(&self, room: &str, conn: u64) -> bool {
        self.rooms().get(room).is_some_and(|r| r.conns.contains_key(&conn))
    }

    /// Removes the connection from `room`; `true` if its identity went offline there.
    pub fn leave(&self, room: &str, conn: u64) -> bool {
        let mut rooms = self.rooms();
        let Some(members) = rooms.get_mut(room) else {
            return false;
        };
        let Some(gone) = members.conns.remove(&conn) else {
            return false;
        };
        let offline = match members.online.get_mut(&gone.identity) {
            Some(tabs) if *tabs > 1 => {
                *tabs -= 1;
                false
            }
            _ => {
                members.online.remove(&gone.identity);
                true
            }
        };
        if members.conns.is_empty() {
            rooms.remove(room);
        }
        offline
    }

    /// Removes the connection everywhere; the rooms where its identity went offline.
    pub fn leave_all(&self, conn: u64) -> Vec<String> {
        let joined: Vec<String> = self
            .rooms()
            .iter()
            .filter(|(_, r)| r.conns.contains_key(&conn))
            .map(|(r, _)| r.clone())
            .collect();
        joined.into_iter().filter(|room| self.leave(room, conn)).collect()
    }

    pub fn connections(&self, room: &str) -> usize {
        self.rooms().get(room).map_or(0, |r| r.conns.len())
    }

    /// The first `limit` identities online in `room`, in order, and how many
    /// are online in all.
    pub fn online(&self, room: &str, limit: usize) -> (Vec<String>, usize) {
        self.rooms().get(room).map_or((Vec::new(), 0), |r| {
            (r.online.keys().take(limit).cloned().collect(), r.online.len())
        })
    }

    /// Queues `frame` for every connection in `room` (but `except`).
    pub fn broadcast(&self, room: &str, frame: &Frame, except: Option<u64>) {
        let rooms = self.rooms();
        let Some(members) = rooms.get(room) else { return };
        for (id, conn) in &members.conns {
            if Some(*id) == except {
                continue;
            }
            if conn.outbox.tx.try_send(frame.clone()).is_err() {
                conn.outbox.kick.notify_one();
            }
        }
    }

    /// Queues `frame` for the connections in `room` whose identity `who`
    /// picks (a report, for the room's moderators).
    pub fn send_where(&self, room: &str, frame: &Frame, who: impl Fn(&str) -> bool) {
        let rooms = self.rooms();
        let Some(members) = rooms.get(room) else { return };
        for conn in members.conns.values().filter(|c| who(&c.identity)) {
            if conn.outbox.tx.try_send(frame.clone()).is_err() {
                conn.outbox.kick.notify_one();
            }
        }
    }

    /// Connections of `identity` in `room` (to end them when access is revoked).
    pub fn kick_identity(&self, room: &str, identity: &str) {
        if let Some(members) = self.rooms().get(room) {
            for conn in members.conns.values().filter(|c| c.identity == identity) {
                conn.outbox.kick.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(capacity: usize) -> (Outbox, mpsc::Receiver<Frame>) {
        let (tx, rx) = mpsc::channel(capacity);
        (
            Outbox {
                tx,
                kick: Arc::new(Notify::new()),
            },
            rx,
        )
    }

    #[tokio::test]
    async fn presence_counts_identities_not_connections() {
        let hub = Hub::default();
        let (a1, _r1) = outbox(4);
        let (a2, _r2) = outbox(4);
        assert!(hub.join("r", 1, "alice", a1));
        assert!(!hub.join("r", 2, "alice", a2), "a second tab is not a new arrival");
        assert!(!hub.leave("r", 1));
        assert_eq!(hub.leave_all(2), ["r"]);
        assert_eq!(hub.online("r", 10), (vec![], 0));
    }

    #[tokio::test]
    async fn broadcast_skips_the_sender_and_kicks_the_slow() {
        let hub = Hub::default();
        let (a, mut ra) = outbox(4);
        let (b, mut rb) = outbox(1);
        let kicked = b.kick.clone();
        hub.join("r", 1, "alice", a);
        hub.join("r", 2, "bob", b);
        let frame = Frame::from("x");
        hub.broadcast("r", &frame, Some(1));
        assert_eq!(rb.recv().await.as_deref(), Some("x"));
        assert!(ra.try_recv().is_err());
        hub.broadcast("r", &frame, None);
        hub.broadcast("r", &frame, None); // bob's outbox (1) is full now
        tokio::time::timeout(std::time::Duration::from_secs(1), kicked.notified())
            .await
            .unwrap();
    }
}
