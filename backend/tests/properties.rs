//! Property tests (proptest) of what parses untrusted input: arbitrary
//! input never panics, and what is accepted round-trips. (A binary of its
//! own: its requests, from another thread, would race the API binary's
//! log-capturing test for tracing's callsite cache.) The parsers are
//! single passes over their input (`protocol::shape`, `host_jwt::parse`,
//! the name rules), so their time is linear by construction; the
//! benchmarks time them, tests do not.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use backend::domain::{ContextName, Identity};
use backend::tokens::es256::{KeySet, SigningKey};
use backend::tokens::host_jwt::{self, VerifyOptions};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use proptest::collection::vec;
use proptest::prelude::*;
use protocol::shape::{MAX_DEPTH, ShapeError, check_object};

#[path = "support/mod.rs"]
mod support;

const NOW: u64 = 1_800_000_000;

fn key() -> &'static (SigningKey, KeySet) {
    static KEY: std::sync::OnceLock<(SigningKey, KeySet)> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let key = SigningKey::generate().unwrap();
        let mut keys = KeySet::default();
        keys.insert("k1", key.public_key());
        (key, keys)
    })
}

/// JSON-ish text: the bytes JWT headers and claims are made of, in any order.
fn json_soup() -> impl Strategy<Value = String> {
    vec(
        prop::sample::select(vec![
            "{", "}", "[", "]", "\"", ":", ",", "\\", "alg", "ES256", "kid", "k1", "exp", "sub", "contexts", "1",
            "-1e999", "null", "true", " ", "\u{0}", "é", "jku", "crit",
        ]),
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_text_as_a_token_is_refused_without_panicking(bytes in vec(any::<u8>(), 0..3000)) {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(host_jwt::verify(&text, &key().1, &VerifyOptions::default(), NOW).is_err());
    }

    #[test]
    fn tokens_of_three_parts_with_any_header_and_claims_never_panic(
        header in json_soup(), claims in json_soup(), signed in any::<bool>()
    ) {
        let (signing_key, keys) = key();
        let token = if signed {
            host_jwt::sign_raw(signing_key, header.as_bytes(), claims.as_bytes()).unwrap()
        } else {
            format!("{}.{}.{}", B64.encode(&header), B64.encode(&claims), B64.encode([7u8; 64]))
        };
        // whatever it is, it is an answer, not a panic; and unsigned ones never pass
        let verdict = host_jwt::verify(&token, keys, &VerifyOptions::default(), NOW);
        prop_assert!(signed || verdict.is_err());
    }

    #[test]
    fn signed_claims_round_trip(
        sub in "[a-z0-9][a-z0-9._@+-]{0,40}",
        contexts in vec("[a-z0-9][a-z0-9_-]{0,30}", 0..12),
    ) {
        let (signing_key, keys) = key();
        let token = host_jwt::sign(
            signing_key,
            "k1",
            &serde_json::json!({ "sub": sub, "contexts": contexts, "exp": NOW + 60 }),
        )
        .unwrap();
        let claims = host_jwt::verify(&token, keys, &VerifyOptions::default(), NOW).unwrap();
        prop_assert_eq!(claims.identity.as_str(), sub.as_str());
        let mut unique: Vec<&String> = Vec::new();
        for c in &contexts {
            if !unique.contains(&c) {
                unique.push(c);
            }
        }
        let got: Vec<&str> = claims.contexts.iter().map(ContextName::as_str).collect();
        prop_assert_eq!(got, unique.iter().map(|c| c.as_str()).collect::<Vec<_>>());
        prop_assert_eq!(claims.expires_at, NOW + 60);
    }

    #[test]
    fn names_are_accepted_as_given_or_refused(text in "(?s).{0,200}") {
        if let Ok(identity) = Identity::parse(&text) {
            prop_assert_eq!(identity.as_str(), text.as_str());
            prop_assert_eq!(identity.to_string(), text.clone());
        }
        if let Ok(context) = ContextName::parse(&text) {
            prop_assert_eq!(context.as_str(), text.as_str());
            // serde reads what it writes
            let again: ContextName = serde_json::from_str(&serde_json::to_string(context.as_str()).unwrap()).unwrap();
            prop_assert_eq!(again, context);
        }
    }

    #[test]
    fn names_of_the_documented_form_are_accepted(
        identity in "[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}",
        context in "[a-z0-9][a-z0-9_-]{0,79}",
    ) {
        prop_assert!(Identity::parse(&identity).is_ok());
        prop_assert!(ContextName::parse(&context).is_ok());
    }

    #[test]
    fn the_shape_check_never_panics_and_agrees_with_serde_on_objects(bytes in vec(any::<u8>(), 0..600)) {
        if check_object(&bytes).is_ok()
            && let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            prop_assert!(value.is_object());
        }
    }

    #[test]
    fn json_that_is_not_an_object_is_refused(value in any_json(3)) {
        let text = value.to_string();
        prop_assert_eq!(check_object(text.as_bytes()).is_ok(), value.is_object());
    }

    #[test]
    fn depth_is_refused_exactly_past_the_limit(depth in 1usize..60, key in "[a-z]{1,8}") {
        let text = format!("{}{}", "{\"".to_owned() + &key + "\":", "[".repeat(depth - 1)) + "1" + &"]".repeat(depth - 1) + "}";
        let expected = if depth <= MAX_DEPTH { Ok(()) } else { Err(ShapeError::TooDeep) };
        prop_assert_eq!(check_object(text.as_bytes()), expected);
    }

    #[test]
    fn request_bodies_round_trip(
        token in "[A-Za-z0-9._-]{1,200}",
        context in "[a-z0-9][a-z0-9_-]{0,30}",
        device in proptest::option::of("[A-Za-z0-9_-]{1,40}"),
    ) {
        let body = protocol::SessionRequest { token, context, device_id: device };
        let text = serde_json::to_vec(&body).unwrap();
        prop_assert!(check_object(&text).is_ok());
        prop_assert_eq!(serde_json::from_slice::<protocol::SessionRequest>(&text).unwrap(), body);
    }
}

/// Arbitrary JSON values, nested at most `depth` deep.
fn any_json(depth: u32) -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "(?s).{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 32, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec(("[a-z]{0,6}", inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// One app for every case of the property below, on its own runtime.
fn shared_app() -> &'static (
    tokio::runtime::Runtime,
    support::TestApp,
    support::JwksServer,
    support::StandinServer,
) {
    static APP: std::sync::OnceLock<(
        tokio::runtime::Runtime,
        support::TestApp,
        support::JwksServer,
        support::StandinServer,
    )> = std::sync::OnceLock::new();
    APP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (app, _key, jwks, standin) = runtime.block_on(support::twilio_app());
        (runtime, app, jwks, standin)
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

    /// The request-body reader: any bytes, to either endpoint, get a 4xx
    /// with the error body; never a 5xx, never a panic, and Twilio is not asked.
    #[test]
    fn any_body_gets_a_clear_4xx(
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
        path in proptest::sample::select(vec!["/v1/session", "/v1/token"]),
    ) {
        let (runtime, app, _jwks, standin) = shared_app();
        let answer = runtime.block_on(app.post_raw(path, "application/json", body));
        proptest::prop_assert!(answer.status.is_client_error(), "{} {}", answer.status, answer.json);
        proptest::prop_assert!(answer.json["error"].is_string() && answer.json["message"].is_string());
        proptest::prop_assert_eq!(standin.standin.requests(), 0);
    }
}
