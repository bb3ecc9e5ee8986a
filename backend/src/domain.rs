//! Validated domain values: `Identity`, `ContextName`, `DeviceId`; and
//! `AccessToken`, the chat token a session hands the widget.
//!
//! Every value that comes from a host token or a request is parsed into one
//! of these types once, at the boundary; the rest of the code can then rely
//! on the rules below without re-checking them. Matching is exact: no case
//! folding, no Unicode normalisation, no trimming.
//!
//! | type | length (bytes) | characters |
//! | --- | --- | --- |
//! | `Identity` | 1..=128 | ASCII letters, digits and `. _ - @ +`; the first is a letter or digit |
//! | `ContextName` | 1..=80 | lowercase ASCII letters, digits, `-` and `_`; the first is a letter or digit |
//! | `DeviceId` | 1..=64 | ASCII letters, digits, `-` and `_` |
//!
//! A token may list at most [`MAX_CONTEXTS`] contexts.
//!
//! The character sets keep every value safe to place in a URL path segment,
//! a Twilio `endpoint_id` (`dachat:<identity>:<deviceId>`, so `:` is never
//! allowed), a log line and an HTML attribute, and they rule out lookalikes:
//! `Shipment-1`, `shipment‐1` (a Unicode hyphen) or `shipment-1 ` are not
//! valid context names, so they can never be confused with `shipment-1`.

use std::fmt;

/// The most contexts a host token may list.
pub const MAX_CONTEXTS: usize = 100;

/// Why a value was refused; the message names the rule that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    pub what: &'static str,
    pub reason: &'static str,
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.what, self.reason)
    }
}

impl std::error::Error for InvalidValue {}

fn check(
    what: &'static str,
    value: &str,
    max_len: usize,
    first: fn(u8) -> bool,
    rest: fn(u8) -> bool,
) -> Result<(), InvalidValue> {
    let bytes = value.as_bytes();
    let fail = |reason| Err(InvalidValue { what, reason });
    match bytes.first() {
        None => fail("is empty"),
        Some(_) if bytes.len() > max_len => fail("is too long"),
        Some(&b) if !first(b) => fail("must start with a letter or digit"),
        Some(_) if !bytes.iter().all(|&b| rest(b)) => fail("contains a character that is not allowed"),
        Some(_) => Ok(()),
    }
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $what:literal, $max:expr, $first:expr, $rest:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The longest accepted value, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Accepts `value` if it follows this type's rules (see the module docs).
            pub fn parse(value: &str) -> Result<Self, InvalidValue> {
                check($what, value, Self::MAX_LEN, $first, $rest)?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

string_newtype!(
    /// A user as the host names them (the host JWT's `sub`); also the Twilio identity.
    Identity,
    "identity",
    128,
    alnum,
    |b| alnum(b) || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+')
);

string_newtype!(
    /// A chat room, e.g. `general`, `shipment-<uuid>`, `group-private-<id>`;
    /// also the Twilio conversation's `UniqueName`.
    ContextName,
    "context",
    80,
    lower_alnum,
    |b| lower_alnum(b) || matches!(b, b'-' | b'_')
);

string_newtype!(
    /// One browser or device of a user; part of the Twilio `endpoint_id`.
    DeviceId,
    "deviceId",
    64,
    alnum,
    |b| alnum(b) || matches!(b, b'-' | b'_')
);

impl DeviceId {
    /// The device id used when a request does not name one.
    pub fn web() -> Self {
        Self("web".to_owned())
    }
}

/// A minted chat access token and when it stops being valid (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub jwt: String,
    pub expires_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_context(input: &str, ok: bool) {
        assert_eq!(ContextName::parse(input).is_ok(), ok, "context {input:?}");
    }

    #[test]
    fn context_names() {
        for good in [
            "general",
            "shipment-3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "group-private-42",
            "group-public-7",
            "a",
            "x_y",
            &"a".repeat(80),
        ] {
            check_context(good, true);
        }
        for bad in [
            "",
            " general",
            "general ",
            "General",
            "shipment\u{2010}1", // Unicode hyphen
            "shipm\u{435}nt-1",  // Cyrillic e
            "general\u{200b}",   // zero-width space
            "-general",
            "_general",
            "a/b",
            "..",
            "a:b",
            "a.b",
            "gen%65ral",
            &"a".repeat(81),
        ] {
            check_context(bad, false);
        }
    }

    #[test]
    fn identities() {
        for good in ["alice", "alice@example.org", "user+tag.x_y-z", "0", &"a".repeat(128)] {
            assert!(Identity::parse(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            ".",
            "..",
            "-a",
            "a:b",
            "a b",
            "a/b",
            "al\u{00ef}ce",
            &"a".repeat(129),
        ] {
            assert!(Identity::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn device_ids() {
        assert!(DeviceId::parse("3fa85f64-5717").is_ok());
        assert!(DeviceId::parse("a:b").is_err());
        assert!(DeviceId::parse(&"a".repeat(65)).is_err());
        assert_eq!(DeviceId::web().as_str(), "web");
    }

    #[test]
    fn errors_name_the_value_and_the_rule() {
        let err = ContextName::parse("").unwrap_err();
        assert_eq!(err.to_string(), "context is empty");
        let err = Identity::parse("a b").unwrap_err();
        assert_eq!(err.to_string(), "identity contains a character that is not allowed");
    }

    #[test]
    fn deserialize_validates() {
        let ok: ContextName = serde_json::from_str("\"general\"").unwrap();
        assert_eq!(ok.as_str(), "general");
        assert!(serde_json::from_str::<ContextName>("\"Gen\"").is_err());
    }
}
