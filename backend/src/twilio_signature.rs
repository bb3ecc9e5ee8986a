//! Twilio's webhook signature (`X-Twilio-Signature`): base64 of
//! HMAC-SHA1, keyed with the account's Auth Token (not the API key
//! secret), over the exact URL Twilio called followed by every POST
//! parameter's name and value, sorted by name. Pure; the contract tests
//! hold it to Twilio's own helper library (`RequestValidator`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

use crate::secret::Secret;

/// What is signed: the URL, then each parameter as name ‖ value, by name.
fn signed_text(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // by name, and values of a repeated name in order (Twilio's libraries do so)
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut text = url.to_owned();
    for (name, value) in sorted {
        text.push_str(name);
        text.push_str(value);
    }
    text
}

fn key(auth_token: &Secret) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.expose().as_bytes())
}

/// The signature Twilio sends for a POST of `params` to `url`.
pub fn sign(auth_token: &Secret, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(hmac::sign(&key(auth_token), signed_text(url, params).as_bytes()))
}

/// Whether `signature` is Twilio's for this request (compared in constant time).
pub fn verify(auth_token: &Secret, url: &str, params: &[(String, String)], signature: &str) -> bool {
    match STANDARD.decode(signature.trim()) {
        Ok(tag) => hmac::verify(&key(auth_token), signed_text(url, params).as_bytes(), &tag).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn parameters_are_signed_sorted_by_name_after_the_url() {
        let p = params(&[("To", "+1"), ("Body", "hi"), ("AccountSid", "AC1")]);
        assert_eq!(
            signed_text("https://a.example/hook?x=1", &p),
            "https://a.example/hook?x=1AccountSidAC1BodyhiTo+1"
        );
    }

    #[test]
    fn only_the_right_token_url_and_parameters_verify() {
        let token = Secret::new("12345".into());
        let p = params(&[("EventType", "onMessageAdded"), ("Body", "hello")]);
        let url = "https://api.example/v1/webhooks/twilio";
        let signature = sign(&token, url, &p);
        assert!(verify(&token, url, &p, &signature));
        assert!(!verify(&Secret::new("other".into()), url, &p, &signature));
        assert!(!verify(&token, "http://api.example/v1/webhooks/twilio", &p, &signature));
        assert!(!verify(
            &token,
            url,
            &params(&[("EventType", "onMessageAdded"), ("Body", "hellO")]),
            &signature
        ));
        assert!(!verify(&token, url, &p, "not base64!"));
        assert!(!verify(&token, url, &p, ""));
    }
}
