//! Project workflows, one command each; CI runs the same commands people do.
//!
//! - `cargo xtask dev`: set up and run the local chat server.
//! - `cargo xtask test`: set up and run every check and test.
//! - `cargo xtask bench`: the performance benchmarks (see BENCHMARKS.md).
//! - `cargo xtask dist`: the Lambda build for arm64 (`cargo lambda`).
//! - `cargo xtask deploy`: build, `cdk deploy`, publish the widget ([`infra`]).
//!
//! Tools are installed on first use and skipped when already present; test
//! services (Prism, the Twilio stand-in, moto) are started on free loopback
//! ports and stopped by PID when the run ends, pass or fail.

mod bench;
mod bench_instances;
mod bench_lambda;
mod deps;
mod hashing;
mod infra;
mod services;
mod setup;
mod soak;
mod split;
mod suite;
mod tidy;
mod widget;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  dev     set up and run the local chat server (http://127.0.0.1:8080)
  test    set up and run every check and test (what CI runs)
  bench   run the token-path benchmarks against the Node peer
  test-browser   only the browser checks: chat-client suite, Twilio SDK checks, end-to-end
  test-infra     only the deployment checks: CDK assertions, cdk synth, cfn-lint, checkov
  tidy           only the tidy checks (module docs, long files, layers, unsafe code)
  widget         build the widget into widget/dist (and print its sizes)
  bench-lambda   the Lambda's zip sizes and init time (20 starts, settings from SSM on moto)
  soak [--minutes N] [--fault-every M]   an hour of mixed load with a fault every 5 minutes (issue #28; not in CI)
  bench-widget   widget timings in Chromium (click to interactive, paging 1,000 messages)
  dist    build the Lambdas for arm64 with cargo lambda
  deploy  build, cdk deploy ${STACK_NAME} (and --dev-extras), publish the widget

options for dev:
  --listen ADDR      address to listen on (default 127.0.0.1:8080)
  --settings FILE    NAME=value settings, e.g. Twilio's (see README: Against real Twilio)";

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dev") => dev(&args[1..]),
        Some("test") => test(),
        Some("test-browser") => setup::test_tools().and_then(|()| browser_tests()),
        Some("bench") => bench::main(&args[1..]),
        Some("bench-widget") => bench_widget(),
        Some("bench-lambda") => bench_lambda::main(),
        Some("soak") => soak::main(&args[1..]),
        Some("widget") => widget_command(&args[1..]),
        Some("dist") => dist(),
        Some("deploy") => infra::deploy(&args[1..]),
        Some("test-infra") => infra::check(),
        Some("tidy") => tidy::check(&root()),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown command {other:?}\n\n{USAGE}")),
        None => Err(anyhow::anyhow!("{USAGE}")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `cargo xtask widget [--trunk]`: into `widget/dist`, or (run by Trunk's
/// build hook, `Trunk.toml`) into the folder Trunk stages.
fn widget_command(args: &[String]) -> Result<()> {
    let output = match args {
        [] => widget::Output::Fresh(widget::default_dist()),
        [flag] if flag == "--trunk" => widget::Output::TrunkStaging(
            std::env::var_os("TRUNK_STAGING_DIR")
                .map(PathBuf::from)
                .context("--trunk: TRUNK_STAGING_DIR is not set (run `trunk build --release`)")?,
        ),
        _ => bail!("usage: cargo xtask widget [--trunk]"),
    };
    setup::wasm_target()?;
    setup::wasm_bindgen_cli()?;
    setup::npm_ci("widget")?;
    widget::build(&output)
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Prints a step heading, so a person can follow a long run.
pub fn step(what: &str) {
    println!("\n==> {what}");
}

/// Runs a command in the workspace root; fails with its name if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn dev(args: &[String]) -> Result<()> {
    let mut listen = "127.0.0.1:8080".to_owned();
    let mut settings = None;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        match (flag.as_str(), rest.next()) {
            ("--listen", Some(addr)) => listen = addr.clone(),
            ("--settings", Some(file)) => settings = Some(std::path::absolute(file)?),
            _ => bail!("{USAGE}"),
        }
    }
    if let Some(file) = &settings
        && !file.is_file()
    {
        bail!("--settings {}: no such file", file.display());
    }
    setup::wasm_target()?;
    setup::wasm_bindgen_cli()?;
    setup::npm_ci("widget")?;
    widget::build_dist()?;
    step("building the local server");
    run(cargo().args(["build", "--release", "--package", "cli", "--bin", "dachat"]))?;
    let dachat = root().join("target/release/dachat");
    let keys = root().join(".dachat/dev-keys");
    if !keys.join("private.pem").exists() {
        step("generating a dev signing key (.dachat/dev-keys)");
        run(Command::new(&dachat).args(["keygen", "--out-dir"]).arg(&keys))?;
    }
    step(&format!("starting the local server on http://{listen}"));
    println!(
        "  open http://{listen}/ in a browser: pick an identity and contexts, and the page embeds the chat;\n  \
         a second window as another user chats with the first. Notification e-mail (codes, digests)\n  \
         lands in http://{listen}/dev/inbox unless DACHAT_SMTP_URL is set. Stop with Ctrl-C."
    );
    let mut serve = Command::new(&dachat);
    serve.args(["serve", "--listen", &listen, "--dev-keys"]).arg(&keys);
    if let Some(file) = settings {
        serve.arg("--settings").arg(file);
    }
    run(&mut serve)
}

fn test() -> Result<()> {
    let started = std::time::Instant::now();
    warn_if_disk_low();
    setup::test_tools()?;

    step("formatting (cargo fmt --check)");
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    step("tidy: every Rust file opens with a //! line, long files say why, no module imports one above it");
    tidy::check(&root())?;
    step("docs (cargo doc --no-deps, private items too, warnings denied)");
    run(cargo()
        .args(["doc", "--no-deps", "--workspace", "--document-private-items"])
        .env("RUSTDOCFLAGS", "-D warnings -A rustdoc::private-intra-doc-links"))?;
    step("dependencies: licences, bans and sources (cargo deny), and the widget never reaches tokio or aws-*");
    deps::check()?;
    step("lints (cargo clippy --all-targets -D warnings)");
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    // --all-targets leaves out the test = false binaries (they need services)
    run(cargo().args([
        "clippy",
        "--package",
        "backend",
        "--test",
        "contract",
        "--package",
        "cli",
        "--test",
        "operator",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("lints of the widget as the browser runs it (clippy --target wasm32, incl. the chat-client suite)");
    run(cargo().args([
        "clippy",
        "--package",
        "widget",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // the widget's own build makes each piece a #[wasm_split] function (feature `split`)
    run(cargo()
        .arg("clippy")
        .args(widget::SPLIT_BUILD)
        .args(["--", "-D", "warnings"]))?;
    step("the Twilio shim type-checks against the pinned SDK's own types (tsc --strict)");
    run(Command::new(root().join("widget/node_modules/.bin/tsc")).args(["-p", "widget/js/tsconfig.json"]))?;
    step("the shared protocol crate builds for wasm32 (no native-only dependency)");
    run(cargo().args(["check", "--package", "protocol", "--target", "wasm32-unknown-unknown"]))?;

    step("unit and API tests (cargo test --workspace)");
    run(cargo().args(["test", "--workspace"]))?;

    step("building the test services (and the Lambda binary cargo lambda watch runs)");
    setup::cargo_lambda()?;
    run(cargo().args(["build", "--package", "twilio-standin", "--bin", "twilio-standin"]))?;
    run(cargo().args(["build", "--package", "backend", "--bin", "dachat-lambda"]))?;
    step("starting Prism (Twilio's OpenAPI), the Twilio stand-in behind Prism's validating proxy, and moto");
    let stack = services::Stack::start()?;
    step(
        "contract tests against Prism, moto and the twilio helper library, and the operator commands (publish) against moto",
    );
    let mut contract = cargo();
    contract.args([
        "test",
        "--package",
        "backend",
        "--test",
        "contract",
        "--package",
        "cli",
        "--test",
        "operator",
    ]);
    for (key, value) in stack.env() {
        contract.env(key, value);
    }
    let result = run(&mut contract);
    drop(stack);
    result?;

    infra::check()?;
    browser_tests()?;

    println!("\nall checks passed in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// What a cold `cargo xtask test` writes into `target/` (measured on a fresh
/// clone with `CARGO_INCREMENTAL=0`, as CI runs it).
const COLD_RUN_BYTES: u64 = 6_500_000_000;

/// Says so before a long run when the disk that holds `target/` has less
/// free space than a cold run writes: running out shows up much later, as a
/// linker crash or an I/O error in the middle of a build.
fn warn_if_disk_low() {
    let output = Command::new("df").args(["-Pk"]).arg(root()).output();
    let free_kib = output.ok().and_then(|out| {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines().nth(1)?.split_whitespace().nth(3)?.parse::<u64>().ok()
    });
    match free_kib {
        Some(kib) if kib * 1024 < COLD_RUN_BYTES => println!(
            "xtask: warning: {:.1} GB free on the disk that holds target/; a cold run writes about {:.1} GB",
            (kib * 1024) as f64 / 1e9,
            COLD_RUN_BYTES as f64 / 1e9
        ),
        Some(_) => {}
        None => println!("xtask: warning: cannot tell how much disk is free (df failed)"),
    }
}

/// The widget built by `trunk build --release` (as CI must), the local
/// server built, then every check in a real browser, on Trunk's output.
fn browser_tests() -> Result<()> {
    step("building the widget with Trunk (trunk build --release; its hook runs cargo xtask widget --trunk)");
    run(Command::new("trunk").args(["build", "--release"]))?;
    step("building the local server and the Twilio stand-in for the browser tests");
    run(cargo().args(["build", "--package", "cli", "--bin", "dachat"]))?;
    run(cargo().args(["build", "--package", "twilio-standin", "--bin", "twilio-standin"]))?;
    step("the chat-client suite in headless Chromium: local provider, and Twilio's SDK replaced by a stand-in");
    suite::run_suite(&root().join("target/debug/dachat"))?;
    step("smoke test of the local server (dachat smoke: API, dev token, session, renewal, widget files and headers)");
    let server = services::local_server(&root().join("target/debug/dachat"))?;
    let smoke = run(Command::new(root().join("target/debug/dachat")).args(["smoke", "--api", &server.base]));
    drop(server);
    smoke?;
    step("end-to-end tests in headless Chromium (node --test tests/e2e/)");
    let artifacts = root().join("target/e2e-artifacts");
    run(Command::new("node")
        .args(["--test", "--test-concurrency=1", "tests/e2e/"])
        .env("DACHAT_BIN", root().join("target/debug/dachat"))
        .env("DACHAT_STANDIN_BIN", root().join("target/debug/twilio-standin"))
        .env("DACHAT_WIDGET_DIR", root().join("widget/dist"))
        .env("DACHAT_E2E_ARTIFACTS", &artifacts))?;
    println!("  screenshots: {}", artifacts.display());
    Ok(())
}

fn bench_widget() -> Result<()> {
    setup::test_tools()?;
    widget::build_dist()?;
    step("building the local server and the Twilio stand-in (release)");
    run(cargo().args([
        "build",
        "--release",
        "--package",
        "cli",
        "--bin",
        "dachat",
        "--package",
        "twilio-standin",
        "--bin",
        "twilio-standin",
    ]))?;
    step(
        "widget timings in headless Chromium (tests/perf/widget.mjs, paste.mjs, photo.mjs; DACHAT_BASE_WIDGET_DIR: an earlier build beside)",
    );
    for script in ["tests/perf/widget.mjs", "tests/perf/paste.mjs", "tests/perf/photo.mjs"] {
        run(Command::new("node")
            .arg(script)
            .env("DACHAT_BIN", root().join("target/release/dachat"))
            .env("DACHAT_STANDIN_BIN", root().join("target/release/twilio-standin"))
            .env("DACHAT_WIDGET_DIR", root().join("widget/dist")))?;
    }
    Ok(())
}

/// The Lambda binaries `dist` builds (each into `target/lambda/<bin>/`).
pub const LAMBDAS: [&str; 3] = ["dachat-lambda", "dachat-dev-token", "dachat-notifier"];

pub fn dist() -> Result<()> {
    setup::cargo_lambda()?;
    step("building the Lambda for arm64 (cargo lambda build --release --arm64)");
    let venv_bin = root().join(".venv/bin");
    let path = format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap_or_default());
    run(cargo()
        .args([
            "lambda",
            "build",
            "--release",
            "--arm64",
            "--package",
            "backend",
            "--bin",
            "dachat-lambda",
            "--bin",
            "dachat-dev-token",
            "--bin",
            "dachat-notifier",
        ])
        .env("PATH", path))?;
    for bin in LAMBDAS {
        let zip_less = root().join(format!("target/lambda/{bin}/bootstrap"));
        let bytes = std::fs::metadata(&zip_less)
            .with_context(|| format!("cargo lambda wrote no {}", zip_less.display()))?
            .len();
        println!("built {} ({:.1} MB)", zip_less.display(), bytes as f64 / 1e6);
    }
    Ok(())
}
