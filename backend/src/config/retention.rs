//! The retention setting's parsing (issue #30): how many days a room's
//! messages are kept, for every room or by room name and name prefix.
//!
//! `DACHAT_RETENTION` (SSM `chat/retention`) is a comma-separated list of
//! `ROOM=DAYS`, `PREFIX-=DAYS` (a name ending in `-` matches every room
//! it begins), and `*=DAYS` or a bare `DAYS` (every other room), e.g.
//! `shipment-=365,general=90,*=730`. An exact name wins over a prefix, a
//! longer prefix over a shorter one; a room no entry matches keeps its
//! messages. Unset: nothing is deleted for age.

use super::*;
use crate::domain::ContextName;

/// The most days an entry may say (a century).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// Days a room's messages are kept, by the rules above.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// Exact names and prefixes (ending in `-`), with their days.
    rules: Vec<(String, u32)>,
    /// Days for every other room.
    default: Option<u32>,
}

impl Retention {
    /// Whether any room's messages are deleted for age.
    pub fn is_on(&self) -> bool {
        self.default.is_some() || !self.rules.is_empty()
    }

    /// Days `room`'s messages are kept; `None`: for ever.
    pub fn days_for(&self, room: &str) -> Option<u32> {
        if let Some((_, days)) = self.rules.iter().find(|(name, _)| name == room) {
            return Some(*days);
        }
        self.rules
            .iter()
            .filter(|(name, _)| name.ends_with('-') && room.starts_with(name.as_str()))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, days)| *days)
            .or(self.default)
    }

    /// The time (Unix ms) before which `room`'s messages go, at `now_ms`.
    pub fn cutoff_ms(&self, room: &str, now_ms: u64) -> Option<u64> {
        self.days_for(room)
            .map(|days| now_ms.saturating_sub(u64::from(days) * 86_400_000))
    }
}

pub(super) fn parse_retention(raw: &RawSettings) -> Result<Retention, SettingsError> {
    let Some(text) = raw.get(RETENTION) else {
        return Ok(Retention::default());
    };
    parse_rules(text).map_err(|problem| raw.error(RETENTION, problem))
}

fn parse_rules(text: &str) -> Result<Retention, String> {
    let mut retention = Retention::default();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, days) = match entry.split_once('=') {
            Some((name, days)) => (name.trim(), days.trim()),
            None => ("*", entry),
        };
        let days: u32 = days
            .parse()
            .ok()
            .filter(|d| (1..=MAX_RETENTION_DAYS).contains(d))
            .ok_or_else(|| format!("{entry:?}: the days must be a whole number from 1 to {MAX_RETENTION_DAYS}"))?;
        if name == "*" {
            if retention.default.replace(days).is_some() {
                return Err("names every other room (`*` or a bare number) twice".into());
            }
            continue;
        }
        // a prefix is a room name's beginning: checked as a name without its dash
        let checked = name.strip_suffix('-').unwrap_or(name);
        if ContextName::parse(checked).is_err() || checked.is_empty() {
            return Err(format!(
                "{entry:?}: {name:?} is not a room name or prefix (letters, digits, '-', '_', '.', then '=DAYS')"
            ));
        }
        if retention.rules.iter().any(|(n, _)| n == name) {
            return Err(format!("names {name:?} twice"));
        }
        retention.rules.push((name.to_owned(), days));
    }
    if !retention.is_on() {
        return Err("is set but names no room; leave it unset to keep every message".into());
    }
    Ok(retention)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_get_their_days_the_closest_rule_first() {
        let r = parse_rules("shipment-=365, general=90, shipment-eu-=30, *=730").unwrap();
        assert_eq!(r.days_for("general"), Some(90));
        assert_eq!(r.days_for("general-2"), Some(730), "an exact name is not a prefix");
        assert_eq!(r.days_for("shipment-123"), Some(365));
        assert_eq!(r.days_for("shipment-eu-9"), Some(30), "the longer prefix");
        assert_eq!(r.days_for("random"), Some(730));
        let only = parse_rules("shipment-=365").unwrap();
        assert_eq!(only.days_for("general"), None, "no rule: kept");
        assert_eq!(parse_rules("90").unwrap().days_for("anything"), Some(90));
        assert_eq!(
            parse_rules("general=1").unwrap().cutoff_ms("general", 3 * 86_400_000),
            Some(2 * 86_400_000)
        );
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        for (text, says) in [
            ("general=0", "from 1 to"),
            ("general=ninety", "whole number"),
            ("general=36501", "from 1 to"),
            ("gen eral=3", "not a room name"),
            ("=3", "not a room name"),
            ("90,*=30", "twice"),
            ("general=1,general=2", "twice"),
            (" , ", "names no room"),
        ] {
            let err = parse_rules(text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }
}
