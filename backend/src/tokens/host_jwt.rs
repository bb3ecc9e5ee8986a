//! Verification of the host's JWT: a pure function over (keys, token, now).
//!
//! The rules, in the order they are applied:
//! 1. at most [`MAX_TOKEN_LEN`] bytes, three base64url parts (no padding);
//! 2. header: a JSON object nested at most [`protocol::shape::MAX_DEPTH`]
//!    deep; `alg` exactly `ES256`; `kid` present; `jku`, `x5u`, `jwk`,
//!    `x5c` and `crit` absent (keys come only from the configured JWKS);
//! 3. the key is chosen by exact `kid` ([`UnverifiedToken::kid`]);
//! 4. the signature is the raw 64-byte `r ‖ s` with `0 < r, s < n`
//!    (checked here explicitly, and again by aws-lc), verified by
//!    `jsonwebtoken` before the payload is even decoded;
//! 5. claims: a JSON object nested at most [`protocol::shape::MAX_DEPTH`]
//!    deep (claims the service ignores included); `exp` required, `nbf` and `iat` honoured, each with
//!    `leeway` seconds (at most [`MAX_LEEWAY_SECS`]); `iss` and `aud`
//!    compared exactly when configured; `sub` is an [`Identity`] and
//!    `contexts` an array of at most [`MAX_CONTEXTS`] [`ContextName`]s
//!    (duplicates are dropped, order kept). Duplicate claim names are refused.
//!
//! Over 600 lines: ~320 of code and the rest its unit tests, one per rule above; kept together so each rule sits by its test.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::IgnoredAny;

use protocol::shape::{ShapeError, check_object};

use crate::domain::{ContextName, Identity, MAX_CONTEXTS};
use crate::tokens::es256::{KeySet, PublicKey, SigningKey};

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// The most clock leeway the verifier allows, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 60;

/// The order `n` of the P-256 group, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// What the verifier checks besides the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway_secs: u64,
    /// Take tokens of the dev-extras token API ([`DEV_TOKEN_ISSUER`]);
    /// off unless the stage sets `chat/acceptDevTokens`.
    pub accept_dev_tokens: bool,
}

/// The issuer of the tokens the dev-extras stack mints: refused unless
/// the stage accepts dev tokens, whatever key signed them.
pub const DEV_TOKEN_ISSUER: &str = "dachat-dev-extras";

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            leeway_secs: 30,
            accept_dev_tokens: false,
        }
    }
}

/// The verified facts of a host token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostClaims {
    pub identity: Identity,
    pub contexts: Vec<ContextName>,
    /// The rooms the host names them a moderator of (`moderates`): a
    /// subset of `contexts`, empty when the claim is absent.
    pub moderates: Vec<ContextName>,
    /// Unix seconds.
    pub expires_at: u64,
    /// The `email` claim, only when the host vouches for it
    /// (`email_verified: true`) and it is a string; not yet checked to be
    /// an address.
    pub verified_email: Option<String>,
}

impl HostClaims {
    pub fn allows(&self, context: &ContextName) -> bool {
        self.contexts.contains(context)
    }

    /// Whether the host names them a moderator of `context`.
    pub fn moderates(&self, context: &ContextName) -> bool {
        self.moderates.contains(context)
    }
}

/// Why a token was refused. Every variant means "401"; the message is safe
/// to show to the client (it never echoes the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTokenError {
    TooLarge,
    Malformed(&'static str),
    UnsupportedAlgorithm,
    MissingKid,
    ForbiddenHeader,
    UnknownKid,
    BadSignature,
    Expired,
    NotYetValid,
    IssuedInFuture,
    WrongIssuer,
    /// A dev-extras token on a stage that does not accept them.
    DevTokenRefused,
    WrongAudience,
    InvalidClaim(String),
}

