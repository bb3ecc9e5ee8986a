//! Installs what the workflows need, skipping what is already there:
//! the wasm32 target, the test tools from npm (`tests/package-lock.json`)
//! and PyPI (`tests/requirements.txt`, into `.venv`).

use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::{root, run, step};

fn has_wasm_target() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-unknown-unknown")
        })
        .unwrap_or(false)
}

pub fn wasm_target() -> Result<()> {
    if !has_wasm_target() {
        step("installing the wasm32-unknown-unknown target (rustup)");
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

pub fn require(tool: &str, hint: &str) -> Result<()> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success());
    if !found.unwrap_or(false) {
        bail!("{tool} is not installed; {hint}");
    }
    Ok(())
}

/// `npm ci` in `tests/` when the lock file changed since the last install.
pub fn npm_tools() -> Result<()> {
    require("npm", "install Node.js 20 or newer")?;
    let tests = root().join("tests");
    let lock = std::fs::read(tests.join("package-lock.json")).context("tests/package-lock.json is missing")?;
    let stamp = tests.join("node_modules/.dachat-lock");
    if std::fs::read(&stamp).ok().as_deref() != Some(&lock[..]) {
        step("installing the npm test tools (npm ci in tests/)");
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tests))?;
        std::fs::write(&stamp, &lock)?;
    }
    Ok(())
}

/// A virtualenv in `.venv` with `tests/requirements.txt`, refreshed when it changes.
pub fn python_tools() -> Result<()> {
    require("python3", "install Python 3.10 or newer")?;
    let venv = root().join(".venv");
    let requirements =
        std::fs::read(root().join("tests/requirements.txt")).context("tests/requirements.txt is missing")?;
    let stamp = venv.join(".dachat-requirements");
    if std::fs::read(&stamp).ok().as_deref() == Some(&requirements[..]) {
        return Ok(());
    }
    if !venv.join("bin/python").exists() {
        step("creating the Python virtualenv (.venv)");
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    step("installing the Python test tools (moto, twilio) into .venv");
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(root().join("tests/requirements.txt")))?;
    std::fs::write(&stamp, &requirements)?;
    Ok(())
}

pub fn test_tools() -> Result<()> {
    step("checking the test tools");
    wasm_target()?;
    npm_tools()?;
    python_tools()?;
    Ok(())
}

/// cargo-lambda (with zig) from PyPI, into `.venv`.
pub fn cargo_lambda() -> Result<()> {
    python_tools()?;
    let venv = root().join(".venv");
    if !venv.join("bin/cargo-lambda").exists() {
        step("installing cargo-lambda into .venv (PyPI)");
        run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "cargo-lambda==1.9.2"]))?;
    }
    let output = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()?;
    if !String::from_utf8_lossy(&output.stdout).contains("aarch64-unknown-linux-gnu") {
        run(Command::new("rustup").args(["target", "add", "aarch64-unknown-linux-gnu"]))?;
    }
    Ok(())
}
