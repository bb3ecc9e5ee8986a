//! `cargo xtask bench`: the token-path benchmarks of BENCHMARKS.md, run
//! the same way as the Node peer's and alternating with it in one run.
//!
//! 1. release builds of `dachat` and the Twilio stand-in;
//! 2. the peer's harness (`../shared/bench`, copied to `target/bench/peer`):
//!    100,000 distinct host tokens, its JWKS server, `token-path.sh`;
//! 3. `ROUNDS` rounds, each: peer (default), peer (secret KeyObject), ours on
//!    `/v1/token`; every server fresh, measured with `SERVER_PID`;
//! 4. `/v1/session` with a warm provisioning cache (stand-in as Twilio)
//!    against `/v1/token` on the same 5,000 tokens;
//! 5. renewals across 4 instances sharing a data folder, each renewal on an
//!    instance that has not seen the user (`bench_instances.rs`), ours and
//!    the baseline's;
//! 6. cold start with `cold-start.py`;
//! 7. the micro-benchmarks (`cargo bench -p backend --bench token_path`).
//!
//! Results go to stdout and `target/bench/results.txt`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use testkit::Supervised;

use crate::services::free_port;
use crate::{bench_instances, cargo, root, run, setup, step};

const SESSION_TOKENS: usize = 5_000;

/// A benchmarked server, stopped (SIGTERM, then SIGKILL) when dropped.
type Server = Supervised;

fn spawn(cmd: &mut Command, port: u16) -> Result<Server> {
    let mut server = Supervised::spawn(&format!("{cmd:?}"), cmd, None)?;
    server.wait_for_port(port, Duration::from_secs(30))?;
    Ok(server)
}

/// `key=value` pairs of a harness's last `RESULT` line.
fn parse_result(output: &str) -> Result<BTreeMap<String, f64>> {
    let line = output
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .context("no RESULT line")?;
    Ok(line
        .split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| v.parse().ok().map(|v| (k.to_owned(), v)))
        .collect())
}

fn capture(cmd: &mut Command) -> Result<String> {
    let output = cmd.stderr(Stdio::inherit()).output()?;
    if !output.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&output.stdout));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

struct Bench {
    peer: PathBuf,
    work: PathBuf,
    tokens: PathBuf,
    jwks_url: String,
    results: Vec<(String, BTreeMap<String, f64>)>,
    /// The renewals across 4 instances, per build and round.
    instances: Vec<(String, bench_instances::Figures)>,
    log: String,
}

impl Bench {
    fn record(&mut self, name: &str, result: BTreeMap<String, f64>) {
        let line = format!(
            "{name}: rps={:.0} p50_ms={:.2} p99_ms={:.2} errors={} cpu_us_per_req={:.1} load_rss_mib={:.1} peak_rss_mib={:.1} client_cpu_s={:.2} loadavg={}",
            result.get("rps").unwrap_or(&0.0),
            result.get("p50_ms").unwrap_or(&0.0),
            result.get("p99_ms").unwrap_or(&0.0),
            result.get("errors").unwrap_or(&-1.0),
            cpu_us_per_request(&result),
            result.get("load_rss_kib").unwrap_or(&0.0) / 1024.0,
            result.get("peak_rss_kib").unwrap_or(&0.0) / 1024.0,
            result.get("client_cpu_s").unwrap_or(&0.0),
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split(' ')
                .next()
                .unwrap_or("?"),
        );
        println!("  {line}");
        self.log.push_str(&line);
        self.log.push('\n');
        self.results.push((name.to_owned(), result));
    }

    fn token_path(&self, url: &str, pid: u32, tokens: &Path, device_id: &str) -> Result<BTreeMap<String, f64>> {
        parse_result(&capture(
            Command::new(self.peer.join("token-path.sh"))
                .arg(url)
                .arg(tokens)
                .env("SERVER_PID", pid.to_string())
                .env("DEVICE_ID", device_id),
        )?)
    }

