//! Every form key the Twilio client sends is a property of that
//! operation's request schema in Twilio's own OpenAPI description (Prism
//! drops unknown form keys silently, so it cannot catch a misspelt one).

use backend::twilio::rest::FORM_KEYS;
use serde_json::Value;

#[test]
fn form_keys_are_in_the_request_schemas() {
    let path = format!(
        "{}/../tests/specs/twilio_conversations_v1.prism.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(!FORM_KEYS.is_empty());
    for (method, path, keys) in FORM_KEYS {
        let operation = &spec["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not in the spec");
        let properties =
            &operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["properties"];
        assert!(properties.is_object(), "{method} {path} takes no form body");
        for key in *keys {
            assert!(
                properties.get(key).is_some(),
                "{method} {path}: {key} is not a property of the request schema"
            );
        }
    }
}
