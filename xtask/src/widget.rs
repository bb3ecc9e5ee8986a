//! Builds the widget into `widget/dist/`: the WASM chat window (cargo,
//! profile `wasm-release`, then `wasm-bindgen --target web`, whose snippet
//! `js/twilio.js` lands in `snippets/`), the minified loader (`terser`) and
//! Twilio's SDK build from the npm lock file (`@twilio/conversations`,
//! fetched by the widget only for Twilio sessions). Prints the sizes.

use std::process::Command;

use anyhow::Result;

use crate::{cargo, root, run, step};

pub fn build() -> Result<()> {
    step("building the widget (wasm32, profile wasm-release)");
    run(cargo().args([
        "build",
        "--package",
        "widget",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ]))?;
    let dist = root().join("widget/dist");
    std::fs::create_dir_all(&dist)?;
    // the snippet directory is named by a hash: drop earlier builds' copies
    let snippets = dist.join("snippets");
    if snippets.exists() {
        std::fs::remove_dir_all(&snippets)?;
    }
    run(Command::new("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--remove-name-section",
            "--out-name",
            "widget",
            "--out-dir",
        ])
        .arg(&dist)
        .arg(root().join("target/wasm32-unknown-unknown/wasm-release/widget.wasm")))?;
    run(Command::new(root().join("widget/node_modules/.bin/terser"))
        .arg(root().join("widget/loader/dachat.js"))
        .args([
            "--ecma",
            "2020",
            "--compress",
            "passes=3,unsafe=true",
            "--mangle",
            "--output",
        ])
        .arg(dist.join("dachat.js")))?;
    let mut files = vec![
        "dachat.js".to_owned(),
        "widget.js".to_owned(),
        "widget_bg.wasm".to_owned(),
    ];
    // the glue and the snippets are ES modules: minified in place, exports kept
    let mut modules = vec![dist.join("widget.js")];
    modules.extend(snippet_files(&snippets)?);
    for module in modules {
        run(Command::new(root().join("widget/node_modules/.bin/terser"))
            .arg(&module)
            .args([
                "--module",
                "--ecma",
                "2020",
                "--compress",
                "passes=2",
                "--mangle",
                "--output",
            ])
            .arg(&module))?;
        let name = module.strip_prefix(&dist)?.display().to_string();
        if !files.contains(&name) {
            files.push(name);
        }
    }
    std::fs::copy(
        root()
            .join("widget/node_modules/@twilio/conversations/builds")
            .join(SDK),
        dist.join(SDK),
    )?;
    files.push(SDK.to_owned());
    for file in files {
        let bytes = std::fs::read(dist.join(&file))?;
        println!("  {file}: {} bytes", bytes.len());
    }
    Ok(())
}

/// Twilio's browser build of the SDK (the name `js/twilio.js` expects).
const SDK: &str = "twilio-conversations.min.js";

/// The JS files wasm-bindgen copied into `snippets/`.
fn snippet_files(dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
    let mut found = Vec::new();
    if !dir.exists() {
        return Ok(found);
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "js") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