impl fmt::Display for HostTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => write!(f, "token is larger than {MAX_TOKEN_LEN} bytes"),
            Self::Malformed(what) => write!(f, "token is malformed: {what}"),
            Self::UnsupportedAlgorithm => f.write_str("token algorithm must be ES256"),
            Self::MissingKid => f.write_str("token header has no kid"),
            Self::ForbiddenHeader => {
                f.write_str("token header names its own key (jku, x5u, jwk, x5c or crit), which is not accepted")
            }
            Self::UnknownKid => f.write_str("token is signed with a key the host does not publish"),
            Self::BadSignature => f.write_str("token signature is not valid"),
            Self::Expired => f.write_str("token has expired"),
            Self::NotYetValid => f.write_str("token is not valid yet"),
            Self::IssuedInFuture => f.write_str("token is issued in the future"),
            Self::WrongIssuer => f.write_str("token issuer is not accepted"),
            Self::DevTokenRefused => {
                f.write_str("token is a dev token (issuer dachat-dev-extras), which this stage does not accept")
            }
            Self::WrongAudience => f.write_str("token audience is not accepted"),
            Self::InvalidClaim(what) => write!(f, "token claims are invalid: {what}"),
        }
    }
}

impl std::error::Error for HostTokenError {}

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    jku: Option<IgnoredAny>,
    x5u: Option<IgnoredAny>,
    jwk: Option<IgnoredAny>,
    x5c: Option<IgnoredAny>,
    crit: Option<IgnoredAny>,
}

/// A token whose header has been checked but whose signature has not.
#[derive(Debug)]
pub struct UnverifiedToken<'a> {
    kid: String,
    token: &'a str,
    payload_b64: &'a str,
}

/// Checks the form and header of `token` (rules 1 and 2).
pub fn parse(token: &str) -> Result<UnverifiedToken<'_>, HostTokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(HostTokenError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HostTokenError::Malformed("it must have three dot-separated parts"));
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| HostTokenError::Malformed("header is not base64url"))?;
    check_object(&header_json).map_err(|e| {
        HostTokenError::Malformed(match e {
            ShapeError::NotAnObject => "header is not a JSON object",
            ShapeError::TooDeep => "header nests too deep",
        })
    })?;
    let header: Header =
        serde_json::from_slice(&header_json).map_err(|_| HostTokenError::Malformed("header is not a JSON object"))?;
    if header.alg.as_deref() != Some("ES256") {
        return Err(HostTokenError::UnsupportedAlgorithm);
    }
    if header.jku.is_some()
        || header.x5u.is_some()
        || header.jwk.is_some()
        || header.x5c.is_some()
        || header.crit.is_some()
    {
        return Err(HostTokenError::ForbiddenHeader);
    }
    let kid = header.kid.filter(|k| !k.is_empty()).ok_or(HostTokenError::MissingKid)?;
    let signature_bytes = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| HostTokenError::Malformed("signature is not base64url"))?;
    let signature: [u8; 64] = signature_bytes.try_into().map_err(|_| HostTokenError::BadSignature)?;
    if !scalar_in_range(&signature[..32]) || !scalar_in_range(&signature[32..]) {
        return Err(HostTokenError::BadSignature);
    }
    Ok(UnverifiedToken {
        kid,
        token,
        payload_b64,
    })
}

/// `0 < v < n` for a 32-byte big-endian scalar.
fn scalar_in_range(v: &[u8]) -> bool {
    v.iter().any(|&b| b != 0) && v < &P256_ORDER[..]
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    contexts: Option<Vec<String>>,
    moderates: Option<Vec<String>>,
    exp: Option<serde_json::Number>,
    nbf: Option<serde_json::Number>,
    iat: Option<serde_json::Number>,
    iss: Option<String>,
    aud: Option<Audience>,
    // Optional and informative: a malformed one is ignored, not refused.
    email: Option<serde_json::Value>,
    email_verified: Option<serde_json::Value>,
}

fn numeric_date(name: &str, n: &serde_json::Number) -> Result<u64, HostTokenError> {
    if let Some(v) = n.as_u64() {
        return Ok(v);
    }
    match n.as_f64() {
        Some(v) if v.is_finite() && v >= 0.0 && v < u64::MAX as f64 => Ok(v as u64),
        _ => Err(HostTokenError::InvalidClaim(format!("{name} is not a date"))),
    }
}

