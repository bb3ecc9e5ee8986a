//! Twilio's webhook signature (`X-Twilio-Signature`): base64 of
//! HMAC-SHA1, keyed with the account's Auth Token (not the API key
//! secret), over the exact URL Twilio called followed by every POST
//! parameter's name and value, sorted by name; for a JSON body, the URL
//! alone, whose `bodySHA256` query parameter covers the body. Pure; the
//! contract tests hold it to Twilio's own helper library
//! (`RequestValidator`).

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

/// Whether `signature` is Twilio's for a form POST of `params` to `url`
/// (compared in constant time). Twilio may have signed the URL with or
/// without the scheme's default port, so both forms are tried, as its
/// helper libraries do.
pub fn verify(auth_token: &Secret, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(tag) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let key = key(auth_token);
    url_forms(url)
        .iter()
        .any(|form| hmac::verify(&key, signed_text(form, params).as_bytes(), &tag).is_ok())
}

/// Whether `signature` is Twilio's for a JSON POST of `body` to `url`: the
/// URL (whose query carries `bodySHA256`, the hex SHA-256 of the body) is
/// signed with no parameters, and the body must match that hash.
pub fn verify_json(auth_token: &Secret, url: &str, body: &[u8], signature: &str) -> bool {
    let Some(claimed) = query_value(url, "bodySHA256") else {
        return false;
    };
    // the hash is public; only the signature needs a constant-time check
    body_sha256(body).eq_ignore_ascii_case(&claimed) && verify(auth_token, url, &[], signature)
}

/// The `bodySHA256` of a JSON body: its SHA-256, in lowercase hex.
pub fn body_sha256(body: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `url` as given, and with the default port added (when it has none) or
/// removed (when it is the scheme's default).
fn url_forms(url: &str) -> Vec<String> {
    let mut forms = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return forms;
    };
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return forms,
    };
    let (authority, path) = rest.find(['/', '?']).map_or((rest, ""), |at| rest.split_at(at));
    match authority.rsplit_once(':') {
        Some((host, port)) if port == default_port => forms.push(format!("{scheme}://{host}{path}")),
        Some(_) => {}
        None => forms.push(format!("{scheme}://{authority}:{default_port}{path}")),
    }
    forms
}

/// The (undecoded) value of `name` in `url`'s query.
fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
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

    #[test]
    fn a_url_signed_with_or_without_the_default_port_verifies() {
        let token = Secret::new("12345".into());
        let p = params(&[("EventType", "onMessageAdded")]);
        let with_port = sign(&token, "https://api.example:443/v1/webhooks/twilio?a=1", &p);
        assert!(verify(
            &token,
            "https://api.example/v1/webhooks/twilio?a=1",
            &p,
            &with_port
        ));
        let without = sign(&token, "https://api.example/v1/webhooks/twilio", &p);
        assert!(verify(
            &token,
            "https://api.example:443/v1/webhooks/twilio",
            &p,
            &without
        ));
        // another port is another URL
        assert!(!verify(
            &token,
            "https://api.example:8443/v1/webhooks/twilio",
            &p,
            &without
        ));
        assert_eq!(
            url_forms("http://127.0.0.1:8080/x"),
            ["http://127.0.0.1:8080/x"],
            "a non-default port has one form"
        );
    }

    #[test]
    fn a_json_body_is_covered_by_its_hash_in_the_signed_url() {
        let token = Secret::new("12345".into());
        let body = br#"{"EventType":"onMessageAdded"}"#;
        let url = format!(
            "https://api.example/v1/webhooks/twilio?bodySHA256={}",
            body_sha256(body)
        );
        let signature = sign(&token, &url, &[]);
        assert!(verify_json(&token, &url, body, &signature));
        assert!(
            !verify_json(&token, &url, br#"{"EventType":"onMessageRemoved"}"#, &signature),
            "another body"
        );
        assert!(
            !verify_json(&token, "https://api.example/v1/webhooks/twilio", body, &signature),
            "no hash"
        );
    }
}
