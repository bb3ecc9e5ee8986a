//! The one definition of an e-mail address DAChat takes, and the forms it is
//! kept and counted in (issue #32).
//!
//! An address is taken only when every mailer on its way takes it: lettre
//! (local SMTP) and SendGrid. So the rule is stricter than RFC 5322: a
//! dot-atom local part of at most 64 bytes (letters, digits and
//! ``!#$%&'*+-/=?^_`{|}~``, no leading, trailing or doubled dot; no quoted
//! strings, comments or colons), `@`, and a host name of at least two
//! labels of ASCII letters, digits and hyphens (IDN as `xn--`; no domain
//! literal, no trailing dot), at most 254 bytes in all. A test in the cli
//! crate checks that lettre takes everything this takes.
//!
//! Two forms:
//! - [`EmailAddress::as_str`], what is stored and sent to: lowercased.
//!   Domains are case-insensitive by definition, and no mailbox provider in
//!   use treats local parts by case, so `X@Example.org` and `x@example.org`
//!   are one address in every table.
//! - [`EmailAddress::mailbox`], what limits count by: also without a `+tag`
//!   (sub-addressing: Gmail, Outlook, Fastmail, Proton, iCloud…) and, at
//!   Gmail, without dots (`googlemail.com` is `gmail.com`). It collapses more
//!   than some providers do, which is the safe side for a limit; it is never
//!   used to skip a confirmation (that would take `a+1@` as proof of `a+2@`).
//!
//! Checked before anything is counted, stored or sent: a client's address
//! can only ever get a 400 with the reason, never a 5xx from a mailer.

use std::fmt;

/// The longest address (RFC 5321's path limit less the angle brackets).
pub const MAX_ADDRESS_BYTES: usize = 254;
/// The longest local part (RFC 5321).
pub const MAX_LOCAL_BYTES: usize = 64;
/// The longest label of a host name.
const MAX_LABEL_BYTES: usize = 63;

/// A checked e-mail address, lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// Why a text is not an address, in words for the person who typed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressError {
    Empty,
    NoAt,
    TooLong,
    LocalTooLong,
    /// A character the local part cannot hold (spaces, quotes, brackets,
    /// parentheses, a colon, a comma, non-ASCII…).
    LocalCharacter,
    /// A dot at the start or end of the local part, or two in a row.
    LocalDots,
    /// Not a host name: a domain literal, a trailing dot, an empty or
    /// over-long label, a hyphen at a label's edge, one label only, a
    /// numeric top-level label, or a character other than letters, digits,
    /// hyphens and dots.
    Domain,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "Type the e-mail address to send to.",
            Self::NoAt => "That is not an e-mail address (name@example.org).",
            Self::TooLong => "That e-mail address is too long (at most 254 characters).",
            Self::LocalTooLong => "The part before @ is too long (at most 64 characters).",
            Self::LocalCharacter => {
                "The part before @ may hold only letters, digits, dots and !#$%&'*+-/=?^_`{|}~ (no spaces, quotes, brackets or colons)."
            }
            Self::LocalDots => "The part before @ cannot start or end with a dot, or have two dots in a row.",
            Self::Domain => {
                "The part after @ must be a domain name such as example.org (letters, digits, hyphens and dots; no trailing dot)."
            }
        })
    }
}

impl std::error::Error for AddressError {}

/// The characters of a dot-atom's atoms besides ASCII letters and digits.
const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~";

