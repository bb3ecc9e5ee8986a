//! [`Secret`]: a string that must never be printed or logged (API key
//! secrets, auth tokens, token signing keys).

use std::fmt;

/// A secret string: `Debug` shows `[redacted]`, and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value, for the one place that needs it (signing, auth headers).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `given` is this secret, in time that does not depend on
    /// where they differ (both are hashed first, so not on their lengths
    /// either).
    pub fn matches(&self, given: &str) -> bool {
        let digest = |k: &str| ring::digest::digest(&ring::digest::SHA256, k.as_bytes());
        let (given, wanted) = (digest(given), digest(&self.0));
        given
            .as_ref()
            .iter()
            .zip(wanted.as_ref())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2".into());
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn matches_only_the_value() {
        let secret = Secret::new("hunter2".into());
        assert!(secret.matches("hunter2"));
        for other in ["", "hunter", "hunter22", "Hunter2", " hunter2"] {
            assert!(!secret.matches(other), "{other:?}");
        }
    }
}
