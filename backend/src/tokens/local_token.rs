//! Access tokens of the embedded local provider: HS256 JWTs that this
//! server both mints (`/v1/session`, `/v1/token`) and checks (the local
//! provider's WebSocket), signed with the provider's per-process secret.
//! They are not Twilio tokens and do not pretend to be:
//!
//! ```text
//! header  {"alg":"HS256","typ":"JWT"}
//! payload {"sub":"<identity>","dev":"<device>","iat":<now>,"exp":<now+ttl>}
//! ```
//!
//! Pure: no I/O, no clock (`now` is an argument).

use std::fmt;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};

use crate::domain::{AccessToken, DeviceId, Identity};
use crate::secret::Secret;
use crate::tokens::es256::KeyError;
use crate::tokens::hs256;

/// `base64url({"typ":"JWT","alg":"HS256"})`, as `jsonwebtoken` writes it.
const HEADER_B64: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9";

/// Longer strings are refused before any decoding.
const MAX_TOKEN_BYTES: usize = 2 * 1024;

#[derive(Serialize, Deserialize)]
struct Claims<S> {
    sub: S,
    dev: S,
    iat: u64,
    exp: u64,
}

/// Mints and checks local access tokens.
#[derive(Clone)]
pub struct LocalTokenKey {
    key: hs256::Key,
}

impl fmt::Debug for LocalTokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalTokenKey([redacted])")
    }
}

impl LocalTokenKey {
    pub fn new(secret: &Secret) -> Result<Self, KeyError> {
        Ok(Self {
            key: hs256::Key::new(secret)?,
        })
    }

    pub fn mint(&self, identity: &Identity, device: &DeviceId, now: u64, ttl: Duration) -> AccessToken {
        let exp = now.saturating_add(ttl.as_secs());
        let claims = Claims {
            sub: identity.as_str(),
            dev: device.as_str(),
            iat: now,
            exp,
        };
        AccessToken {
            // Signing these plain strings and numbers cannot fail.
            jwt: hs256::sign(&self.key, &Header::new(Algorithm::HS256), &claims).unwrap_or_default(),
            expires_at: exp,
        }
    }

    /// The identity a token grants: its signature, then `exp` (and an `iat`
    /// at most a minute ahead) against `now`.
    pub fn verify(&self, jwt: &str, now: u64) -> Option<Identity> {
        let claims: Claims<String> = hs256::verified_claims(&self.key, HEADER_B64, jwt, MAX_TOKEN_BYTES)?;
        if now >= claims.exp || now + 60 < claims.iat {
            return None;
        }
        Identity::parse(&claims.sub).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;
    const HOUR: Duration = Duration::from_secs(3600);

    fn key(secret: &str) -> LocalTokenKey {
        LocalTokenKey::new(&Secret::new(secret.into())).unwrap()
    }

    #[test]
    fn tokens_verify_with_their_key_until_they_expire() {
        let alice = Identity::parse("alice").unwrap();
        let token = key("shh").mint(&alice, &DeviceId::web(), NOW, HOUR);
        assert_eq!(token.expires_at, NOW + 3600);
        assert_eq!(key("shh").verify(&token.jwt, NOW), Some(alice.clone()));
        assert_eq!(key("shh").verify(&token.jwt, NOW + 3599), Some(alice));
        assert_eq!(key("shh").verify(&token.jwt, NOW + 3600), None, "expired");
        assert_eq!(key("shh").verify(&token.jwt, NOW - 61), None, "issued in the future");
        assert_eq!(key("other").verify(&token.jwt, NOW), None);
        assert_eq!(key("shh").verify("", NOW), None);
    }

    #[test]
    fn header_constant_matches_its_json() {
        use base64::Engine as _;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(HEADER_B64)
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&header).unwrap(),
            serde_json::json!({"alg": "HS256", "typ": "JWT"})
        );
        // and it is what the minter writes
        let token = key("shh").mint(&Identity::parse("a").unwrap(), &DeviceId::web(), NOW, HOUR);
        assert_eq!(token.jwt.split('.').next(), Some(HEADER_B64));
    }
}
