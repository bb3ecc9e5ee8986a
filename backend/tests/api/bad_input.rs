//! Malformed and hostile tokens and requests, as one table: each must get
//! the right 4xx with a small JSON error body that echoes nothing back.

use backend::tokens::es256::SigningKey;
use backend::tokens::host_jwt;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::support::*;

/// One request: path, content type (None: no header), body.
struct Case {
    name: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    bearer: Option<String>,
    status: u16,
    error: &'static str,
}

fn session(name: &'static str, token: &str, context: &str, status: u16, error: &'static str) -> Case {
    let body = json!({ "token": token, "context": context }).to_string().into_bytes();
    Case {
        name,
        path: "/v1/session",
        content_type: Some("application/json"),
        body,
        bearer: None,
        status,
        error,
    }
}

fn raw(
    name: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    error: &'static str,
) -> Case {
    Case {
        name,
        path: "/v1/session",
        content_type,
        body,
        bearer: None,
        status,
        error,
    }
}

fn b64(value: &Value) -> String {
    B64.encode(value.to_string())
}

fn claims() -> Value {
    json!({ "sub": "alice", "contexts": ["general", "shipment-1"], "iat": now(), "exp": now() + 600 })
}

fn with(key: &str, value: Value) -> Value {
    let mut c = claims();
    c[key] = value;
    c
}

fn signed_with_header(key: &HostKey, header: Value, claims: &Value) -> String {
    host_jwt::sign_raw(&key.key, header.to_string().as_bytes(), claims.to_string().as_bytes()).unwrap()
}

