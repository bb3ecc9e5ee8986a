//! Compact HS256 JWTs: the one signer and checker the token modules share
//! ([`crate::tokens::twilio_token`], [`crate::tokens::local_token`]). The JWS work (header,
//! base64url, HMAC-SHA256 on aws-lc) is `jsonwebtoken`'s; in front of it
//! this module holds the project's own rules: a size cap before anything
//! is decoded, and a header that must be exactly the one its minter writes.
//! Claims are the caller's (the caller checks times: `now` is an argument
//! here, while the library's own time checks read the system clock).
//! Pure: no I/O, no clock.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::secret::Secret;
use crate::tokens::es256::KeyError;

/// An HMAC-SHA256 key, both ways.
#[derive(Clone)]
pub struct Key {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hs256::Key([redacted])")
    }
}

impl Key {
    /// A key from a secret; an empty secret is refused (configuration treats
    /// an empty setting as missing, so it never gets here from settings).
    pub fn new(secret: &Secret) -> Result<Self, KeyError> {
        let bytes = secret.expose().as_bytes();
        let refused = |_| KeyError("an HMAC secret must not be empty");
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes).map_err(refused)?,
            decoding: DecodingKey::from_secret(bytes).map_err(refused)?,
        })
    }
}

/// `header . claims . HMAC-SHA256`, or `None` if `claims` cannot be written
/// as JSON (plain strings and numbers always can).
pub fn sign(key: &Key, header: &Header, claims: &impl Serialize) -> Option<String> {
    jsonwebtoken::encode(header, claims, &key.encoding).ok()
}

/// The claims of `jwt` when it is at most `max_len` bytes, its header is
/// exactly `header_b64` and its signature verifies with `key`.
pub fn verified_claims<T: DeserializeOwned>(key: &Key, header_b64: &str, jwt: &str, max_len: usize) -> Option<T> {
    if jwt.len() > max_len || jwt.split('.').next() != Some(header_b64) {
        return None;
    }
    jsonwebtoken::decode::<T>(jwt, &key.decoding, &SIGNATURE_ONLY)
        .ok()
        .map(|data| data.claims)
}

/// The library checks the algorithm and the signature, and no claim (the
/// callers check theirs against their own `now`; the library's time checks
/// read the system clock).
static SIGNATURE_ONLY: std::sync::LazyLock<Validation> = std::sync::LazyLock::new(|| {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation
});

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn signed_claims_verify_only_with_their_key_and_header() {
        let key = Key::new(&Secret::new("shh".into())).unwrap();
        let header = Header::new(Algorithm::HS256);
        let jwt = sign(&key, &header, &serde_json::json!({ "a": 1 })).unwrap();
        let header_b64 = jwt.split('.').next().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header_b64).unwrap(),
            br#"{"typ":"JWT","alg":"HS256"}"#
        );
        let claims = |key: &Key, header_b64: &str, jwt: &str, max| {
            verified_claims::<serde_json::Value>(key, header_b64, jwt, max)
        };
        assert_eq!(
            claims(&key, header_b64, &jwt, 1024),
            Some(serde_json::json!({ "a": 1 }))
        );
        let other = Key::new(&Secret::new("other".into())).unwrap();
        assert_eq!(claims(&other, header_b64, &jwt, 1024), None);
        assert_eq!(claims(&key, "b3RoZXI", &jwt, 1024), None);
        assert_eq!(claims(&key, header_b64, &jwt, 10), None);
        let tampered = jwt.replacen('.', ".x", 1);
        assert_eq!(claims(&key, header_b64, &tampered, 1024), None);
        assert_eq!(claims(&key, header_b64, "", 1024), None);
        assert!(Key::new(&Secret::new(String::new())).is_err());
    }
}