impl UnverifiedToken<'_> {
    /// The `kid` the key must be chosen by.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Checks the signature with `key` (`jsonwebtoken`, on aws-lc), then
    /// the claims (rules 4 and 5): the payload is decoded only once the
    /// signature holds, checked for its shape before serde reads it, and
    /// [`check_claims`] applies the claim rules against `now` (the
    /// library's own claim checks read the system clock and refuse the
    /// fractional dates RFC 7519 allows, so they are not used).
    pub fn verify(self, key: &PublicKey, options: &VerifyOptions, now: u64) -> Result<HostClaims, HostTokenError> {
        // `parse` saw three parts, so the signature is after the last dot
        let (signing_input, signature_b64) = self.token.rsplit_once('.').ok_or(HostTokenError::BadSignature)?;
        let verified = jsonwebtoken::crypto::verify(
            signature_b64,
            signing_input.as_bytes(),
            &key.decoding_key(),
            Algorithm::ES256,
        );
        if !verified.unwrap_or(false) {
            return Err(HostTokenError::BadSignature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(self.payload_b64)
            .map_err(|_| HostTokenError::Malformed("payload is not base64url"))?;
        check_object(&payload).map_err(|e| HostTokenError::InvalidClaim(format!("the claims set {e}")))?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|e| {
            HostTokenError::InvalidClaim(if e.to_string().starts_with("duplicate field") {
                "a claim appears twice".to_owned()
            } else {
                "payload is not a JSON object of the expected claims".to_owned()
            })
        })?;
        check_claims(claims, options, now)
    }
}

fn check_claims(claims: Claims, options: &VerifyOptions, now: u64) -> Result<HostClaims, HostTokenError> {
    let leeway = options.leeway_secs.min(MAX_LEEWAY_SECS);
    let exp = numeric_date(
        "exp",
        claims
            .exp
            .as_ref()
            .ok_or(HostTokenError::InvalidClaim("exp is missing".into()))?,
    )?;
    if now > exp.saturating_add(leeway) {
        return Err(HostTokenError::Expired);
    }
    if let Some(nbf) = &claims.nbf
        && numeric_date("nbf", nbf)? > now.saturating_add(leeway)
    {
        return Err(HostTokenError::NotYetValid);
    }
    if let Some(iat) = &claims.iat
        && numeric_date("iat", iat)? > now.saturating_add(leeway)
    {
        return Err(HostTokenError::IssuedInFuture);
    }
    let dev_token = claims.iss.as_deref() == Some(DEV_TOKEN_ISSUER);
    if dev_token && !options.accept_dev_tokens {
        return Err(HostTokenError::DevTokenRefused);
    }
    if let Some(expected) = &options.issuer
        && !dev_token
        && claims.iss.as_deref() != Some(expected.as_str())
    {
        return Err(HostTokenError::WrongIssuer);
    }
    if let Some(expected) = &options.audience {
        let ok = match &claims.aud {
            Some(Audience::One(aud)) => aud == expected,
            Some(Audience::Many(auds)) => auds.iter().any(|a| a == expected),
            None => false,
        };
        if !ok {
            return Err(HostTokenError::WrongAudience);
        }
    }
    let sub = claims
        .sub
        .ok_or(HostTokenError::InvalidClaim("sub is missing".into()))?;
    let identity = Identity::parse(&sub).map_err(|e| HostTokenError::InvalidClaim(format!("sub: {e}")))?;
    let raw_contexts = claims
        .contexts
        .ok_or(HostTokenError::InvalidClaim("contexts is missing".into()))?;
    if raw_contexts.len() > MAX_CONTEXTS {
        return Err(HostTokenError::InvalidClaim(format!(
            "more than {MAX_CONTEXTS} contexts"
        )));
    }
    let mut contexts: Vec<ContextName> = Vec::with_capacity(raw_contexts.len());
    for raw in &raw_contexts {
        let context = ContextName::parse(raw).map_err(|e| HostTokenError::InvalidClaim(e.to_string()))?;
        if !contexts.contains(&context) {
            contexts.push(context);
        }
    }
    let raw_moderates = claims.moderates.unwrap_or_default();
    if raw_moderates.len() > MAX_CONTEXTS {
        return Err(HostTokenError::InvalidClaim(format!(
            "more than {MAX_CONTEXTS} rooms in moderates"
        )));
    }
    let mut moderates: Vec<ContextName> = Vec::with_capacity(raw_moderates.len());
    for raw in &raw_moderates {
        let room = ContextName::parse(raw).map_err(|e| HostTokenError::InvalidClaim(format!("moderates: {e}")))?;
        if !contexts.contains(&room) {
            return Err(HostTokenError::InvalidClaim(format!(
                "moderates: {room} is not in contexts"
            )));
        }
        if !moderates.contains(&room) {
            moderates.push(room);
        }
    }
    let verified_email = match (claims.email, claims.email_verified) {
        (Some(serde_json::Value::String(email)), Some(serde_json::Value::Bool(true))) => Some(email),
        _ => None,
    };
    Ok(HostClaims {
        identity,
        contexts,
        moderates,
        expires_at: exp,
        verified_email,
    })
}

