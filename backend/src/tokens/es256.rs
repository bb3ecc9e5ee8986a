//! ES256 keys: the public keys we verify host tokens with (from a JWKS, in
//! either of its two formats), and the key pairs the operator CLI generates
//! and signs dev tokens with. Pure functions, no I/O.
//!
//! Only P-256 keys in their uncompressed form are accepted; a PEM public key
//! must be a `PUBLIC KEY` (SubjectPublicKeyInfo) block and a private key a
//! `PRIVATE KEY` (PKCS#8) block, as `openssl genpkey -algorithm EC
//! -pkeyopt ec_paramgen_curve:P-256` and our own `keygen` write them.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};

/// The DER prefix of a P-256 SubjectPublicKeyInfo; the 65-byte point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A P-256 public key: the uncompressed point `04 ‖ x ‖ y`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey([u8; 65]);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(x={})", URL_SAFE_NO_PAD.encode(&self.0[1..33]))
    }
}

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub &'static str);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for KeyError {}

impl PublicKey {
    /// From the uncompressed point `04 ‖ x ‖ y`.
    pub fn from_point(point: &[u8]) -> Result<Self, KeyError> {
        let bytes: [u8; 65] = point
            .try_into()
            .map_err(|_| KeyError("public key is not a 65-byte uncompressed P-256 point"))?;
        if bytes[0] != 0x04 {
            return Err(KeyError("public key is not an uncompressed P-256 point"));
        }
        // aws-lc checks that the point lies on the curve on every
        // verification, so a key off the curve can never verify anything.
        Ok(Self(bytes))
    }

    /// From a standard EC JWK's base64url `x` and `y` (32 bytes each).
    pub fn from_jwk_coordinates(x: &str, y: &str) -> Result<Self, KeyError> {
        let x = URL_SAFE_NO_PAD
            .decode(x)
            .map_err(|_| KeyError("JWK x is not base64url"))?;
        let y = URL_SAFE_NO_PAD
            .decode(y)
            .map_err(|_| KeyError("JWK y is not base64url"))?;
        if x.len() != 32 || y.len() != 32 {
            return Err(KeyError("JWK x and y must be 32 bytes each"));
        }
        let mut point = [0u8; 65];
        point[0] = 0x04;
        point[1..33].copy_from_slice(&x);
        point[33..].copy_from_slice(&y);
        Self::from_point(&point)
    }

    /// From a PEM `PUBLIC KEY` block holding a P-256 SubjectPublicKeyInfo.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let der = pem_decode(pem, "PUBLIC KEY")?;
        match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
            Some(point) => Self::from_point(point),
            None => Err(KeyError("PEM public key is not a P-256 key")),
        }
    }

    pub fn to_pem(&self) -> String {
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.0);
        pem_encode(&der, "PUBLIC KEY")
    }

    /// `(x, y)` as base64url, for a standard JWK.
    pub fn jwk_coordinates(&self) -> (String, String) {
        (
            URL_SAFE_NO_PAD.encode(&self.0[1..33]),
            URL_SAFE_NO_PAD.encode(&self.0[33..]),
        )
    }

    /// The key as `jsonwebtoken` takes it (the uncompressed point).
    pub fn decoding_key(&self) -> jsonwebtoken::DecodingKey {
        jsonwebtoken::DecodingKey::from_ec_der(&self.0)
    }

    /// Checks an ES256 signature (raw `r ‖ s`) over `message` (aws-lc,
    /// through `jsonwebtoken`).
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = URL_SAFE_NO_PAD.encode(signature);
        jsonwebtoken::crypto::verify(
            &signature,
            message,
            &self.decoding_key(),
            jsonwebtoken::Algorithm::ES256,
        )
        .unwrap_or(false)
    }
}

fn pem_decode(pem: &str, label: &str) -> Result<Vec<u8>, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = pem
        .trim()
        .strip_prefix(&begin)
        .and_then(|rest| rest.strip_suffix(&end))
        .ok_or(KeyError("PEM block has the wrong label or is cut short"))?;
    let b64: String = body.split_ascii_whitespace().collect();
    STANDARD.decode(b64).map_err(|_| KeyError("PEM body is not base64"))
}

