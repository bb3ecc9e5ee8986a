//! When to e-mail whom (part of the notifications feature, issue #14):
//! from each subscriber's rooms, what they have not read, when they were
//! last seen and when each room was last e-mailed about, which digests go
//! out now. Pure: the notifier gathers the state (from the store and the
//! chat provider, the read horizons checked again at send time) and sends
//! what this returns.
//!
//! The rules:
//!
//! - nothing before the person has been away `delay` (default 10 minutes:
//!   offline, and the oldest unread message at least that old), so someone
//!   who is chatting or just stepped away gets nothing;
//! - one e-mail per person, a digest of every followed room with unread
//!   messages from others; never one e-mail per message;
//! - a room e-mailed about waits longer before it is named again: 1 hour
//!   after the first e-mail, then 6 hours, then 24 hours, until the person
//!   reads it (which resets it). Synapse starts its e-mail throttle at 10
//!   minutes and jumps to a day; Zulip batches for minutes and then turns
//!   to daily digests. Aid work runs in shifts, so a second nudge the same
//!   shift (1 h), one the next shift (6 h), and then daily fits better than
//!   either jump;
//! - muted rooms, and rooms whose unread messages are all their own, are
//!   never named.

use std::time::Duration;

/// How long after a room's e-mail it waits before being named again, by
/// how many e-mails about it went out since the person last read it.
pub const BACKOFF: [Duration; 3] = [
    Duration::from_secs(3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(24 * 3600),
];

/// The default time away before a first e-mail.
pub const DEFAULT_DELAY: Duration = Duration::from_secs(600);

/// One followed room of one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomState {
    pub context: String,
    /// Messages from others after the person's read horizon.
    pub unread_from_others: u32,
    /// When the oldest of those was written (Unix seconds).
    pub oldest_unread_at: Option<u64>,
    pub muted: bool,
    /// E-mails about this room since the person last read it.
    pub emails_since_read: u32,
    /// When the last of those went out.
    pub last_email_at: Option<u64>,
}

/// One subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonState {
    pub identity: String,
    pub address: String,
    /// When they were last online in the chat (Unix seconds); `None`: never.
    pub last_seen_at: Option<u64>,
    pub online: bool,
    pub rooms: Vec<RoomState>,
}

/// A digest to send now: to whom, and which rooms with how many unread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDigest {
    pub identity: String,
    pub address: String,
    pub rooms: Vec<(String, u32)>,
}

/// Whether `room` may be named in an e-mail at `now`.
fn due(room: &RoomState, now: u64, delay: Duration) -> bool {
    if room.muted || room.unread_from_others == 0 {
        return false;
    }
    let Some(oldest) = room.oldest_unread_at else {
        return false;
    };
    if now < oldest.saturating_add(delay.as_secs()) {
        return false;
    }
    match (room.emails_since_read, room.last_email_at) {
        (0, _) | (_, None) => true,
        (sent, Some(at)) => {
            let index = usize::try_from(sent - 1).unwrap_or(usize::MAX).min(BACKOFF.len() - 1);
            now >= at.saturating_add(BACKOFF[index].as_secs())
        }
    }
}

/// The digests to send at `now`.
pub fn plan(people: &[PersonState], now: u64, delay: Duration) -> Vec<PlannedDigest> {
    people
        .iter()
        .filter(|person| !person.online)
        .filter(|person| {
            person
                .last_seen_at
                .is_none_or(|seen| now >= seen.saturating_add(delay.as_secs()))
        })
        .filter_map(|person| {
            let rooms: Vec<(String, u32)> = person
                .rooms
                .iter()
                .filter(|room| due(room, now, delay))
                .map(|room| (room.context.clone(), room.unread_from_others))
                .collect();
            (!rooms.is_empty()).then(|| PlannedDigest {
                identity: person.identity.clone(),
                address: person.address.clone(),
                rooms,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60;

    fn room(context: &str, unread: u32, oldest: u64) -> RoomState {
        RoomState {
            context: context.into(),
            unread_from_others: unread,
            oldest_unread_at: Some(oldest),
            muted: false,
            emails_since_read: 0,
            last_email_at: None,
        }
    }

    fn alice(rooms: Vec<RoomState>) -> PersonState {
        PersonState {
            identity: "alice".into(),
            address: "alice@example.org".into(),
            last_seen_at: Some(0),
            online: false,
            rooms,
        }
    }

    #[test]
    fn one_digest_of_every_due_room_after_ten_minutes_away() {
        let people = [alice(vec![room("shipment-1", 3, 0), room("general", 1, 2 * MIN)])];
        assert_eq!(plan(&people, 9 * MIN, DEFAULT_DELAY), [], "not yet ten minutes");
        assert_eq!(
            plan(&people, 10 * MIN, DEFAULT_DELAY),
            [PlannedDigest {
                identity: "alice".into(),
                address: "alice@example.org".into(),
                rooms: vec![("shipment-1".into(), 3)],
            }],
            "general's message is only 8 minutes old"
        );
        assert_eq!(
            plan(&people, 12 * MIN, DEFAULT_DELAY)[0].rooms.len(),
            2,
            "both, in one e-mail"
        );
    }

    #[test]
    fn nobody_online_or_just_seen_is_emailed() {
        let mut person = alice(vec![room("general", 1, 0)]);
        person.online = true;
        assert_eq!(plan(std::slice::from_ref(&person), 60 * MIN, DEFAULT_DELAY), []);
        person.online = false;
        person.last_seen_at = Some(55 * MIN);
        assert_eq!(
            plan(std::slice::from_ref(&person), 60 * MIN, DEFAULT_DELAY),
            [],
            "seen 5 minutes ago"
        );
        assert_eq!(plan(&[person], 65 * MIN, DEFAULT_DELAY).len(), 1);
    }

    #[test]
    fn muted_rooms_and_own_messages_are_never_named() {
        let mut muted = room("muted", 4, 0);
        muted.muted = true;
        let own_only = room("mine", 0, 0);
        assert_eq!(plan(&[alice(vec![muted, own_only])], 60 * MIN, DEFAULT_DELAY), []);
    }

    #[test]
    fn a_room_emailed_about_waits_one_hour_then_six_then_a_day_until_read() {
        let mut r = room("general", 2, 0);
        r.emails_since_read = 1;
        r.last_email_at = Some(10 * MIN);
        let at = |r: &RoomState, now: u64| !plan(&[alice(vec![r.clone()])], now, DEFAULT_DELAY).is_empty();
        assert!(!at(&r, 69 * MIN));
        assert!(at(&r, 70 * MIN), "an hour after the first e-mail");
        r.emails_since_read = 2;
        r.last_email_at = Some(70 * MIN);
        assert!(!at(&r, 70 * MIN + 6 * 3600 - 1));
        assert!(at(&r, 70 * MIN + 6 * 3600));
        r.emails_since_read = 7;
        r.last_email_at = Some(0);
        assert!(!at(&r, 24 * 3600 - 1), "a day at most, however many before");
        assert!(at(&r, 24 * 3600));
        // read: the count resets, the usual delay applies again
        r.emails_since_read = 0;
        r.oldest_unread_at = Some(24 * 3600);
        assert!(!at(&r, 24 * 3600 + 9 * MIN));
        assert!(at(&r, 24 * 3600 + 10 * MIN));
    }
}
