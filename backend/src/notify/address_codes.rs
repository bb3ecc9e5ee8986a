//! Confirmation codes for e-mail addresses (part of the notifications
//! feature, issue #14): a person who asks for e-mail at an address the host
//! has not vouched for gets a 6-digit code there, and types it in the
//! window. Pure: the caller supplies the time, the stored record, and how
//! many codes went out in the last hour; the storage keeps records and
//! counts.
//!
//! The rules: a code is valid 10 minutes and once; at most 5 wrong tries,
//! then it is dead and a new one must be asked for; at most 5 codes an hour
//! per identity and 3 per address (so nobody can flood a stranger's inbox
//! or walk the code space). The code itself is never stored: only an
//! HMAC-SHA256 keyed with a server secret over the identity, address and
//! code (an unkeyed hash of a 6-digit code is undone in a moment), compared
//! in constant time.

use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};

use crate::secret::Secret;

/// How long a code is valid.
pub const CODE_TTL_SECS: u64 = 600;
/// Wrong tries before a code is dead.
pub const MAX_WRONG_TRIES: u32 = 5;
/// Codes per identity per hour.
pub const CODES_PER_HOUR_PER_IDENTITY: u32 = 5;
/// Codes per address per hour.
pub const CODES_PER_HOUR_PER_ADDRESS: u32 = 3;

/// What is kept of an issued code (never the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCode {
    pub identity: String,
    pub address: String,
    /// HMAC-SHA256(key, identity ‖ 0 ‖ address ‖ 0 ‖ code).
    pub tag: Vec<u8>,
    pub issued_at: u64,
    pub wrong_tries: u32,
    pub used: bool,
}

/// Codes sent in the last hour, as the storage counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecentCodes {
    pub to_identity: u32,
    pub to_address: u32,
}

/// Why no code is sent now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRefusal {
    TooManyForYou,
    TooManyForAddress,
    /// The system's random source failed (no code rather than a weak one).
    NoRandomness,
}

/// What a typed code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    Confirmed,
    Wrong {
        tries_left: u32,
    },
    /// Too many wrong tries: this code is dead.
    LockedOut,
    Expired,
    AlreadyUsed,
    /// Not six digits.
    Malformed,
}

impl std::fmt::Display for CodeRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooManyForYou => write!(
                f,
                "You asked for {CODES_PER_HOUR_PER_IDENTITY} codes in the last hour. Try again later."
            ),
            Self::TooManyForAddress => write!(
                f,
                "This address got {CODES_PER_HOUR_PER_ADDRESS} codes in the last hour. Try again later."
            ),
            Self::NoRandomness => write!(f, "No code could be made right now. Try again in a moment."),
        }
    }
}

impl std::fmt::Display for CodeOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Confirmed => write!(f, "Address confirmed."),
            Self::Wrong { tries_left: 1 } => write!(f, "That code is not right. 1 try left."),
            Self::Wrong { tries_left } => write!(f, "That code is not right. {tries_left} tries left."),
            Self::LockedOut => write!(f, "Too many wrong tries. Ask for a new code."),
            Self::Expired => write!(f, "That code has expired. Ask for a new one."),
            Self::AlreadyUsed => write!(f, "That code was already used. Ask for a new one."),
            Self::Malformed => write!(f, "The code is the 6 digits in the e-mail."),
        }
    }
}

/// Issues and checks codes with a server secret.
pub struct CodeKey {
    key: hmac::Key,
    rng: SystemRandom,
}

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey([redacted])")
    }
}