fn pem_encode(der: &[u8], label: &str) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The public keys of a JWKS, by `kid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: HashMap<String, PublicKey>,
}

/// One JWKS entry, in either format; fields we do not use are ignored.
#[derive(Deserialize)]
struct JwkEntry {
    kid: Option<String>,
    kty: Option<String>,
    crv: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    x: Option<String>,
    y: Option<String>,
    /// The legacy format's PEM public key.
    key: Option<String>,
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    pub fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.keys.get(kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn insert(&mut self, kid: impl Into<String>, key: PublicKey) {
        self.keys.insert(kid.into(), key);
    }

    /// Reads a JWKS document. Entries that are not ES256 signing keys, or
    /// that do not parse, are skipped (a JWKS may hold other keys too); the
    /// document itself must be a JSON object with a `keys` array, and at
    /// least one usable key must be in it.
    pub fn from_jwks_json(body: &[u8]) -> Result<Self, KeyError> {
        let doc: JwksDocument =
            serde_json::from_slice(body).map_err(|_| KeyError("JWKS is not a JSON object with a keys array"))?;
        let mut set = KeySet::default();
        for value in doc.keys {
            let Ok(entry) = serde_json::from_value::<JwkEntry>(value) else {
                continue;
            };
            if let Some((kid, key)) = entry.into_key() {
                set.keys.insert(kid, key);
            }
        }
        if set.is_empty() {
            return Err(KeyError("JWKS holds no usable ES256 key"));
        }
        Ok(set)
    }
}

impl JwkEntry {
    fn into_key(self) -> Option<(String, PublicKey)> {
        let kid = self.kid.filter(|k| !k.is_empty())?;
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return None;
        }
        if self.alg.as_deref().is_some_and(|a| a != "ES256") {
            return None;
        }
        let key = match (self.kty.as_deref(), self.key) {
            (Some("EC"), _) => {
                if self.crv.as_deref() != Some("P-256") {
                    return None;
                }
                PublicKey::from_jwk_coordinates(self.x.as_deref()?, self.y.as_deref()?).ok()?
            }
            // The legacy entry names its algorithm; require it so that a PEM
            // of some other key type is never guessed at.
            (None, Some(pem)) if self.alg.as_deref() == Some("ES256") => PublicKey::from_pem(&pem).ok()?,
            _ => return None,
        };
        Some((kid, key))
    }
}

/// An ES256 key pair for signing host tokens (dev and test use).
pub struct SigningKey {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn generate() -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| KeyError("could not generate a key pair"))?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|_| KeyError("private key is not a PKCS#8 P-256 key"))?;
        Ok(Self {
            pair,
            pkcs8: der.to_vec(),
            rng,
        })
    }

    /// A PKCS#8 `PRIVATE KEY` (what `dachat keygen` writes) or a SEC1
    /// `EC PRIVATE KEY` (what the seed's `openssl ecparam -genkey -name
    /// secp256r1 -noout` writes), P-256 either way.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        if pem.trim_start().starts_with("-----BEGIN EC PRIVATE KEY-----") {
            let sec1 = pem_decode(pem, "EC PRIVATE KEY")?;
            return Self::from_pkcs8(&sec1_to_pkcs8(&sec1))
                .map_err(|_| KeyError("EC PRIVATE KEY is not a P-256 key (openssl ecparam -name secp256r1)"));
        }
        if !pem.trim_start().starts_with("-----BEGIN PRIVATE KEY-----") {
            return Err(KeyError(
                "not a PEM private key: expected -----BEGIN PRIVATE KEY----- (dachat keygen) \
                 or -----BEGIN EC PRIVATE KEY----- (openssl ecparam)",
            ));
        }
        Self::from_pkcs8(&pem_decode(pem, "PRIVATE KEY")?)
    }

    pub fn to_pem(&self) -> String {
        pem_encode(&self.pkcs8, "PRIVATE KEY")
    }

    pub fn public_key(&self) -> PublicKey {
        let mut point = [0u8; 65];
        point.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(point)
    }

    /// Signs `message` with ES256: the raw 64-byte `r ‖ s`.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], KeyError> {
        let sig = self
            .pair
            .sign(&self.rng, message)
            .map_err(|_| KeyError("signing failed"))?;
        sig.as_ref()
            .try_into()
            .map_err(|_| KeyError("signature has the wrong length"))
    }
}

/// Wraps a SEC1 `ECPrivateKey` (RFC 5915) in a PKCS#8 `PrivateKeyInfo`
/// (RFC 5208) for P-256: version 0, the id-ecPublicKey / prime256v1
/// algorithm, and the SEC1 bytes as the private key octet string.
fn sec1_to_pkcs8(sec1: &[u8]) -> Vec<u8> {
    const ALGORITHM: [u8; 21] = [
        0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
        0x03, 0x01, 0x07,
    ];
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend_from_slice(&ALGORITHM);
    body.push(0x04);
    der_length(&mut body, sec1.len());
    body.extend_from_slice(sec1);
    let mut out = vec![0x30];
    der_length(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// Appends a DER length (short form below 128, else long form).
fn der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
}

/// A standard EC JWK entry for the public key.
#[derive(Debug, Serialize)]
pub struct StandardJwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub kid: String,
    pub x: String,
    pub y: String,
}

/// The legacy entry the 2020 original published: `{alg, kid, use, key: PEM}`.
#[derive(Debug, Serialize)]
pub struct LegacyJwk {
    pub alg: &'static str,
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub key: String,
}

