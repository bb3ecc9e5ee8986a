//! Builds the widget into `widget/dist/`: the WASM chat window (cargo,
//! profile `wasm-release`, then `wasm-bindgen --target web`) and the
//! minified loader (`terser`). Prints the transfer sizes.

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
    for file in ["dachat.js", "widget.js", "widget_bg.wasm"] {
        let bytes = std::fs::read(dist.join(file))?;
        println!("  {file}: {} bytes", bytes.len());
    }
    Ok(())
}