    fn start_peer(&self, port: u16, keyobject: bool) -> Result<Server> {
        spawn(
            Command::new("node")
                .arg(self.peer.join("peer-node/server.js"))
                .env("PORT", port.to_string())
                .env("HOST", "127.0.0.1")
                .env("WORKERS", "1")
                .env("TWILIO_SECRET_KEYOBJECT", if keyobject { "1" } else { "0" })
                .env("JWKS_URL", &self.jwks_url),
            port,
        )
    }

    fn ours(&self, port: u16, twilio_url: Option<&str>) -> Command {
        self.dachat(&root().join("target/release/dachat"), port, twilio_url)
    }

    /// `binary serve` as [`Self::ours`] runs it (ours, or a baseline build),
    /// with a data folder of its own.
    fn dachat(&self, binary: &Path, port: u16, twilio_url: Option<&str>) -> Command {
        let data = self.work.join("data").join(port.to_string());
        let _ = std::fs::remove_dir_all(&data);
        self.dachat_in(binary, port, twilio_url, &data)
    }

    /// `binary serve` on the data folder `data`.
    fn dachat_in(&self, binary: &Path, port: u16, twilio_url: Option<&str>, data: &Path) -> Command {
        let mut cmd = Command::new(binary);
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data)
            .env("DACHAT_JWKS_URL", &self.jwks_url)
            .env("RUST_LOG", "warn");
        if let Some(url) = twilio_url {
            cmd.env("DACHAT_TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef")
                .env("DACHAT_TWILIO_API_KEY", "SK0123456789abcdef0123456789abcdef")
                .env("DACHAT_TWILIO_API_SECRET", "bench-api-key-secret")
                .env("DACHAT_TWILIO_AUTH_TOKEN", "bench-auth-token")
                .env("DACHAT_TWILIO_CHAT_SERVICE_SID", "IS0123456789abcdef0123456789abcdef")
                .env("DACHAT_TWILIO_BASE_URL", url);
        }
        cmd
    }
}