impl CodeKey {
    pub fn new(secret: &Secret) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes()),
            rng: SystemRandom::new(),
        }
    }

    fn message(identity: &str, address: &str, code: &str) -> Vec<u8> {
        [identity.as_bytes(), &[0], address.as_bytes(), &[0], code.as_bytes()].concat()
    }

    /// A new code for `identity` at `address`, unless the hour's limits are
    /// reached: the code (to e-mail) and what to store.
    pub fn issue(
        &self,
        identity: &str,
        address: &str,
        now: u64,
        recent: RecentCodes,
    ) -> Result<(String, PendingCode), CodeRefusal> {
        if recent.to_identity >= CODES_PER_HOUR_PER_IDENTITY {
            return Err(CodeRefusal::TooManyForYou);
        }
        if recent.to_address >= CODES_PER_HOUR_PER_ADDRESS {
            return Err(CodeRefusal::TooManyForAddress);
        }
        let code = self.six_digits()?;
        let tag = hmac::sign(&self.key, &Self::message(identity, address, &code))
            .as_ref()
            .to_vec();
        let pending = PendingCode {
            identity: identity.to_owned(),
            address: address.to_owned(),
            tag,
            issued_at: now,
            wrong_tries: 0,
            used: false,
        };
        Ok((code, pending))
    }

    /// A uniform 6-digit code (rejection sampling: no digit is likelier).
    fn six_digits(&self) -> Result<String, CodeRefusal> {
        const LIMIT: u32 = 4_294_000_000; // the largest multiple of 10^6 below 2^32
        loop {
            let mut bytes = [0u8; 4];
            self.rng.fill(&mut bytes).map_err(|_| CodeRefusal::NoRandomness)?;
            let n = u32::from_le_bytes(bytes);
            if n < LIMIT {
                return Ok(format!("{:06}", n % 1_000_000));
            }
        }
    }

    /// Checks a typed code against what was stored, and updates the record
    /// (a wrong try counts, a right one uses the code up).
    pub fn check(&self, pending: &mut PendingCode, typed: &str, now: u64) -> CodeOutcome {
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if typed.len() != 6 || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return CodeOutcome::Malformed;
        }
        if pending.used {
            return CodeOutcome::AlreadyUsed;
        }
        if pending.wrong_tries >= MAX_WRONG_TRIES {
            return CodeOutcome::LockedOut;
        }
        if now >= pending.issued_at.saturating_add(CODE_TTL_SECS) {
            return CodeOutcome::Expired;
        }
        let message = Self::message(&pending.identity, &pending.address, &typed);
        if hmac::verify(&self.key, &message, &pending.tag).is_ok() {
            pending.used = true;
            return CodeOutcome::Confirmed;
        }
        pending.wrong_tries += 1;
        match MAX_WRONG_TRIES - pending.wrong_tries {
            0 => CodeOutcome::LockedOut,
            tries_left => CodeOutcome::Wrong { tries_left },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CodeKey {
        CodeKey::new(&Secret::new("server secret".into()))
    }

    #[test]
    fn a_code_confirms_once_within_ten_minutes() {
        let key = key();
        let (code, mut pending) = key
            .issue("alice", "alice@example.org", 1_000, RecentCodes::default())
            .unwrap();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert!(
            !pending.tag.windows(6).any(|w| w == code.as_bytes()),
            "the code itself is not kept"
        );
        assert_eq!(
            key.check(&mut pending.clone(), &code, 1_000 + CODE_TTL_SECS),
            CodeOutcome::Expired
        );
        assert_eq!(
            key.check(&mut pending, &format!(" {} ", &code), 1_599),
            CodeOutcome::Confirmed
        );
        assert_eq!(key.check(&mut pending, &code, 1_600), CodeOutcome::AlreadyUsed);
    }

    #[test]
    fn five_wrong_tries_kill_the_code() {
        let key = key();
        let (code, mut pending) = key
            .issue("alice", "alice@example.org", 0, RecentCodes::default())
            .unwrap();
        let wrong = if code == "000000" { "000001" } else { "000000" };
        for left in (1..MAX_WRONG_TRIES).rev() {
            assert_eq!(
                key.check(&mut pending, wrong, 10),
                CodeOutcome::Wrong { tries_left: left }
            );
        }
        assert_eq!(key.check(&mut pending, wrong, 10), CodeOutcome::LockedOut);
        assert_eq!(
            key.check(&mut pending, &code, 10),
            CodeOutcome::LockedOut,
            "even the right code, now"
        );
        assert_eq!(key.check(&mut pending, "12345", 10), CodeOutcome::Malformed);
        assert_eq!(key.check(&mut pending, "abcdef", 10), CodeOutcome::Malformed);
    }

    #[test]
    fn a_code_is_bound_to_its_identity_address_and_key() {
        let key = key();
        let (code, pending) = key
            .issue("alice", "alice@example.org", 0, RecentCodes::default())
            .unwrap();
        let mut other_address = PendingCode {
            address: "mallory@example.org".into(),
            ..pending.clone()
        };
        assert_eq!(
            key.check(&mut other_address, &code, 1),
            CodeOutcome::Wrong { tries_left: 4 }
        );
        let other_key = CodeKey::new(&Secret::new("another secret".into()));
        assert_eq!(
            other_key.check(&mut pending.clone(), &code, 1),
            CodeOutcome::Wrong { tries_left: 4 }
        );
    }

    #[test]
    fn the_hours_limits_refuse_with_a_clear_message() {
        let key = key();
        let many_for_you = RecentCodes {
            to_identity: CODES_PER_HOUR_PER_IDENTITY,
            to_address: 0,
        };
        let refusal = key.issue("alice", "a@example.org", 0, many_for_you).unwrap_err();
        assert_eq!(refusal, CodeRefusal::TooManyForYou);
        assert_eq!(
            refusal.to_string(),
            "You asked for 5 codes in the last hour. Try again later."
        );
        let many_for_address = RecentCodes {
            to_identity: 0,
            to_address: CODES_PER_HOUR_PER_ADDRESS,
        };
        assert_eq!(
            key.issue("bob", "a@example.org", 0, many_for_address).unwrap_err(),
            CodeRefusal::TooManyForAddress
        );
    }

    #[test]
    fn codes_are_spread_over_all_six_digits() {
        let key = key();
        let mut first_digits = [0u32; 10];
        for _ in 0..2_000 {
            let (code, _) = key.issue("a", "a@example.org", 0, RecentCodes::default()).unwrap();
            first_digits[usize::from(code.as_bytes()[0] - b'0')] += 1;
        }
        // 2,000 draws: each first digit ~200; a digit never drawn would mean a broken generator
        assert!(first_digits.iter().all(|&n| n > 100), "{first_digits:?}");
    }
}
