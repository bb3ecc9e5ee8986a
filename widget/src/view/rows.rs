//! What the log shows, as data: a room's rows (messages with the notices
//! between them), the day separators and the "new messages" divider, and
//! each author's colour. Pure; the state keeps messages and notices, this
//! decides how they are laid out.

use protocol::local::Message;

use crate::state::Room;

/// One row of a room's log: a message or a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row<'a> {
    Message(&'a Message),
    /// (position among the notices, text)
    Notice(usize, &'a str),
}

/// A room's messages in order, each followed by the notices that came after it.
pub fn timeline(room: &Room) -> Vec<Row<'_>> {
    let mut rows = Vec::with_capacity(room.messages.len() + room.notices.len());
    let mut notices = room.notices.iter().enumerate().peekable();
    while let Some((i, (_, text))) = notices.next_if(|(_, (after, _))| after.is_none()) {
        rows.push(Row::Notice(i, text));
    }
    for message in room.messages.values() {
        rows.push(Row::Message(message));
        while let Some((i, (_, text))) = notices.next_if(|(_, (after, _))| after.is_some_and(|a| a <= message.id)) {
            rows.push(Row::Notice(i, text));
        }
    }
    rows.extend(notices.map(|(i, (_, text))| Row::Notice(i, text)));
    rows
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

    fn message(id: i64, author: &str, body: &str) -> Message {
        Message {
            id,
            room: "r".into(),
            author: author.into(),
            body: body.into(),
            created_at: id,
            edited_at: None,
            deleted: false,
            attachment: None,
        }
    }

    #[test]
    fn day_separators_and_the_new_messages_divider() {
        let ms = [
            message(1, "bob", "a"),
            message(2, "alice", "b"),
            message(3, "bob", "c"),
            message(4, "bob", "d"),
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
    fn notices_sit_between_the_messages_they_followed() {
        let mut room = Room::default();
        for id in [1, 2] {
            room.messages.insert(id, message(id, "bob", &format!("m{id}")));
        }
        room.notices = vec![
            (None, "bob joined".to_owned()),
            (Some(1), "Bobby left".to_owned()),
            (Some(7), "ana joined".to_owned()),
        ];
        let rows: Vec<String> = timeline(&room)
            .iter()
            .map(|r| match r {
                Row::Message(m) => m.body.clone(),
                Row::Notice(_, text) => (*text).to_owned(),
            })
            .collect();
        assert_eq!(rows, ["bob joined", "m1", "Bobby left", "m2", "ana joined"]);
    }

    #[test]
    fn hues_are_stable_and_in_range() {
        assert_eq!(hue_of("alice"), hue_of("alice"));
        assert_ne!(hue_of("alice"), hue_of("bob"));
        assert!(hue_of("zed") < 360);
    }
}