fn cpu_us_per_request(result: &BTreeMap<String, f64>) -> f64 {
    match (result.get("server_cpu_s"), result.get("requests")) {
        (Some(cpu), Some(requests)) if *requests > 0.0 => cpu * 1e6 / requests,
        _ => 0.0,
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

pub fn main(args: &[String]) -> Result<()> {
    const USAGE: &str = "usage: cargo xtask bench [--rounds N] [--baseline PATH-TO-DACHAT]";
    let (mut rounds, mut baseline) = (3usize, None::<PathBuf>);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().with_context(|| format!("{flag} takes a value\n{USAGE}"))?;
        match flag.as_str() {
            "--rounds" => rounds = value.parse().context("--rounds takes a number")?,
            // another build's `dachat` (e.g. an older commit's, built in a
            // worktree) measured on /v1/token in the same rounds as ours
            "--baseline" => baseline = Some(PathBuf::from(value)),
            _ => bail!("unknown option {flag}\n{USAGE}"),
        }
    }
    if let Some(path) = &baseline
        && !path.is_file()
    {
        bail!("--baseline: {} is not a file", path.display());
    }
    setup::bench_tools()?;
    for tool in ["node", "npm", "python3"] {
        setup::require(tool, "install it (Debian: apt-get install nodejs npm python3)")?;
    }
    let shared = std::env::var("DACHAT_PEER_BENCH")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("../shared/bench"));
    if !shared.join("token-path.sh").exists() {
        bail!(
            "the Node peer's harness is not at {} (set DACHAT_PEER_BENCH)",
            shared.display()
        );
    }

    step("building release binaries");
    run(cargo().args(["build", "--release", "--package", "cli", "--bin", "dachat"]))?;
    run(cargo().args(["build", "--release", "--package", "twilio-standin"]))?;

    let work = root().join("target/bench");
    let peer = work.join("peer");
    if !peer.join("peer-node/node_modules").exists() {
        step("copying the Node peer and installing its packages");
        std::fs::create_dir_all(&work)?;
        run(Command::new("cp").arg("-r").arg(&shared).arg(&peer))?;
        run(Command::new("chmod").args(["-R", "u+w"]).arg(&peer))?;
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(peer.join("peer-node")))?;
    }
    let tokens_dir = work.join("tokens");
    let tokens = tokens_dir.join("tokens.txt");
    let have = std::fs::read_to_string(&tokens).map(|t| t.lines().count()).unwrap_or(0);
    if have != 100_000 {
        step("generating 100,000 distinct host tokens (the peer's gen-tokens.js)");
        run(Command::new("node")
            .arg(peer.join("peer-node/gen-tokens.js"))
            .arg("--out")
            .arg(&tokens_dir)
            .args(["--count", "100000"]))?;
    }
    let session_tokens = work.join("session-tokens.txt");
    let first: Vec<String> = std::fs::read_to_string(&tokens)?
        .lines()
        .take(SESSION_TOKENS)
        .map(str::to_owned)
        .collect();
    std::fs::write(&session_tokens, first.join("\n") + "\n")?;

    let jwks_port = free_port()?;
    let _jwks = spawn(
        Command::new("node")
            .arg(peer.join("peer-node/jwks-server.js"))
            .arg(tokens_dir.join("jwks.json"))
            .arg(jwks_port.to_string()),
        jwks_port,
    )?;
    let mut bench = Bench {
        peer: peer.clone(),
        work: work.clone(),
        tokens: tokens.clone(),
        jwks_url: format!("http://127.0.0.1:{jwks_port}/.well-known/jwks.json"),
        results: Vec::new(),
        instances: Vec::new(),
        log: String::new(),
    };
    let standin_port = free_port()?;
    let _standin = spawn(
        Command::new(root().join("target/release/twilio-standin")).arg(format!("127.0.0.1:{standin_port}")),
        standin_port,
    )?;
    let standin_url = format!("http://127.0.0.1:{standin_port}");

    step(&format!(
        "token path: {rounds} rounds of peer (default), peer (KeyObject), ours (/v1/token), alternating"
    ));
    for round in 1..=rounds {
        for (name, keyobject) in [("peer-default", false), ("peer-keyobject", true)] {
            let port = free_port()?;
            let server = bench.start_peer(port, keyobject)?;
            let result = bench.token_path(&format!("http://127.0.0.1:{port}"), server.id(), &tokens, "bench")?;
            drop(server);
            bench.record(&format!("round {round} {name}"), result);
        }
        let port = free_port()?;
        let server = spawn(&mut bench.ours(port, Some(&standin_url)), port)?;
        let result = bench.token_path(
            &format!("http://127.0.0.1:{port}/v1/token"),
            server.id(),
            &tokens,
            "bench",
        )?;
        drop(server);
        bench.record(&format!("round {round} ours-token"), result);
        if let Some(binary) = &baseline {
            let port = free_port()?;
            let server = spawn(&mut bench.dachat(binary, port, Some(&standin_url)), port)?;
            let result = bench.token_path(
                &format!("http://127.0.0.1:{port}/v1/token"),
                server.id(),
                &tokens,
                "bench",
            )?;
            drop(server);
            bench.record(&format!("round {round} baseline-token"), result);
        }
    }

    step(&format!(
        "/v1/session with a warm provisioning cache vs /v1/token, same {SESSION_TOKENS} tokens"
    ));
    for round in 1..=rounds {
        let port = free_port()?;
        let server = spawn(&mut bench.ours(port, Some(&standin_url)), port)?;
        warm_sessions(port, &session_tokens)?;
        // token-path.sh sends {"token", "deviceId"}; the device id carries the
        // context member in, so the same harness measures /v1/session.
        let session = bench.token_path(
            &format!("http://127.0.0.1:{port}/v1/session"),
            server.id(),
            &session_tokens,
            r#"bench","context":"general"#,
        )?;
        let token = bench.token_path(
            &format!("http://127.0.0.1:{port}/v1/token"),
            server.id(),
            &session_tokens,
            "bench",
        )?;
        drop(server);
        bench.record(&format!("round {round} ours-session-warm"), session);
        bench.record(&format!("round {round} ours-token-same-tokens"), token);
    }

    step(&format!(
        "renewals across {} instances: {SESSION_TOKENS} users, each renewing on the instance that opened its session, then on the 3 others",
        bench_instances::INSTANCES
    ));
    for round in 1..=rounds {
        let mut builds = vec![("ours", root().join("target/release/dachat"))];
        if let Some(binary) = &baseline {
            builds.push(("baseline", binary.clone()));
        }
        for (name, binary) in builds {
            let serve = |port: u16, data: &Path| bench.dachat_in(&binary, port, Some(&standin_url), data);
            let (same, others) = bench_instances::measure(&serve, &work.join("data/instances"), &standin_url, &first)?;
            for (variant, figures) in [
                (format!("{name}-same-instance"), same),
                (format!("{name}-other-instances"), others),
            ] {
                let line = format!("round {round} {variant}: {figures}");
                println!("  {line}");
                bench.log.push_str(&line);
                bench.log.push('\n');
                bench.instances.push((variant, figures));
            }
        }
    }

    step("cold start: spawn -> first 200 (including the JWKS fetch), 20 runs");
    let port = free_port()?;
    let mut cold = Command::new("python3");
    cold.arg(peer.join("cold-start.py"))
        .args([
            "--url",
            &format!("http://127.0.0.1:{port}/v1/token"),
            "--runs",
            "20",
            "--tokens",
        ])
        .arg(&bench.tokens)
        .arg("--")
        .arg(root().join("target/release/dachat"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DACHAT_JWKS_URL", &bench.jwks_url)
        .env("RUST_LOG", "warn");
    let cold_ours = parse_result(&capture(&mut cold)?)?;
    let mut cold_peer = Command::new("python3");
    cold_peer
        .arg(peer.join("cold-start.py"))
        .args(["--url", &format!("http://127.0.0.1:{port}"), "--runs", "10", "--tokens"])
        .arg(&bench.tokens)
        .arg("--")
        .arg("node")
        .arg(peer.join("peer-node/server.js"))
        .env("JWKS_URL", &bench.jwks_url)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1");
    let cold_node = parse_result(&capture(&mut cold_peer)?)?;

    step("micro-benchmarks (cargo bench -p backend --bench token_path)");
    let micro = capture(
        cargo()
            .args(["bench", "--package", "backend", "--bench", "token_path"])
            .current_dir(root()),
    )?;
    print!("{micro}");

    let summary = summarize(&bench, &cold_ours, &cold_node, &micro);
    println!("\n{summary}");
    std::fs::write(bench.work.join("results.txt"), format!("{}\n{summary}", bench.log))?;
    println!("(also in {})", bench.work.join("results.txt").display());
    Ok(())
}

/// Opens a session for every token once, so the provisioning cache is warm.
fn warm_sessions(port: u16, tokens: &Path) -> Result<()> {
    let script = r#"
import http.client, json, sys, concurrent.futures
port, path = int(sys.argv[1]), sys.argv[2]
tokens = [t for t in open(path).read().split() if t]
def run(chunk):
    c = http.client.HTTPConnection("127.0.0.1", port)
    bad = 0
    for t in chunk:
        c.request("POST", "/v1/session", json.dumps({"token": t, "context": "general", "deviceId": "bench"}),
                  {"Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        bad += r.status != 200
    return bad
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    bad = sum(pool.map(run, [tokens[i::8] for i in range(8)]))
print(f"warmed {len(tokens)} sessions, {bad} not 200")
sys.exit(1 if bad else 0)
"#;
    run(Command::new("python3")
        .args(["-c", script, &port.to_string()])
        .arg(tokens))
}

fn summarize(
    bench: &Bench,
    cold_ours: &BTreeMap<String, f64>,
    cold_node: &BTreeMap<String, f64>,
    micro: &str,
) -> String {
    let mut by: BTreeMap<&str, Vec<&BTreeMap<String, f64>>> = BTreeMap::new();
    for (name, result) in &bench.results {
        let variant = name.split_whitespace().nth(2).unwrap_or(name);
        by.entry(variant).or_default().push(result);
    }
    let med = |variant: &str, key: &str| -> f64 {
        let mut values: Vec<f64> = by
            .get(variant)
            .map(|rs| {
                rs.iter()
                    .map(|r| {
                        if key == "cpu_us" {
                            cpu_us_per_request(r)
                        } else {
                            r.get(key).copied().unwrap_or(0.0)
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        median(&mut values)
    };
    let mut out = String::from(
        "SUMMARY (medians over rounds)\n| variant | req/s | p50 ms | p99 ms | errors (sum) | server CPU µs/req | RSS under load MiB | peak RSS MiB |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for variant in by.keys() {
        let errors: f64 = by[variant]
            .iter()
            .map(|r| r.get("errors").copied().unwrap_or(0.0))
            .sum();
        out.push_str(&format!(
            "| {variant} | {:.0} | {:.2} | {:.2} | {errors:.0} | {:.1} | {:.1} | {:.1} |\n",
            med(variant, "rps"),
            med(variant, "p50_ms"),
            med(variant, "p99_ms"),
            med(variant, "cpu_us"),
            med(variant, "load_rss_kib") / 1024.0,
            med(variant, "peak_rss_kib") / 1024.0,
        ));
    }
    let ours = med("ours-token", "cpu_us");
    out.push_str(&format!(
        "\nCPU per request, ours / peer default = 1/{:.1}; ours / peer KeyObject = 1/{:.1}\n",
        med("peer-default", "cpu_us") / ours,
        med("peer-keyobject", "cpu_us") / ours
    ));
    out.push_str(&format!(
        "p99, ours / peer default = 1/{:.1}\n",
        med("peer-default", "p99_ms") / med("ours-token", "p99_ms")
    ));
    out.push_str(&format!(
        "session (warm) / token on the same tokens: CPU x{:.2}, p99 x{:.2}, req/s x{:.2}\n",
        med("ours-session-warm", "cpu_us") / med("ours-token-same-tokens", "cpu_us"),
        med("ours-session-warm", "p99_ms") / med("ours-token-same-tokens", "p99_ms"),
        med("ours-session-warm", "rps") / med("ours-token-same-tokens", "rps"),
    ));
    for build in [
        "ours-same-instance",
        "ours-other-instances",
        "baseline-same-instance",
        "baseline-other-instances",
    ] {
        let of = |pick: fn(&bench_instances::Figures) -> f64| {
            let mut values: Vec<f64> = bench
                .instances
                .iter()
                .filter(|(name, _)| name == build)
                .map(|(_, f)| pick(f))
                .collect();
            median(&mut values)
        };
        if bench.instances.iter().any(|(name, _)| name == build) {
            let cpu = of(|f| f.cpu_us_per_renewal);
            out.push_str(&format!(
                "renewals across {} instances, {build}: server CPU {cpu:.1} µs/renewal (peer default / this = {:.1}), Twilio requests {:.1} per 1,000 renewals, {:.0} renewals/s, errors {:.0}\n",
                bench_instances::INSTANCES,
                med("peer-default", "cpu_us") / cpu,
                of(|f| f.twilio_per_1000),
                of(|f| f.rps),
                of(|f| f.errors as f64),
            ));
        }
    }
    out.push_str(&format!(
        "cold start: ours median {:.1} ms (min {:.1}, max {:.1}, 20 runs); peer median {:.1} ms (10 runs)\n",
        cold_ours.get("cold_start_median_ms").unwrap_or(&0.0),
        cold_ours.get("min_ms").unwrap_or(&0.0),
        cold_ours.get("max_ms").unwrap_or(&0.0),
        cold_node.get("cold_start_median_ms").unwrap_or(&0.0),
    ));
    out.push_str(&format!("micro-benchmarks:\n{micro}"));
    out
}
