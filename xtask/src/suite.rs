//! The chat-client suite (`widget/tests/chat_client.rs`) in headless
//! Chromium through `wasm-bindgen-test-runner` and chromedriver: against a
//! real local server (this module starts it, admits two users to the suite's
//! rooms, and passes their access tokens to the suite at compile time), and
//! against the Twilio shim with the SDK's scripted stand-in. The widget's
//! wire test and the workspace's replacement `wasm-streams`
//! (`patches/wasm-streams/tests/browser.rs`) run in the same invocation.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde_json::json;

use crate::services::{local_server, post_json};
use crate::{cargo, root, run};

/// The rooms the suite's local tests use (`Local::room` in the suite).
const ROOMS: u32 = 9;

pub fn run_suite(dachat: &Path) -> Result<()> {
    let server = local_server(dachat)?;
    let rooms: Vec<String> = (1..=ROOMS).map(|n| format!("suite-{n}")).collect();
    let mut tokens = Vec::new();
    for user in ["alice", "bob"] {
        let host = post_json(
            &server.base,
            "/dev/token",
            &json!({ "sub": user, "contexts": rooms, "ttl": 3600 }),
        )?;
        let host = host["token"].as_str().context("/dev/token: no token")?.to_owned();
        let mut access = String::new();
        for room in &rooms {
            let session = post_json(&server.base, "/v1/session", &json!({ "token": host, "context": room }))?;
            access = session["accessToken"]
                .as_str()
                .context("/v1/session: no accessToken")?
                .to_owned();
        }
        tokens.push(access);
    }
    // Nothing but loopback resolves in the browser under test.
    let webdriver = root().join("target/test-services/webdriver.json");
    std::fs::write(
        &webdriver,
        json!({ "goog:chromeOptions": { "args": ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"] } })
            .to_string(),
    )?;
    // chromedriver gives each browser a fresh profile (~65 MB) under TMPDIR
    // and leaves it behind when the runner stops it: keep them in one
    // directory of ours and remove it afterwards, pass or fail.
    let browser_tmp = root().join("target/test-services/browser-tmp");
    std::fs::create_dir_all(&browser_tmp)?;
    let result = run(cargo()
        .args([
            "test",
            "--package",
            "widget",
            "--package",
            "wasm-streams",
            "--target",
            "wasm32-unknown-unknown",
            "--test",
            "chat_client",
            "--test",
            "wire",
            "--test",
            "browser",
        ])
        .env(
            "DACHAT_SUITE_LOCAL",
            format!("{} {} {}", server.base, tokens[0], tokens[1]),
        )
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner")
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_TIMEOUT", "300")
        // how long chromedriver may take to start listening (the runner's
        // default, 5 s, is too short for a cold start on a busy 2-core box)
        .env("WASM_BINDGEN_TEST_DRIVER_TIMEOUT", "60")
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &webdriver)
        .env("TMPDIR", &browser_tmp));
    drop(server);
    if let Err(e) = std::fs::remove_dir_all(&browser_tmp) {
        eprintln!(
            "xtask: warning: cannot remove the browser profiles in {}: {e}",
            browser_tmp.display()
        );
    }
    result
}
