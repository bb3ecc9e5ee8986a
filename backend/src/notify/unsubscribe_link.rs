//! Signed one-click unsubscribe links (part of the notifications feature,
//! issue #14; RFC 8058): a link in every digest that stops e-mail about one
//! room, or about all, without a login. Pure.
//!
//! The link names the identity and the room (`*` for all) and carries an
//! HMAC-SHA256 of both, keyed with a server secret, so nobody can make a
//! link for someone else. Links do not expire (an e-mail may be read weeks
//! later, and RFC 8058 asks that the link keep working); changing the key
//! voids every link sent so far. What a link *does* is the endpoint's: a
//! POST (`List-Unsubscribe=One-Click`) unsubscribes, a GET only shows a
//! confirmation page, because link scanners follow GETs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

use crate::secret::Secret;

/// The path under the API.
pub const PATH: &str = "/v1/notifications/unsubscribe";
/// The room part of a link that stops every e-mail.
const ALL_ROOMS: &str = "*";

/// What a verified link stops: one room, or every room (`context: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub identity: String,
    pub context: Option<String>,
}

/// Makes and checks links with a server secret.
pub struct UnsubscribeKey(hmac::Key);

impl std::fmt::Debug for UnsubscribeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnsubscribeKey([redacted])")
    }
}

/// `value` percent-encoded for a URL's query (unreserved characters kept).
pub fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl UnsubscribeKey {
    pub fn new(secret: &Secret) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes()))
    }

    fn message(identity: &str, room: &str) -> Vec<u8> {
        [b"unsubscribe\0".as_slice(), identity.as_bytes(), &[0], room.as_bytes()].concat()
    }

    /// The link for `target` under the API's base URL.
    pub fn link(&self, api: &str, target: &Target) -> String {
        let room = target.context.as_deref().unwrap_or(ALL_ROOMS);
        let signature = URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, &Self::message(&target.identity, room)));
        format!(
            "{}{PATH}?u={}&c={}&s={signature}",
            api.trim_end_matches('/'),
            percent(&target.identity),
            percent(room)
        )
    }

    /// The target of a link's (already percent-decoded) `u`, `c` and `s`,
    /// if the signature is ours (compared in constant time).
    pub fn verify(&self, identity: &str, room: &str, signature: &str) -> Option<Target> {
        let tag = URL_SAFE_NO_PAD.decode(signature).ok()?;
        hmac::verify(&self.0, &Self::message(identity, room), &tag).ok()?;
        Some(Target {
            identity: identity.to_owned(),
            context: (room != ALL_ROOMS).then(|| room.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> UnsubscribeKey {
        UnsubscribeKey::new(&Secret::new("server secret".into()))
    }

    fn query(link: &str) -> (String, String, String) {
        let query = link.split_once('?').unwrap().1;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).unwrap().1.clone();
        (get("u"), get("c"), get("s"))
    }

    #[test]
    fn a_link_names_its_target_and_only_that() {
        let key = key();
        let room = Target {
            identity: "alice@example.org".into(),
            context: Some("shipment-1".into()),
        };
        let link = key.link("https://api.example/", &room);
        assert!(
            link.starts_with("https://api.example/v1/notifications/unsubscribe?u=alice%40example.org&c=shipment-1&s=")
        );
        let (u, c, s) = query(&link);
        assert_eq!(key.verify(&u, &c, &s), Some(room));
        assert_eq!(key.verify("mallory", &c, &s), None, "another identity");
        assert_eq!(key.verify(&u, "*", &s), None, "a room link does not stop everything");
        assert_eq!(key.verify(&u, &c, "AAAA"), None);
        assert_eq!(key.verify(&u, &c, "not base64!"), None);
        let other = UnsubscribeKey::new(&Secret::new("rotated".into()));
        assert_eq!(other.verify(&u, &c, &s), None, "a new key voids old links");
    }

    #[test]
    fn the_all_rooms_link_stops_everything() {
        let key = key();
        let all = Target {
            identity: "bob".into(),
            context: None,
        };
        let (u, c, s) = query(&key.link("https://api.example", &all));
        assert_eq!(c, "*");
        assert_eq!(key.verify(&u, &c, &s), Some(all));
    }
}
