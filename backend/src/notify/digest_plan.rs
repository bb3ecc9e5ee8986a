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
//!   messages from others; never one e-mail per message. Once one room is
//!   due, the e-mail also names the others with unread messages, however
//!   recent (not throttled ones): one e-mail now rather than a second one
//!   minutes later;
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

/// Until when `room` waits after its last e-mail (`None`: it does not).
fn throttled_until(room: &RoomState) -> Option<u64> {
    match (room.emails_since_read, room.last_email_at) {
        (0, _) | (_, None) => None,
        (sent, Some(at)) => {
            let index = usize::try_from(sent - 1).unwrap_or(usize::MAX).min(BACKOFF.len() - 1);
            Some(at.saturating_add(BACKOFF[index].as_secs()))
        }
    }
}

/// The first moment `room` may be named in an e-mail, by its own state
/// (`None`: never, as it stands: muted or nothing unread from others).
fn room_due_at(room: &RoomState, delay: Duration) -> Option<u64> {
    if room.muted || room.unread_from_others == 0 {
        return None;
    }
    let ready = room.oldest_unread_at?.saturating_add(delay.as_secs());
    Some(throttled_until(room).map_or(ready, |until| until.max(ready)))
}

/// Whether `room` makes an e-mail due at `now`.
fn due(room: &RoomState, now: u64, delay: Duration) -> bool {
    room_due_at(room, delay).is_some_and(|at| now >= at)
}

/// Whether `room` may be named in an e-mail that goes out at `now`.
fn nameable(room: &RoomState, now: u64) -> bool {
    !room.muted
        && room.unread_from_others > 0
        && room.oldest_unread_at.is_some()
        && throttled_until(room).is_none_or(|until| now >= until)
}

/// When to look at `person` again after a sweep at `now` (with the rooms'
/// throttle state as it is after whatever that sweep sent): the first
/// moment one of their rooms could be named, never before they have been
/// away `delay`, and always after `now`; `None` when nothing unread from
/// others is left to tell about. Someone online now is looked at again
/// `delay` from now (going offline is not an event the notifier hears).
pub fn next_check(person: &PersonState, now: u64, delay: Duration) -> Option<u64> {
    let room_at = person.rooms.iter().filter_map(|room| room_due_at(room, delay)).min()?;
    let away_at = if person.online {
        now.saturating_add(delay.as_secs())
    } else {
        person
            .last_seen_at
            .map_or(0, |seen| seen.saturating_add(delay.as_secs()))
    };
    Some(room_at.max(away_at).max(now + 1))
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
        .filter(|person| person.rooms.iter().any(|room| due(room, now, delay)))
        .filter_map(|person| {
            let rooms: Vec<(String, u32)> = person
                .rooms
                .iter()
                .filter(|room| nameable(room, now))
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
    fn one_digest_of_every_unread_room_once_one_is_ten_minutes_old() {
        let people = [alice(vec![room("shipment-1", 3, 0), room("general", 1, 8 * MIN)])];
        assert_eq!(plan(&people, 9 * MIN, DEFAULT_DELAY), [], "not yet ten minutes");
        assert_eq!(
            plan(&people, 10 * MIN, DEFAULT_DELAY),
            [PlannedDigest {
                identity: "alice".into(),
                address: "alice@example.org".into(),
                rooms: vec![("shipment-1".into(), 3), ("general".into(), 1)],
            }],
            "general's message is only 2 minutes old, but goes in the same e-mail"
        );
        let fresh_only = [alice(vec![room("general", 1, 8 * MIN)])];
        assert_eq!(plan(&fresh_only, 10 * MIN, DEFAULT_DELAY), [], "alone it waits");
    }

    #[test]
    fn a_throttled_room_is_not_named_with_a_due_one() {
        let mut throttled = room("shipment-1", 2, 0);
        throttled.emails_since_read = 1;
        throttled.last_email_at = Some(5 * MIN);
        let people = [alice(vec![throttled, room("general", 1, 20 * MIN)])];
        assert_eq!(
            plan(&people, 30 * MIN, DEFAULT_DELAY)[0].rooms,
            [("general".to_owned(), 1)]
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
    fn the_next_look_is_when_a_room_could_first_be_named() {
        let mut person = alice(vec![room("general", 2, 0), room("quiet", 0, 0)]);
        assert_eq!(next_check(&person, 5 * MIN, DEFAULT_DELAY), Some(10 * MIN), "the delay");
        person.rooms[0].emails_since_read = 1;
        person.rooms[0].last_email_at = Some(10 * MIN);
        assert_eq!(
            next_check(&person, 10 * MIN, DEFAULT_DELAY),
            Some(70 * MIN),
            "the throttle"
        );
        person.online = true;
        assert_eq!(
            next_check(&person, 80 * MIN, DEFAULT_DELAY),
            Some(90 * MIN),
            "online: again after the delay"
        );
        person.online = false;
        person.last_seen_at = Some(75 * MIN);
        assert_eq!(
            next_check(&person, 80 * MIN, DEFAULT_DELAY),
            Some(85 * MIN),
            "away long enough"
        );
        assert_eq!(
            next_check(&person, 100 * MIN, DEFAULT_DELAY),
            Some(100 * MIN + 1),
            "after now"
        );
        person.rooms[0].unread_from_others = 0;
        assert_eq!(next_check(&person, 100 * MIN, DEFAULT_DELAY), None, "all read");
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