impl EmailAddress {
    /// Checks `text` (surrounding white space ignored) and lowercases it.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AddressError::Empty);
        }
        let (local, domain) = text.rsplit_once('@').ok_or(AddressError::NoAt)?;
        if text.len() > MAX_ADDRESS_BYTES {
            return Err(AddressError::TooLong);
        }
        if local.is_empty() {
            return Err(AddressError::NoAt);
        }
        if local.len() > MAX_LOCAL_BYTES {
            return Err(AddressError::LocalTooLong);
        }
        if !local
            .bytes()
            .all(|b| b == b'.' || b.is_ascii_alphanumeric() || ATEXT.as_bytes().contains(&b))
        {
            return Err(AddressError::LocalCharacter);
        }
        if local.split('.').any(str::is_empty) {
            return Err(AddressError::LocalDots);
        }
        if !is_host_name(domain) {
            return Err(AddressError::Domain);
        }
        Ok(Self(text.to_ascii_lowercase()))
    }

    /// The address as stored and sent to (lowercased).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mailbox this address delivers to, as limits count it: no
    /// `+tag`, and at Gmail no dots and one domain.
    pub fn mailbox(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", &self.0));
        let local = local.split('+').next().unwrap_or(local);
        match domain {
            "gmail.com" | "googlemail.com" => format!("{}@gmail.com", local.replace('.', "")),
            _ => format!("{local}@{domain}"),
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A host name of two labels or more (letters, digits, inner hyphens),
/// whose last label is not all digits (that would be an IP address).
fn is_host_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= MAX_LABEL_BYTES
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_are_taken_and_lowercased() {
        for (typed, kept) in [
            (" bob@example.org ", "bob@example.org"),
            ("Bob.Smith@Example.ORG", "bob.smith@example.org"),
            ("o'neil+chat@mail.example.co.uk", "o'neil+chat@mail.example.co.uk"),
            ("x@xn--80ak6aa92e.com", "x@xn--80ak6aa92e.com"),
            ("a_b-c{d}~e@sub-domain.example", "a_b-c{d}~e@sub-domain.example"),
        ] {
            assert_eq!(EmailAddress::parse(typed).unwrap().as_str(), kept, "{typed}");
        }
        let longest_local = format!("{}@example.org", "a".repeat(64));
        assert!(EmailAddress::parse(&longest_local).is_ok());
    }

    #[test]
    fn what_a_mailer_refuses_is_refused_here_with_the_reason() {
        use AddressError::*;
        let long_domain = format!("a@{}.org", vec!["b".repeat(60); 5].join("."));
        let long_local = format!("{}@example.org", "a".repeat(65));
        for (bad, why) in [
            ("", Empty),
            ("   ", Empty),
            ("bob", NoAt),
            ("@example.org", NoAt),
            ("bob@", Domain),
            ("bob@example", Domain),
            ("a..b@x.org", LocalDots),
            (".a@x.org", LocalDots),
            ("a.@x.org", LocalDots),
            ("a(comment)@x.org", LocalCharacter),
            ("a:b@x.org", LocalCharacter),
            ("\"a b\"@x.org", LocalCharacter),
            ("a b@example.org", LocalCharacter),
            ("a@b@example.org", LocalCharacter),
            ("<a@example.org>", LocalCharacter),
            ("a@example.org,b@example.org", LocalCharacter),
            ("a\r\nBcc: x@y.org@example.org", LocalCharacter),
            ("jos\u{e9}@example.org", LocalCharacter),
            ("a@[127.0.0.1]", Domain),
            ("a@[IPv6:::1]", Domain),
            ("a@127.0.0.1", Domain),
            ("a@example.org.", Domain),
            ("a@.example.org", Domain),
            ("a@example..org", Domain),
            ("a@-example.org", Domain),
            ("a@example-.org", Domain),
            ("a@exa_mple.org", Domain),
            ("a@b\u{fc}cher.example", Domain),
            ("a@example.org>", Domain),
            (long_local.as_str(), LocalTooLong),
            (long_domain.as_str(), TooLong),
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(why), "{bad:?}");
            assert!(!why.to_string().is_empty());
        }
    }

    #[test]
    fn spellings_of_one_mailbox_count_as_one() {
        let mailbox = |a: &str| EmailAddress::parse(a).unwrap().mailbox();
        assert_eq!(mailbox("x@EXAMPLE.org"), mailbox("x@example.org"));
        assert_eq!(mailbox("X@example.org"), "x@example.org");
        assert_eq!(mailbox("x+one@example.org"), "x@example.org");
        assert_eq!(mailbox("x+one+two@example.org"), "x@example.org");
        assert_eq!(mailbox("F.Red+aid@GoogleMail.com"), "fred@gmail.com");
        assert_eq!(mailbox("fred@gmail.com"), "fred@gmail.com");
        // dots matter elsewhere
        assert_eq!(mailbox("f.red@example.org"), "f.red@example.org");
        assert_ne!(mailbox("x@example.org"), mailbox("y@example.org"));
        assert_ne!(mailbox("x@example.org"), mailbox("x@example.net"));
    }
}