/// Verifies `token` against a known key set; `UnknownKid` when no key has its `kid`.
pub fn verify(token: &str, keys: &KeySet, options: &VerifyOptions, now: u64) -> Result<HostClaims, HostTokenError> {
    let unverified = parse(token)?;
    let key = keys.get(unverified.kid()).ok_or(HostTokenError::UnknownKid)?;
    unverified.verify(key, options, now)
}

/// Signs a host token (the CLI's dev tokens, tests, benchmarks): header
/// `{alg: ES256, typ: JWT, kid}` over the given claims object.
pub fn sign(key: &SigningKey, kid: &str, claims: &serde_json::Value) -> Result<String, crate::tokens::es256::KeyError> {
    let header = serde_json::json!({ "alg": "ES256", "typ": "JWT", "kid": kid });
    sign_raw(key, header.to_string().as_bytes(), claims.to_string().as_bytes())
}

/// Signs arbitrary header and payload bytes (tests use it to build hostile tokens).
pub fn sign_raw(key: &SigningKey, header: &[u8], payload: &[u8]) -> Result<String, crate::tokens::es256::KeyError> {
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    struct Fixture {
        key: SigningKey,
        keys: KeySet,
    }

    fn fixture() -> Fixture {
        let key = SigningKey::generate().unwrap();
        let mut keys = KeySet::default();
        keys.insert("k1", key.public_key());
        Fixture { key, keys }
    }

    fn good_claims() -> serde_json::Value {
        json!({ "sub": "alice", "contexts": ["general", "shipment-1"], "exp": NOW + 600, "iat": NOW - 5 })
    }

    fn check(token: &str, f: &Fixture, options: &VerifyOptions, expected: Result<(), HostTokenError>) {
        let got = verify(token, &f.keys, options, NOW).map(|_| ());
        assert_eq!(got, expected, "token {token:.80}");
    }

    #[test]
    fn a_good_token_verifies_into_typed_claims() {
        let f = fixture();
        let token = sign(&f.key, "k1", &good_claims()).unwrap();
        let claims = verify(&token, &f.keys, &VerifyOptions::default(), NOW).unwrap();
        assert_eq!(claims.identity.as_str(), "alice");
        assert_eq!(
            claims.contexts.iter().map(ContextName::as_str).collect::<Vec<_>>(),
            ["general", "shipment-1"]
        );
        assert_eq!(claims.expires_at, NOW + 600);
        assert!(claims.allows(&ContextName::parse("general").unwrap()));
        assert!(!claims.allows(&ContextName::parse("shipment-2").unwrap()));
    }

    #[test]
    fn header_rules() {
        let f = fixture();
        let payload = good_claims().to_string();
        let with_header =
            |h: serde_json::Value| sign_raw(&f.key, h.to_string().as_bytes(), payload.as_bytes()).unwrap();
        let o = VerifyOptions::default();
        use HostTokenError::*;
        check(
            &with_header(json!({"alg": "none", "kid": "k1"})),
            &f,
            &o,
            Err(UnsupportedAlgorithm),
        );
        check(
            &with_header(json!({"alg": "HS256", "kid": "k1"})),
            &f,
            &o,
            Err(UnsupportedAlgorithm),
        );
        check(
            &with_header(json!({"alg": "ES384", "kid": "k1"})),
            &f,
            &o,
            Err(UnsupportedAlgorithm),
        );
        check(
            &with_header(json!({"alg": "es256", "kid": "k1"})),
            &f,
            &o,
            Err(UnsupportedAlgorithm),
        );
        check(&with_header(json!({"kid": "k1"})), &f, &o, Err(UnsupportedAlgorithm));
        check(&with_header(json!({"alg": "ES256"})), &f, &o, Err(MissingKid));
        check(
            &with_header(json!({"alg": "ES256", "kid": ""})),
            &f,
            &o,
            Err(MissingKid),
        );
        check(
            &with_header(json!({"alg": "ES256", "kid": "K1"})),
            &f,
            &o,
            Err(UnknownKid),
        );
        for forbidden in ["jku", "x5u", "jwk", "x5c", "crit"] {
            let mut h = json!({"alg": "ES256", "kid": "k1"});
            h[forbidden] = json!("https://attacker.example/jwks.json");
            check(&with_header(h), &f, &o, Err(ForbiddenHeader));
        }
        check(
            &with_header(json!({"alg": "ES256", "kid": "k1", "typ": "JWT"})),
            &f,
            &o,
            Ok(()),
        );
    }

    #[test]
    fn signature_rules() {
        let f = fixture();
        let token = sign(&f.key, "k1", &good_claims()).unwrap();
        let (input, _) = token.rsplit_once('.').unwrap();
        let o = VerifyOptions::default();
        use HostTokenError::*;
        let with_sig = |sig: &[u8]| format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
        check(&with_sig(&[0u8; 64]), &f, &o, Err(BadSignature));
        let mut n_and_one = [0u8; 64];
        n_and_one[..32].copy_from_slice(&P256_ORDER);
        n_and_one[63] = 1;
        check(&with_sig(&n_and_one), &f, &o, Err(BadSignature));
        check(&with_sig(&[0xffu8; 64]), &f, &o, Err(BadSignature));
        check(&with_sig(&[1u8; 63]), &f, &o, Err(BadSignature));
        check(&with_sig(&[1u8; 72]), &f, &o, Err(BadSignature));
        // a token from another key that claims our kid
        let impostor = SigningKey::generate().unwrap();
        check(
            &sign(&impostor, "k1", &good_claims()).unwrap(),
            &f,
            &o,
            Err(BadSignature),
        );
        // the payload changed after signing
        let evil = good_claims().to_string().replace("alice", "admin");
        let (header, _) = input.split_once('.').unwrap();
        let (_, sig) = token.rsplit_once('.').unwrap();
        check(
            &format!("{header}.{}.{sig}", URL_SAFE_NO_PAD.encode(evil)),
            &f,
            &o,
            Err(BadSignature),
        );
    }

    #[test]
    fn form_rules() {
        let f = fixture();
        let token = sign(&f.key, "k1", &good_claims()).unwrap();
        let o = VerifyOptions::default();
        use HostTokenError::*;
        check("", &f, &o, Err(Malformed("it must have three dot-separated parts")));
        check("a.b", &f, &o, Err(Malformed("it must have three dot-separated parts")));
        check(
            &format!("{token}.x"),
            &f,
            &o,
            Err(Malformed("it must have three dot-separated parts")),
        );
        check(
            &format!("{token}="),
            &f,
            &o,
            Err(Malformed("signature is not base64url")),
        );
        check(
            &format!("{token} "),
            &f,
            &o,
            Err(Malformed("signature is not base64url")),
        );
        check(&format!("!{token}"), &f, &o, Err(Malformed("header is not base64url")));
        check(&"a".repeat(MAX_TOKEN_LEN + 1), &f, &o, Err(TooLarge));
    }

    fn check_claims_case(claims: serde_json::Value, options: &VerifyOptions, expected: Result<(), HostTokenError>) {
        let f = fixture();
        let token = sign(&f.key, "k1", &claims).unwrap();
        check(&token, &f, options, expected);
    }

    #[test]
    fn time_rules() {
        let o = VerifyOptions {
            leeway_secs: 30,
            ..Default::default()
        };
        use HostTokenError::*;
        let with = |k: &str, v: serde_json::Value| {
            let mut c = good_claims();
            c[k] = v;
            c
        };
        check_claims_case(with("exp", json!(NOW - 31)), &o, Err(Expired));
        check_claims_case(with("exp", json!(NOW - 30)), &o, Ok(()));
        check_claims_case(with("exp", json!(NOW as f64 + 0.5)), &o, Ok(()));
        check_claims_case(
            with("exp", json!("tomorrow")),
            &o,
            Err(InvalidClaim(
                "payload is not a JSON object of the expected claims".into(),
            )),
        );
        check_claims_case(
            with("exp", json!(-1)),
            &o,
            Err(InvalidClaim("exp is not a date".into())),
        );
        let mut no_exp = good_claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        check_claims_case(no_exp, &o, Err(InvalidClaim("exp is missing".into())));
        check_claims_case(with("nbf", json!(NOW + 31)), &o, Err(NotYetValid));
        check_claims_case(with("nbf", json!(NOW + 30)), &o, Ok(()));
        check_claims_case(with("iat", json!(NOW + 31)), &o, Err(IssuedInFuture));
        // leeway is capped at MAX_LEEWAY_SECS
        let generous = VerifyOptions {
            leeway_secs: 3600,
            ..Default::default()
        };
        check_claims_case(with("exp", json!(NOW - 61)), &generous, Err(Expired));
    }

    #[test]
    fn issuer_and_audience_rules() {
        use HostTokenError::*;
        let o = VerifyOptions {
            issuer: Some("toolbox".into()),
            audience: Some("dachat".into()),
            leeway_secs: 0,
            accept_dev_tokens: false,
        };
        let mut c = good_claims();
        check_claims_case(c.clone(), &o, Err(WrongIssuer));
        // a dev-extras token: refused unless the stage accepts them, and then
        // taken besides the host's own issuer (the audience still applies)
        let mut dev = good_claims();
        dev["iss"] = json!(DEV_TOKEN_ISSUER);
        dev["aud"] = json!("dachat");
        check_claims_case(dev.clone(), &o, Err(DevTokenRefused));
        check_claims_case(dev.clone(), &VerifyOptions::default(), Err(DevTokenRefused));
        let accepting = VerifyOptions {
            accept_dev_tokens: true,
            ..o.clone()
        };
        check_claims_case(dev.clone(), &accepting, Ok(()));
        dev["aud"] = json!("other");
        check_claims_case(dev, &accepting, Err(WrongAudience));
        c["iss"] = json!("toolbox");
        check_claims_case(c.clone(), &o, Err(WrongAudience));
        c["aud"] = json!("dachat");
        check_claims_case(c.clone(), &o, Ok(()));
        c["aud"] = json!(["other", "dachat"]);
        check_claims_case(c.clone(), &o, Ok(()));
        c["aud"] = json!(["DACHAT"]);
        check_claims_case(c.clone(), &o, Err(WrongAudience));
        c["aud"] = json!("dachat");
        c["iss"] = json!("toolbox ");
        check_claims_case(c, &o, Err(WrongIssuer));
    }

    #[test]
    fn subject_and_context_rules() {
        use HostTokenError::*;
        let o = VerifyOptions::default();
        let with = |k: &str, v: serde_json::Value| {
            let mut c = good_claims();
            c[k] = v;
            c
        };
        check_claims_case(
            with("sub", json!("")),
            &o,
            Err(InvalidClaim("sub: identity is empty".into())),
        );
        check_claims_case(
            with("sub", json!("a".repeat(129))),
            &o,
            Err(InvalidClaim("sub: identity is too long".into())),
        );
        check_claims_case(
            with("sub", json!(42)),
            &o,
            Err(InvalidClaim(
                "payload is not a JSON object of the expected claims".into(),
            )),
        );
        let mut no_sub = good_claims();
        no_sub.as_object_mut().unwrap().remove("sub");
        check_claims_case(no_sub, &o, Err(InvalidClaim("sub is missing".into())));
        check_claims_case(
            with("contexts", json!("general")),
            &o,
            Err(InvalidClaim(
                "payload is not a JSON object of the expected claims".into(),
            )),
        );
        check_claims_case(
            with("contexts", json!(["General"])),
            &o,
            Err(InvalidClaim("context must start with a letter or digit".into())),
        );
        check_claims_case(
            with("contexts", json!(["shipment\u{2010}1"])),
            &o,
            Err(InvalidClaim("context contains a character that is not allowed".into())),
        );
        let many: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
        check_claims_case(
            with("contexts", json!(many)),
            &o,
            Err(InvalidClaim("more than 100 contexts".into())),
        );
        let max: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
        check_claims_case(with("contexts", json!(max)), &o, Ok(()));
        check_claims_case(with("contexts", json!([])), &o, Ok(()));
    }

    #[test]
    fn moderates_is_a_list_of_rooms_the_token_lists() {
        use HostTokenError::*;
        let o = VerifyOptions::default();
        let with = |k: &str, v: serde_json::Value| {
            let mut c = good_claims();
            c[k] = v;
            c
        };
        let verify_claims = |claims: serde_json::Value, o: &VerifyOptions| {
            let f = fixture();
            verify(&sign(&f.key, "k1", &claims).unwrap(), &f.keys, o, NOW)
        };
        let not_an_object = Err(InvalidClaim(
            "payload is not a JSON object of the expected claims".into(),
        ));
        check_claims_case(with("moderates", json!(["general"])), &o, Ok(()));
        check_claims_case(with("moderates", json!([])), &o, Ok(()));
        check_claims_case(with("moderates", json!("general")), &o, not_an_object.clone());
        check_claims_case(with("moderates", json!([["general"]])), &o, not_an_object.clone());
        check_claims_case(with("moderates", json!([{ "room": "general" }])), &o, not_an_object);
        check_claims_case(
            with("moderates", json!(["group-public-7"])),
            &o,
            Err(InvalidClaim("moderates: group-public-7 is not in contexts".into())),
        );
        check_claims_case(
            with("moderates", json!(["General"])),
            &o,
            Err(InvalidClaim(
                "moderates: context must start with a letter or digit".into(),
            )),
        );
        let many: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
        check_claims_case(
            with("moderates", json!(many)),
            &o,
            Err(InvalidClaim("more than 100 rooms in moderates".into())),
        );
        let claims = verify_claims(with("moderates", json!(["shipment-1", "shipment-1"])), &o).unwrap();
        assert_eq!(
            claims.moderates.iter().map(ContextName::as_str).collect::<Vec<_>>(),
            ["shipment-1"]
        );
        assert!(claims.moderates(&ContextName::parse("shipment-1").unwrap()));
        assert!(!claims.moderates(&ContextName::parse("general").unwrap()));
        let none = verify_claims(good_claims(), &o).unwrap();
        assert!(none.moderates.is_empty(), "absent: moderates nothing");
    }

    #[test]
    fn duplicate_claims_and_duplicate_contexts() {
        let f = fixture();
        let o = VerifyOptions::default();
        let payload = format!(r#"{{"sub":"alice","sub":"admin","contexts":[],"exp":{}}}"#, NOW + 60);
        let header = br#"{"alg":"ES256","kid":"k1"}"#;
        let token = sign_raw(&f.key, header, payload.as_bytes()).unwrap();
        check(
            &token,
            &f,
            &o,
            Err(HostTokenError::InvalidClaim("a claim appears twice".into())),
        );
        let trailing = format!(r#"{{"sub":"alice","contexts":[],"exp":{}}} x"#, NOW + 60);
        let token = sign_raw(&f.key, header, trailing.as_bytes()).unwrap();
        assert!(verify(&token, &f.keys, &o, NOW).is_err());
        let dup = json!({"sub": "alice", "contexts": ["general", "general", "a"], "exp": NOW + 60});
        let claims = verify(&sign(&f.key, "k1", &dup).unwrap(), &f.keys, &o, NOW).unwrap();
        assert_eq!(claims.contexts.len(), 2);
    }

    #[test]
    fn an_email_counts_only_when_the_host_vouches_for_it() {
        let f = fixture();
        let email = |extra: serde_json::Value| {
            let mut claims = good_claims();
            for (k, v) in extra.as_object().unwrap() {
                claims[k] = v.clone();
            }
            verify(
                &sign(&f.key, "k1", &claims).unwrap(),
                &f.keys,
                &VerifyOptions::default(),
                NOW,
            )
            .unwrap()
            .verified_email
        };
        assert_eq!(
            email(json!({"email": "a@example.org", "email_verified": true})).as_deref(),
            Some("a@example.org")
        );
        assert_eq!(email(json!({"email": "a@example.org"})), None, "not vouched for");
        assert_eq!(email(json!({"email": "a@example.org", "email_verified": "true"})), None);
        assert_eq!(email(json!({"email": "a@example.org", "email_verified": false})), None);
        assert_eq!(
            email(json!({"email": 7, "email_verified": true})),
            None,
            "ignored, the token still verifies"
        );
    }

    #[test]
    fn messages_never_echo_the_token() {
        let f = fixture();
        let token = sign(&f.key, "k1", &good_claims()).unwrap();
        let err = verify(&format!("{token}x"), &f.keys, &VerifyOptions::default(), NOW).unwrap_err();
        assert!(!err.to_string().contains(&token[..20]));
    }
}
