//! Compact HS256 JWTs with a fixed header: the one encoder and checker the
//! token modules share ([`crate::twilio_token`], [`crate::local_token`]).
//! Pure: no I/O, no clock.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

use crate::secret::Secret;

/// An HMAC-SHA256 signing key.
pub fn key(secret: &Secret) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes())
}

/// `header_b64 . base64url(payload) . base64url(HMAC-SHA256)`.
pub fn sign(key: &hmac::Key, header_b64: &str, payload: &[u8]) -> String {
    let mut jwt = String::with_capacity(header_b64.len() + payload.len() * 4 / 3 + 48);
    jwt.push_str(header_b64);
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut jwt);
    let tag = hmac::sign(key, jwt.as_bytes());
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut jwt);
    jwt
}

/// The payload of `jwt` when its header is exactly `header_b64`, it is at
/// most `max_len` bytes and its signature verifies with `key`.
pub fn verified_payload(key: &hmac::Key, header_b64: &str, jwt: &str, max_len: usize) -> Option<Vec<u8>> {
    if jwt.len() > max_len {
        return None;
    }
    let (input, signature) = jwt.rsplit_once('.')?;
    let (header, payload) = input.split_once('.')?;
    if header != header_b64 {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    hmac::verify(key, input.as_bytes(), &signature).ok()?;
    URL_SAFE_NO_PAD.decode(payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_payloads_verify_only_with_their_key_and_header() {
        let secret = Secret::new("shh".into());
        let jwt = sign(&key(&secret), "aGVhZGVy", b"{\"a\":1}");
        assert_eq!(
            verified_payload(&key(&secret), "aGVhZGVy", &jwt, 1024).as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(
            verified_payload(&key(&Secret::new("other".into())), "aGVhZGVy", &jwt, 1024),
            None
        );
        assert_eq!(verified_payload(&key(&secret), "b3RoZXI", &jwt, 1024), None);
        assert_eq!(verified_payload(&key(&secret), "aGVhZGVy", &jwt, 10), None);
        let tampered = jwt.replacen('.', ".x", 1);
        assert_eq!(verified_payload(&key(&secret), "aGVhZGVy", &tampered, 1024), None);
        assert_eq!(verified_payload(&key(&secret), "aGVhZGVy", "", 1024), None);
    }
}
