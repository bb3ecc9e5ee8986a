//! Per-person, per-room reply addresses (reply by e-mail, issue #14): a
//! digest about one room says `Reply-To: reply-<tag>@<reply domain>`, and
//! a reply to that address lands in the room as that person. Pure.
//!
//! The tag is the first 128 bits of an HMAC-SHA256 of (identity, room),
//! keyed with a server secret, in lowercase hex: 32 characters, so the
//! local part stays far below the 64 RFC 5321 allows whatever the
//! identity's length, and survives mail systems that change its case.
//! Nobody can make the address of someone else's room without the key.
//! What the tag stands for is kept by the notifications' store when the
//! digest goes out (the tag alone cannot be turned back into the names);
//! [`ReplyKey::verify`] checks a kept route against its tag again, in
//! constant time, so a route the key did not make is never acted on.

use ring::hmac;

use crate::secret::Secret;

/// What every reply address's local part starts with.
pub const PREFIX: &str = "reply-";
/// Bytes of the HMAC kept in a tag (hex doubles them).
const TAG_BYTES: usize = 16;

/// Makes and checks reply tags with a server secret.
pub struct ReplyKey(hmac::Key);

impl std::fmt::Debug for ReplyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplyKey([redacted])")
    }
}

impl ReplyKey {
    pub fn new(secret: &Secret) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes()))
    }

    /// The tag of (identity, room).
    pub fn tag(&self, identity: &str, context: &str) -> String {
        let message = [b"reply\0".as_slice(), identity.as_bytes(), &[0], context.as_bytes()].concat();
        let mac = hmac::sign(&self.0, &message);
        mac.as_ref()[..TAG_BYTES].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The reply address of (identity, room) at `domain`.
    pub fn address(&self, identity: &str, context: &str, domain: &str) -> String {
        format!("{PREFIX}{}@{domain}", self.tag(identity, context))
    }

    /// Whether `tag` is the tag of (identity, room), compared in constant time.
    pub fn verify(&self, tag: &str, identity: &str, context: &str) -> bool {
        let expected = self.tag(identity, context);
        expected.len() == tag.len()
            && expected
                .bytes()
                .zip(tag.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_lowercase()))
                == 0
    }
}

/// The tag of `address` when it is a reply address at `domain` (both
/// compared without case); `None` for any other address.
pub fn tag_of(address: &str, domain: &str) -> Option<String> {
    let (local, at) = address.trim().rsplit_once('@')?;
    if !at.eq_ignore_ascii_case(domain) {
        return None;
    }
    let local = local.to_ascii_lowercase();
    let tag = local.strip_prefix(PREFIX)?;
    (tag.len() == TAG_BYTES * 2 && tag.bytes().all(|b| b.is_ascii_hexdigit())).then(|| tag.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> ReplyKey {
        ReplyKey::new(&Secret::new(secret.to_owned()))
    }

    #[test]
    fn an_address_names_its_person_and_room_and_nobody_else() {
        let k = key("a server secret of enough length!");
        let address = k.address("alice", "shipment-7", "reply.chat.example");
        assert!(address.starts_with("reply-"));
        let (local, domain) = address.split_once('@').unwrap();
        assert_eq!(domain, "reply.chat.example");
        assert_eq!(local.len(), PREFIX.len() + 32);
        let tag = tag_of(&address, "reply.chat.example").unwrap();
        assert!(k.verify(&tag, "alice", "shipment-7"));
        assert!(!k.verify(&tag, "bob", "shipment-7"));
        assert!(!k.verify(&tag, "alice", "shipment-8"));
        // the separator keeps ("ab", "c") and ("a", "bc") apart
        assert_ne!(k.tag("ab", "c"), k.tag("a", "bc"));
        assert!(!key("another secret of enough length!!").verify(&tag, "alice", "shipment-7"));
    }

    #[test]
    fn case_changes_on_the_way_back_do_not_matter() {
        let k = key("a server secret of enough length!");
        let address = k.address("alice", "general", "reply.chat.example").to_ascii_uppercase();
        let tag = tag_of(&address, "Reply.Chat.Example").unwrap();
        assert!(k.verify(&tag, "alice", "general"));
        assert!(k.verify(&tag.to_ascii_uppercase(), "alice", "general"));
    }

    #[test]
    fn other_addresses_are_not_reply_addresses() {
        let k = key("a server secret of enough length!");
        let tag = k.tag("alice", "general");
        for address in [
            format!("reply-{tag}@elsewhere.example"),
            format!("reply-{}@reply.chat.example", &tag[..31]),
            format!("reply-{tag}0@reply.chat.example"),
            format!("replies-{tag}@reply.chat.example"),
            format!("reply-{}@reply.chat.example", "z".repeat(32)),
            "alice@reply.chat.example".to_owned(),
            "no at sign".to_owned(),
        ] {
            assert_eq!(tag_of(&address, "reply.chat.example"), None, "{address}");
        }
    }
}
