//! Twilio access tokens: a pure function over (credentials, identity,
//! device, ttl, now), producing exactly what Twilio's official helper
//! libraries produce for an `AccessToken` with one `ChatGrant`:
//!
//! ```text
//! header  {"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}
//! payload {"jti":"<SK…>-<now>","grants":{"identity":…,"chat":{"service_sid":"IS…","endpoint_id":"dachat:<identity>:<device>"}},
//!          "iss":"<SK…>","sub":"<AC…>","nbf":<now>,"exp":<now+ttl>}
//! ```
//!
//! signed with HMAC-SHA256 keyed by the API key secret. The test suite
//! checks this against the `twilio` helper library on the same inputs.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;

use crate::domain::{AccessToken, DeviceId, Identity};
use crate::secret::Secret;
use crate::tokens::es256::KeyError;
use crate::tokens::hs256;

/// Twilio accepts access tokens that live 3 minutes to 24 hours.
pub const MIN_TTL: Duration = Duration::from_secs(3 * 60);
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What a token is signed with and for.
#[derive(Clone)]
pub struct Minter {
    account_sid: String,
    api_key_sid: String,
    chat_service_sid: String,
    key: hs256::Key,
    header: Header,
    ttl_secs: u64,
}

impl fmt::Debug for Minter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minter")
            .field("account_sid", &self.account_sid)
            .field("api_key_sid", &self.api_key_sid)
            .field("chat_service_sid", &self.chat_service_sid)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ChatGrant<'a> {
    service_sid: &'a str,
    endpoint_id: &'a str,
}

#[derive(Serialize)]
struct Grants<'a> {
    identity: &'a str,
    chat: ChatGrant<'a>,
}

#[derive(Serialize)]
struct Payload<'a> {
    jti: &'a str,
    grants: Grants<'a>,
    iss: &'a str,
    sub: &'a str,
    nbf: u64,
    exp: u64,
}

/// The content type Twilio's helper libraries put in the header.
const CONTENT_TYPE: &str = "twilio-fpa;v=1";

impl Minter {
    /// `ttl` must lie within Twilio's range (checked when settings are read).
    pub fn new(
        account_sid: &str,
        api_key_sid: &str,
        api_key_secret: &Secret,
        chat_service_sid: &str,
        ttl: Duration,
    ) -> Result<Self, KeyError> {
        let mut header = Header::new(Algorithm::HS256);
        header.cty = Some(CONTENT_TYPE.to_owned());
        Ok(Self {
            account_sid: account_sid.to_owned(),
            api_key_sid: api_key_sid.to_owned(),
            chat_service_sid: chat_service_sid.to_owned(),
            key: hs256::Key::new(api_key_secret)?,
            header,
            ttl_secs: ttl.as_secs(),
        })
    }

    pub fn mint(&self, identity: &Identity, device: &DeviceId, now: u64) -> AccessToken {
        let endpoint_id = format!("dachat:{identity}:{device}");
        let jti = format!("{}-{now}", self.api_key_sid);
        let exp = now + self.ttl_secs;
        let payload = Payload {
            jti: &jti,
            grants: Grants {
                identity: identity.as_str(),
                chat: ChatGrant {
                    service_sid: &self.chat_service_sid,
                    endpoint_id: &endpoint_id,
                },
            },
            iss: &self.api_key_sid,
            sub: &self.account_sid,
            nbf: now,
            exp,
        };
        // Signing these plain strings and numbers cannot fail.
        let jwt = hs256::sign(&self.key, &self.header, &payload).unwrap_or_default();
        AccessToken { jwt, expires_at: exp }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minter() -> Minter {
        Minter::new(
            "AC00000000000000000000000000000000",
            "SK00000000000000000000000000000000",
            &Secret::new("shh".to_owned()),
            "IS00000000000000000000000000000000",
            Duration::from_secs(3600),
        )
        .unwrap()
    }

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_header_is_the_helper_libraries() {
        let token = minter().mint(&Identity::parse("a").unwrap(), &DeviceId::web(), 1_700_000_000);
        assert_eq!(
            decode(token.jwt.split('.').next().unwrap()),
            serde_json::json!({"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"})
        );
    }

    #[test]
    fn token_carries_the_chat_grant_and_is_signed_with_the_secret() {
        let token = minter().mint(
            &Identity::parse("alice").unwrap(),
            &DeviceId::parse("d1").unwrap(),
            1_700_000_000,
        );
        assert_eq!(token.expires_at, 1_700_003_600);
        let parts: Vec<&str> = token.jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode(parts[1]),
            serde_json::json!({
                "jti": "SK00000000000000000000000000000000-1700000000",
                "grants": {"identity": "alice", "chat": {
                    "service_sid": "IS00000000000000000000000000000000",
                    "endpoint_id": "dachat:alice:d1"}},
                "iss": "SK00000000000000000000000000000000",
                "sub": "AC00000000000000000000000000000000",
                "nbf": 1_700_000_000u64,
                "exp": 1_700_003_600u64,
            })
        );
        // the HMAC is checked independently of jsonwebtoken, with ring
        use ring::hmac;
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"shh");
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert!(hmac::verify(&key, format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).is_ok());
        let wrong = hmac::Key::new(hmac::HMAC_SHA256, b"other");
        assert!(hmac::verify(&wrong, format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).is_err());
    }
}