pub fn standard_jwk(kid: &str, key: &PublicKey) -> StandardJwk {
    let (x, y) = key.jwk_coordinates();
    StandardJwk {
        kty: "EC",
        crv: "P-256",
        alg: "ES256",
        use_: "sig",
        kid: kid.to_owned(),
        x,
        y,
    }
}

pub fn legacy_jwk(kid: &str, key: &PublicKey) -> LegacyJwk {
    LegacyJwk {
        alg: "ES256",
        kid: kid.to_owned(),
        use_: "sig",
        key: key.to_pem(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwks(entries: serde_json::Value) -> Result<KeySet, KeyError> {
        KeySet::from_jwks_json(json!({ "keys": entries }).to_string().as_bytes())
    }

    #[test]
    fn both_jwks_formats_give_the_same_key() {
        let pair = SigningKey::generate().unwrap();
        let public = pair.public_key();
        let set = jwks(json!([
            serde_json::to_value(standard_jwk("std", &public)).unwrap(),
            serde_json::to_value(legacy_jwk("legacy", &public)).unwrap(),
        ]))
        .unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.get("std"), Some(&public));
        assert_eq!(set.get("legacy"), Some(&public));
    }

    #[test]
    fn pem_round_trips() {
        let pair = SigningKey::generate().unwrap();
        let again = SigningKey::from_pem(&pair.to_pem()).unwrap();
        assert_eq!(again.public_key(), pair.public_key());
        assert_eq!(
            PublicKey::from_pem(&pair.public_key().to_pem()).unwrap(),
            pair.public_key()
        );
    }

    #[test]
    fn a_sec1_key_is_wrapped_into_the_same_pkcs8() {
        let pair = SigningKey::generate().unwrap();
        // ring's PKCS#8: 30 81 87 | 02 01 00 | algorithm (21 bytes) | 04 6d | ECPrivateKey
        let sec1 = &pair.pkcs8[29..];
        assert_eq!(sec1[0], 0x30, "the ECPrivateKey sequence");
        assert_eq!(sec1_to_pkcs8(sec1), pair.pkcs8);
        let pem = pem_encode(sec1, "EC PRIVATE KEY");
        assert_eq!(SigningKey::from_pem(&pem).unwrap().public_key(), pair.public_key());
        let error = SigningKey::from_pem(&pair.public_key().to_pem()).unwrap_err();
        assert!(error.0.contains("not a PEM private key"), "{error:?}");
        let error = SigningKey::from_pem(&pem_encode(&sec1[..40], "EC PRIVATE KEY")).unwrap_err();
        assert!(error.0.contains("not a P-256 key"), "{error:?}");
    }

    #[test]
    fn der_lengths_use_the_short_form_below_128() {
        let mut out = Vec::new();
        der_length(&mut out, 0x7f);
        der_length(&mut out, 0x87);
        der_length(&mut out, 0x1234);
        assert_eq!(out, [0x7f, 0x81, 0x87, 0x82, 0x12, 0x34]);
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let pair = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        let sig = pair.sign(b"hello").unwrap();
        assert!(pair.public_key().verify(b"hello", &sig));
        assert!(!pair.public_key().verify(b"hellO", &sig));
        assert!(!other.public_key().verify(b"hello", &sig));
    }

    #[test]
    fn unusable_entries_are_skipped() {
        let pair = SigningKey::generate().unwrap();
        let public = pair.public_key();
        let good = serde_json::to_value(standard_jwk("good", &public)).unwrap();
        let mut enc = good.clone();
        enc["use"] = json!("enc");
        enc["kid"] = json!("enc");
        let mut es384 = good.clone();
        es384["alg"] = json!("ES384");
        es384["kid"] = json!("es384");
        let mut other_curve = good.clone();
        other_curve["crv"] = json!("P-384");
        other_curve["kid"] = json!("p384");
        let mut no_kid = good.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        let pem_without_alg = json!({ "kid": "pem", "key": public.to_pem() });
        let rsa = json!({ "kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB" });
        let set = jwks(json!([enc, es384, other_curve, no_kid, pem_without_alg, rsa, 42, good])).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.get("good").is_some());
    }

    #[test]
    fn broken_documents_are_refused() {
        assert!(KeySet::from_jwks_json(b"not json").is_err());
        assert!(KeySet::from_jwks_json(b"{\"keys\": {}}").is_err());
        assert!(jwks(json!([])).is_err());
        assert!(jwks(json!([{ "kty": "EC", "crv": "P-256", "kid": "k", "x": "AA", "y": "AA" }])).is_err());
    }

    #[test]
    fn points_off_the_curve_are_refused_when_used() {
        // ring checks the point lazily; a point off the curve never verifies.
        let mut point = [7u8; 65];
        point[0] = 4;
        let key = PublicKey::from_point(&point).unwrap();
        assert!(!key.verify(b"x", &[1u8; 64]));
        assert!(PublicKey::from_point(&[4u8; 64]).is_err());
        assert!(PublicKey::from_point(&[2u8; 65]).is_err());
    }
}
