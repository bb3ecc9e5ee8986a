//! Installs what the workflows need, skipping what is already there:
//! the wasm32 target and the standard library's source, the test tools from npm (`tests/package-lock.json`)
//! and PyPI (`tests/requirements.txt`, into `.venv`).

use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::{cargo, root, run, step};

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

/// The wasm32 target, and the standard library's source: the widget
/// builds its own `std` for size (`widget::SIZE_BUILD`).
pub fn wasm_target() -> Result<()> {
    if !has_wasm_target() {
        step("installing the wasm32-unknown-unknown target (rustup)");
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    if !has_rust_src() {
        step("installing the standard library's source (rustup component rust-src)");
        run(Command::new("rustup").args(["component", "add", "rust-src"]))?;
    }
    Ok(())
}

fn has_rust_src() -> bool {
    Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map(|o| {
            std::path::Path::new(String::from_utf8_lossy(&o.stdout).trim())
                .join("lib/rustlib/src/rust/library/std/Cargo.toml")
                .is_file()
        })
        .unwrap_or(false)
}

pub fn require(tool: &str, hint: &str) -> Result<()> {
    if !which(tool) {
        bail!("{tool} is not installed; {hint}");
    }
    Ok(())
}

/// `npm ci` in `dir` (relative to the root) when its lock file changed
/// since the last install.
pub fn npm_ci(dir: &str) -> Result<()> {
    require("npm", "install Node.js 20 or newer")?;
    let folder = root().join(dir);
    let lock = std::fs::read(folder.join("package-lock.json"))
        .with_context(|| format!("{dir}/package-lock.json is missing"))?;
    let stamp = folder.join("node_modules/.dachat-lock");
    if std::fs::read(&stamp).ok().as_deref() != Some(&lock[..]) {
        step(&format!("installing npm packages (npm ci in {dir}/)"));
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&folder))?;
        std::fs::write(&stamp, &lock)?;
    }
    Ok(())
}

/// The `wasm-bindgen` version Cargo.lock pins (the CLI must match it).
fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_owned());
        }
    }
    bail!("Cargo.lock has no wasm-bindgen")
}

/// `wasm-bindgen` (the CLI) at the version of the crate in Cargo.lock.
pub fn wasm_bindgen_cli() -> Result<()> {
    let version = locked_wasm_bindgen()?;
    if version_of(Command::new("wasm-bindgen").arg("--version")) != format!("wasm-bindgen {version}") {
        step(&format!(
            "installing wasm-bindgen-cli {version} (cargo install, about 2 minutes)"
        ));
        // Not --locked: its lock file names a crate version this registry lacks.
        run(cargo().args(["install", "wasm-bindgen-cli", "--version", &version]))?;
    }
    Ok(())
}

/// Debian's Chromium and its chromedriver for the browser tests (never a
/// downloaded browser).
pub fn chromium() -> Result<()> {
    if std::path::Path::new("/usr/bin/chromium").exists() && std::path::Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// The benchmark's load generator and HTTP client, from Debian.
pub fn bench_tools() -> Result<()> {
    if which("wrk") && which("curl") {
        return Ok(());
    }
    apt_install(&["wrk", "curl"])
}

/// What a tool's `--version` prints (empty when it is not installed).
fn version_of(command: &mut Command) -> String {
    command
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `apt-get install` of Debian packages, waiting for another apt to finish.
fn apt_install(packages: &[&str]) -> Result<()> {
    step(&format!("installing {} (apt-get install)", packages.join(", ")));
    let lock = "DPkg::Lock::Timeout=600";
    run(Command::new("apt-get").args(["-o", lock, "update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["-o", lock, "install", "-y", "-qq"])
        .args(packages))
}

/// A virtualenv in `.venv` with `tests/requirements.txt`, refreshed when it changes.
pub fn python_tools() -> Result<()> {
    virtualenv(
        ".venv",
        "tests/requirements.txt",
        "the Python test tools (moto, twilio)",
    )
}

/// A virtualenv in `.venv-infra` with `infra/requirements.txt` (cfn-lint, checkov).
pub fn infra_tools() -> Result<()> {
    npm_ci("infra")?;
    virtualenv(
        ".venv-infra",
        "infra/requirements.txt",
        "the infrastructure checks (cfn-lint, checkov)",
    )
}

/// A virtualenv at `dir` with the packages of `requirements`, installed
/// again only when that file changes.
fn virtualenv(dir: &str, requirements_file: &str, what: &str) -> Result<()> {
    require("python3", "install Python 3.10 or newer")?;
    let venv = root().join(dir);
    let requirements =
        std::fs::read(root().join(requirements_file)).with_context(|| format!("{requirements_file} is missing"))?;
    let stamp = venv.join(".dachat-requirements");
    if std::fs::read(&stamp).ok().as_deref() == Some(&requirements[..]) {
        return Ok(());
    }
    if !venv.join("bin/python").exists() {
        step(&format!("creating the Python virtualenv ({dir})"));
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    step(&format!("installing {what} into {dir}"));
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(root().join(requirements_file)))?;
    std::fs::write(&stamp, &requirements)?;
    Ok(())
}

/// The Trunk version `trunk build` uses (0.22 needs a newer rustc).
pub const TRUNK: &str = "0.21.14";

/// Trunk at [`TRUNK`] (cargo install, about 8 minutes the first time).
pub fn trunk() -> Result<()> {
    if version_of(Command::new("trunk").arg("--version")) != format!("trunk {TRUNK}") {
        step(&format!(
            "installing Trunk {TRUNK} (cargo install, about 8 minutes the first time)"
        ));
        run(cargo()
            .args(["install", "--locked", &format!("trunk@{TRUNK}")])
            // a build tool: no need for its release profile's LTO
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"))?;
    }
    Ok(())
}

/// The cargo-deny version the dependency checks use.
pub const CARGO_DENY: &str = "0.20.2";

/// `cargo deny` at [`CARGO_DENY`] (cargo install, from crates.io).
pub fn cargo_deny() -> Result<()> {
    if version_of(cargo().args(["deny", "--version"])) != format!("cargo-deny {CARGO_DENY}") {
        step(&format!(
            "installing cargo-deny {CARGO_DENY} (cargo install, a few minutes)"
        ));
        run(cargo().args(["install", "--locked", &format!("cargo-deny@{CARGO_DENY}")]))?;
    }
    Ok(())
}

pub fn test_tools() -> Result<()> {
    step("checking the test tools");
    wasm_target()?;
    wasm_bindgen_cli()?;
    cargo_deny()?;
    trunk()?;
    npm_ci("widget")?;
    npm_ci("tests")?;
    python_tools()?;
    infra_tools()?;
    chromium()?;
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
