//! Dependency checks, run by `cargo xtask test`:
//!
//! - `cargo deny check licenses bans sources` against `deny.toml` (the
//!   allowed licences, duplicate versions, crates.io as the only registry).
//!   The advisories check needs the RustSec database, which cargo-deny
//!   fetches from GitHub into `$CARGO_HOME/advisory-dbs`; it runs (without
//!   fetching) when that copy is there, and is said to be skipped otherwise
//!   (the machines this project runs on cannot reach GitHub);
//! - the widget's and the protocol crate's dependency trees for wasm32
//!   never reach tokio, mio or aws-* (a native-only stack in the download).

use anyhow::{Context as _, Result, bail};

use crate::{cargo, root, run};

/// Crates (by name prefix) the browser-side crates must never depend on.
const NATIVE_ONLY: &[&str] = &["tokio", "mio", "aws-", "hyper", "reqwest", "rusqlite"];

pub fn check() -> Result<()> {
    run(cargo().args(["deny", "--log-level", "error", "check", "licenses", "bans", "sources"]))?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".cargo")));
    // a database is a folder of advisories under advisory-dbs/ (a failed
    // fetch leaves the folder with only its lock file)
    let has_database = cargo_home
        .and_then(|home| std::fs::read_dir(home.join("advisory-dbs")).ok())
        .is_some_and(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|entry| entry.path().join("crates").is_dir())
        });
    if has_database {
        run(cargo().args(["deny", "--log-level", "error", "--offline", "check", "advisories"]))?;
    } else {
        println!(
            "  advisories: skipped: the RustSec database is not on this machine (`cargo deny fetch` gets it from \
             GitHub, which this machine cannot reach)"
        );
    }
    for package in ["widget", "protocol"] {
        let output = cargo()
            .args([
                "tree",
                "--package",
                package,
                "--target",
                "wasm32-unknown-unknown",
                "--edges",
                "normal",
                "--prefix",
                "none",
                "--format",
                "{p}",
            ])
            .current_dir(root())
            .output()
            .with_context(|| format!("cannot run cargo tree for {package}"))?;
        if !output.status.success() {
            bail!(
                "cargo tree --package {package} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let found = native_only(&String::from_utf8_lossy(&output.stdout));
        if !found.is_empty() {
            bail!(
                "{package} depends on native-only crates for wasm32: {}",
                found.join(", ")
            );
        }
        println!("  {package}: no native-only crate in its wasm32 dependency tree");
    }
    Ok(())
}

/// The native-only crates in a `cargo tree --prefix none --format {p}` listing.
fn native_only(tree: &str) -> Vec<String> {
    let mut found: Vec<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| NATIVE_ONLY.iter().any(|bad| name.starts_with(bad)))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_only_crates_are_found_by_name() {
        let tree = "widget v0.1.0 (/w/widget)\nleptos v0.8.23\ntokio v1.48.0\naws-config v1.8.0\ntokio v1.48.0\nserde v1.0.0\n";
        assert_eq!(native_only(tree), ["aws-config", "tokio"]);
        assert!(native_only("widget v0.1.0\nwasm-bindgen v0.2.130\n").is_empty());
    }
}