fn cases(key: &HostKey) -> Vec<Case> {
    let good = key.token("alice", &["general", "shipment-1"]);
    let (good_input, _) = good.rsplit_once('.').unwrap();
    let header = |extra: Value| {
        let mut h = json!({ "alg": "ES256", "kid": key.kid });
        for (k, v) in extra.as_object().unwrap() {
            h[k] = v.clone();
        }
        h
    };

    // alg none: no signature at all
    let none = format!("{}.{}.", b64(&json!({ "alg": "none", "kid": key.kid })), b64(&claims()));
    // HS256 keyed with the public key's PEM (the classic algorithm confusion)
    let hs_input = format!("{}.{}", b64(&json!({ "alg": "HS256", "kid": key.kid })), b64(&claims()));
    let hs_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.key.public_key().to_pem().as_bytes());
    let hs256 = format!(
        "{hs_input}.{}",
        B64.encode(ring::hmac::sign(&hs_key, hs_input.as_bytes()))
    );
    // psychic signature: r = s = 0
    let zero_sig = format!("{good_input}.{}", B64.encode([0u8; 64]));
    // r = n (the group order), s = 1
    let mut n_sig = hex_order();
    n_sig.extend_from_slice(&[0; 31]);
    n_sig.push(1);
    let order_sig = format!("{good_input}.{}", B64.encode(&n_sig));
    // a token from an untrusted key that claims the trusted kid
    let impostor = HostKey {
        kid: key.kid.clone(),
        key: SigningKey::generate().unwrap(),
    };
    let attacker_jwk = impostor.standard_jwk();
    // the payload swapped after signing
    let (h, rest) = good.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let tampered = format!("{h}.{}.{sig}", b64(&with("sub", json!("admin"))));
    let ten_thousand = vec!["a"; 10_000];
    let dup_claims_payload = format!(
        r#"{{"sub":"alice","contexts":["general"],"sub":"admin","exp":{}}}"#,
        now() + 600
    );
    let dup_claims = host_jwt::sign_raw(
        &key.key,
        header(json!({})).to_string().as_bytes(),
        dup_claims_payload.as_bytes(),
    )
    .unwrap();
    let deep_claim_payload = format!(
        r#"{{"sub":"alice","contexts":["general"],"exp":{},"x":{}1{}}}"#,
        now() + 600,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let deep_claim = host_jwt::sign_raw(
        &key.key,
        header(json!({})).to_string().as_bytes(),
        deep_claim_payload.as_bytes(),
    )
    .unwrap();
    // every field of the claims struct, in order: serde would read it as the object
    let array_claims_payload = format!(r#"["alice",["general"],{},null,null,null,null]"#, now() + 600);
    let array_claims = host_jwt::sign_raw(
        &key.key,
        header(json!({})).to_string().as_bytes(),
        array_claims_payload.as_bytes(),
    )
    .unwrap();
    let array_header = host_jwt::sign_raw(
        &key.key,
        format!(r#"["ES256","{}",null,null,null,null,null]"#, key.kid).as_bytes(),
        claims().to_string().as_bytes(),
    )
    .unwrap();
    let deep_header = host_jwt::sign_raw(
        &key.key,
        format!(
            r#"{{"alg":"ES256","kid":"{}","x":{}1{}}}"#,
            key.kid,
            "[".repeat(1_000),
            "]".repeat(1_000)
        )
        .as_bytes(),
        claims().to_string().as_bytes(),
    )
    .unwrap();

    let mut cases = vec![
        session("alg none", &none, "general", 401, "invalid_token"),
        session(
            "HS256 signed with the public key",
            &hs256,
            "general",
            401,
            "invalid_token",
        ),
        session(
            "ES384 header",
            &signed_with_header(key, json!({ "alg": "ES384", "kid": key.kid }), &claims()),
            "general",
            401,
            "invalid_token",
        ),
        session("r = s = 0", &zero_sig, "general", 401, "invalid_token"),
        session("r = n", &order_sig, "general", 401, "invalid_token"),
        session(
            "unknown kid",
            &signed_with_header(key, header(json!({ "kid": "other-kid" })), &claims()),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "missing kid",
            &signed_with_header(key, json!({ "alg": "ES256" }), &claims()),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "jku header",
            &signed_with_header(key, header(json!({ "jku": "https://evil.example/jwks" })), &claims()),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "x5u header",
            &signed_with_header(key, header(json!({ "x5u": "https://evil.example/cert" })), &claims()),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "embedded jwk header",
            &signed_with_header(&impostor, header(json!({ "jwk": attacker_jwk })), &claims()),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "x5c header",
            &signed_with_header(key, header(json!({ "x5c": ["MIIB"] })), &claims()),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "untrusted key, trusted kid",
            &impostor.token("alice", &["general"]),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "payload tampered after signing",
            &tampered,
            "general",
            401,
            "invalid_token",
        ),
        session(
            "expired",
            &key.sign(&with("exp", json!(now() - 3600))),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "nbf in the future",
            &key.sign(&with("nbf", json!(now() + 3600))),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "iat in the future",
            &key.sign(&with("iat", json!(now() + 3600))),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "no exp",
            &key.sign(&json!({ "sub": "alice", "contexts": ["general"] })),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "missing sub",
            &key.sign(&json!({ "contexts": ["general"], "exp": now() + 60 })),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "empty sub",
            &key.sign(&with("sub", json!(""))),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "huge sub",
            &key.sign(&with("sub", json!("a".repeat(5000)))),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "sub with a colon",
            &key.sign(&with("sub", json!("alice:admin"))),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "contexts not an array",
            &key.sign(&with("contexts", json!("general"))),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "10,000 contexts",
            &key.sign(&with("contexts", json!(ten_thousand))),
            "general",
            401,
            "invalid_token",
        ),
        session(
            "lookalike context in the token",
            &key.sign(&with("contexts", json!(["gen\u{0435}ral"]))),
            "general",
            401,
            "invalid_token",
        ),
        session("duplicate claims", &dup_claims, "general", 401, "invalid_token"),
        session("empty token", "", "general", 401, "invalid_token"),
        session("four-part token", &format!("{good}.x"), "general", 401, "invalid_token"),
        session("padded signature", &format!("{good}="), "general", 401, "invalid_token"),
        session(
            "context not in the token",
            &good,
            "shipment-2",
            403,
            "context_not_allowed",
        ),
        session("uppercase lookalike context", &good, "Shipment-1", 400, "bad_request"),
        session(
            "context with a trailing space",
            &good,
            "shipment-1 ",
            400,
            "bad_request",
        ),
        session(
            "Unicode-hyphen lookalike context",
            &good,
            "shipment\u{2010}1",
            400,
            "bad_request",
        ),
        raw(
            "duplicate JSON keys",
            Some("application/json"),
            format!(r#"{{"token":"{good}","context":"general","context":"shipment-1"}}"#).into_bytes(),
            400,
            "bad_request",
        ),
        raw(
            "trailing garbage",
            Some("application/json"),
            format!(r#"{{"token":"{good}","context":"general"}} {{}}"#).into_bytes(),
            400,
            "bad_request",
        ),
        raw(
            "not JSON",
            Some("application/json"),
            b"token=abc&context=general".to_vec(),
            400,
            "bad_request",
        ),
        raw(
            "JSON array",
            Some("application/json"),
            b"[1,2]".to_vec(),
            400,
            "bad_request",
        ),
        raw(
            "JSON array that reads as the request",
            Some("application/json"),
            format!(r#"["{good}","general"]"#).into_bytes(),
            400,
            "bad_request",
        ),
        Case {
            name: "renewal body that is an array",
            path: "/v1/token",
            content_type: Some("application/json"),
            body: format!(r#"["{good}"]"#).into_bytes(),
            bearer: None,
            status: 400,
            error: "bad_request",
        },
        raw(
            "body nested 5,000 deep in an unknown field",
            Some("application/json"),
            format!(
                r#"{{"token":"{good}","context":"general","x":{}1{}}}"#,
                "[".repeat(5_000),
                "]".repeat(5_000)
            )
            .into_bytes(),
            400,
            "bad_request",
        ),
        session(
            "claims nested 5,000 deep in an extra claim",
            &deep_claim,
            "general",
            401,
            "invalid_token",
        ),
        session(
            "claims set that is an array",
            &array_claims,
            "general",
            401,
            "invalid_token",
        ),
        session(
            "header that is an array",
            &array_header,
            "general",
            401,
            "invalid_token",
        ),
        session(
            "header nested 1,000 deep",
            &deep_header,
            "general",
            401,
            "invalid_token",
        ),
        raw(
            "token is a number",
            Some("application/json"),
            br#"{"token":5,"context":"general"}"#.to_vec(),
            400,
            "bad_request",
        ),
        raw(
            "token is null",
            Some("application/json"),
            br#"{"token":null,"context":"general"}"#.to_vec(),
            400,
            "bad_request",
        ),
        raw(
            "no context",
            Some("application/json"),
            format!(r#"{{"token":"{good}"}}"#).into_bytes(),
            400,
            "bad_request",
        ),
        raw(
            "deviceId with a colon",
            Some("application/json"),
            format!(r#"{{"token":"{good}","context":"general","deviceId":"a:b"}}"#).into_bytes(),
            400,
            "bad_request",
        ),
        raw(
            "wrong content type",
            Some("text/plain"),
            format!(r#"{{"token":"{good}","context":"general"}}"#).into_bytes(),
            415,
            "unsupported_media_type",
        ),
        raw(
            "no content type",
            None,
            format!(r#"{{"token":"{good}","context":"general"}}"#).into_bytes(),
            415,
            "unsupported_media_type",
        ),
        raw(
            "form content type",
            Some("application/x-www-form-urlencoded"),
            b"token=x".to_vec(),
            415,
            "unsupported_media_type",
        ),
        raw(
            "1 MB body",
            Some("application/json"),
            vec![b' '; 1024 * 1024],
            413,
            "payload_too_large",
        ),
        raw(
            "just over 64 KiB",
            Some("application/json"),
            vec![b' '; 64 * 1024 + 1],
            413,
            "payload_too_large",
        ),
        Case {
            name: "renewal with an expired token",
            path: "/v1/token",
            content_type: Some("application/json"),
            body: json!({ "token": key.sign(&with("exp", json!(now() - 3600))) })
                .to_string()
                .into_bytes(),
            bearer: None,
            status: 401,
            error: "invalid_token",
        },
        Case {
            name: "me with a bad token",
            path: "/v1/me",
            content_type: None,
            body: Vec::new(),
            bearer: Some(tampered.clone()),
            status: 401,
            error: "invalid_token",
        },
        Case {
            name: "me with an empty bearer",
            path: "/v1/me",
            content_type: None,
            body: Vec::new(),
            bearer: Some(String::new()),
            status: 401,
            error: "invalid_token",
        },
    ];
    // the moderates claim (issue #30), checked like contexts
    let moderates = [
        ("moderates not an array", json!("general")),
        ("moderates a room not in contexts", json!(["group-public-7"])),
        ("moderates 10,000 rooms", json!(ten_thousand)),
        ("moderates nested", json!([["general"]])),
    ];
    cases.extend(moderates.map(|(name, value)| {
        session(
            name,
            &key.sign(&with("moderates", value)),
            "general",
            401,
            "invalid_token",
        )
    }));
    cases
}

/// The P-256 group order, big-endian.
fn hex_order() -> Vec<u8> {
    let hex = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn every_bad_input_gets_a_clear_4xx() {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let standin = StandinServer::start().await;
    let app = TestApp::new(&twilio_settings(&jwks.url, &standin.url), fast_policies());
    let cases = cases(&key);
    assert!(cases.len() >= 30, "the table must hold at least 30 cases");
    let mut failures = Vec::new();
    for case in cases {
        let answer = if case.path == "/v1/me" {
            app.get(case.path, case.bearer.as_deref()).await
        } else {
            match case.content_type {
                Some(ct) => app.post_raw(case.path, ct, case.body.clone()).await,
                None => {
                    let request = axum::http::Request::builder()
                        .method("POST")
                        .uri(case.path)
                        .body(axum::body::Body::from(case.body.clone()))
                        .unwrap();
                    app.send(request).await
                }
            }
        };
        let body_keys: Vec<&String> = answer.json.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        let message = answer.json["message"].as_str().unwrap_or("");
        let echoed = String::from_utf8_lossy(&case.body)
            .split('"')
            .any(|part| part.len() > 40 && String::from_utf8_lossy(&answer.raw).contains(part));
        let ok = answer.status.as_u16() == case.status
            && answer.json["error"] == case.error
            && body_keys == ["error", "message"]
            && !message.is_empty()
            && answer.raw.len() < 400
            && !echoed;
        if !ok {
            failures.push(format!(
                "{}: expected {} {}, got {} {}",
                case.name,
                case.status,
                case.error,
                answer.status,
                String::from_utf8_lossy(&answer.raw)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    // bad input never reached Twilio
    assert_eq!(standin.standin.requests(), 0);
}
