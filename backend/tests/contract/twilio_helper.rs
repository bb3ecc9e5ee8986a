//! Our Twilio access tokens against Twilio's official helper library (PyPI
//! `twilio`): on the same inputs and clock both produce the same header and
//! claims, and the library's verifier accepts ours (and refuses a forgery).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use backend::domain::{DeviceId, Identity};
use backend::secret::Secret;
use backend::tokens::twilio_token::Minter;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::*;

fn decode(part: &str) -> Value {
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Runs `tests/twilio_token_check.py` on one case.
fn library(case: &Value) -> Value {
    let script = format!("{}/../tests/twilio_token_check.py", env!("CARGO_MANIFEST_DIR"));
    python(&[&script], case)
}

/// Runs the test venv's Python with `args`, `case` as JSON on stdin; its
/// stdout is JSON.
fn python(args: &[&str], case: &Value) -> Value {
    let mut child = Command::new(crate::service("DACHAT_TEST_PYTHON"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(case.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn our_tokens_match_the_helper_library() {
    let ttl = 3600;
    let minter = Minter::new(
        ACCOUNT_SID,
        API_KEY_SID,
        &Secret::new(API_KEY_SECRET.into()),
        SERVICE_SID,
        Duration::from_secs(ttl),
    )
    .unwrap();
    for (identity, device) in [
        ("alice", "web"),
        ("bob@example.org", "3fa85f64-5717"),
        ("user+tag.x_y-z", "d1"),
    ] {
        let now = now();
        let ours = minter.mint(
            &Identity::parse(identity).unwrap(),
            &DeviceId::parse(device).unwrap(),
            now,
        );
        let parts: Vec<&str> = ours.jwt.split('.').collect();
        let case = json!({
            "account_sid": ACCOUNT_SID, "api_key_sid": API_KEY_SID, "api_key_secret": API_KEY_SECRET,
            "service_sid": SERVICE_SID, "identity": identity, "endpoint_id": format!("dachat:{identity}:{device}"),
            "ttl": ttl, "now": now, "token": ours.jwt,
        });
        let theirs = library(&case);
        assert_eq!(decode(parts[0]), theirs["header"], "header for {identity}");
        assert_eq!(decode(parts[1]), theirs["payload"], "claims for {identity}");
        assert_eq!(
            theirs["verified"],
            json!(true),
            "the library's verifier refused ours: {}",
            theirs["error"]
        );
        assert_eq!(theirs["verified_identity"], json!(identity));
        // the verifier is not a rubber stamp: a token signed with another secret fails
        assert_eq!(theirs["forgery_verified"], json!(false));
    }
}

/// Our webhook signature check against the library's `RequestValidator`:
/// the same signature for the same URL, token and form, and the library
/// accepts ours.
#[test]
fn our_webhook_signatures_match_the_helper_library() {
    const SCRIPT: &str = "import json, sys\n\
        from twilio.request_validator import RequestValidator\n\
        case = json.load(sys.stdin)\n\
        v = RequestValidator(case['token'])\n\
        params = dict(case['params'])\n\
        print(json.dumps({'signature': v.compute_signature(case['url'], params),\n\
                          'accepts': v.validate(case['url'], params, case['ours'])}))\n";
    let token = Secret::new(AUTH_TOKEN.into());
    let url = "https://abc.execute-api.eu-west-1.amazonaws.com/v1/webhooks/twilio?source=conversations";
    let params: Vec<(String, String)> = [
        ("EventType", "onMessageAdded"),
        ("ConversationSid", "CH00000000000000000000000000000001"),
        ("Body", "Grüße: the truck left Calais & is on time 🚚"),
        ("Author", "alice@example.org"),
        ("Index", "7"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let ours = backend::twilio::signature::sign(&token, url, &params);
    let case = json!({ "token": AUTH_TOKEN, "url": url, "params": params, "ours": ours });
    let library = python(&["-c", SCRIPT], &case);
    assert_eq!(library["signature"], ours.as_str());
    assert_eq!(library["accepts"], true);
    assert!(backend::twilio::signature::verify(
        &token,
        url,
        &params,
        library["signature"].as_str().unwrap()
    ));
}

/// A JSON webhook (`bodySHA256` in the signed URL): the library accepts
/// what we accept, and refuses what we refuse.
#[test]
fn json_webhooks_and_default_ports_are_judged_as_the_helper_library_judges_them() {
    const SCRIPT: &str = "import json, sys\n\
        from twilio.request_validator import RequestValidator\n\
        case = json.load(sys.stdin)\n\
        v = RequestValidator(case['token'])\n\
        print(json.dumps([v.validate(url, body, sig) for url, body, sig in case['cases']]))\n";
    let token = Secret::new(AUTH_TOKEN.into());
    let body = r#"{"EventType":"onMessageAdded","Body":"hello"}"#;
    let hash = backend::twilio::signature::body_sha256(body.as_bytes());
    let url = format!("https://api.example/v1/webhooks/twilio?bodySHA256={hash}");
    let signed = backend::twilio::signature::sign(&token, &url, &[]);
    let with_port = format!("https://api.example:443/v1/webhooks/twilio?bodySHA256={hash}");
    let cases = [
        (url.clone(), body.to_owned(), signed.clone()),
        (url.clone(), body.replace("hello", "hellO"), signed.clone()),
        (with_port.clone(), body.to_owned(), signed.clone()),
        (
            url.replace("api.example", "other.example"),
            body.to_owned(),
            signed.clone(),
        ),
    ];
    let library = python(&["-c", SCRIPT], &json!({ "token": AUTH_TOKEN, "cases": cases }));
    let ours: Vec<bool> = cases
        .iter()
        .map(|(url, body, sig)| backend::twilio::signature::verify_json(&token, url, body.as_bytes(), sig))
        .collect();
    assert_eq!(library, json!(ours), "the library and we agree case by case");
    assert_eq!(ours, [true, false, true, false]);
}
