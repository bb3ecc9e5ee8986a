//! `cargo xtask bench`, step "renewals across 4 instances" (issue #28): how
//! much a renewal costs when it lands on an instance that has not seen the
//! user, as on Lambda, where instances are many and short-lived.
//!
//! Four `dachat serve` processes of one build share a data folder (so, from
//! this commit on, the aligned room sets in `twilio.db`) and the Twilio
//! stand-in. Every user opens a session on instance `i % 4`; then each
//! renews on that same instance (the control: aligned in its memory, what
//! this harness costs), then three times more, on the three other
//! instances in turn (the case at hand). Measured over the renewals only:
//! server CPU (all four processes, from `/proc`), Twilio requests (the
//! stand-in's count), req/s and errors.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::json;
use testkit::Supervised;

use crate::services::free_port;

pub const INSTANCES: usize = 4;
/// Renewals in flight at once, over all instances.
const IN_FLIGHT: usize = 16;

/// What one build did.
#[derive(Debug, Clone)]
pub struct Figures {
    pub renewals: usize,
    pub errors: usize,
    pub twilio_per_1000: f64,
    pub cpu_us_per_renewal: f64,
    pub rps: f64,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "renewals={} errors={} twilio_per_1000={:.1} cpu_us_per_req={:.1} rps={:.0}",
            self.renewals, self.errors, self.twilio_per_1000, self.cpu_us_per_renewal, self.rps
        )
    }
}

/// CPU seconds a process has used (user + system).
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // the fields after the command name, which is in parentheses
    let rest = stat.rsplit_once(')').context("odd /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / clock_ticks()?)
}

fn clock_ticks() -> Result<f64> {
    let out = Command::new("getconf").arg("CLK_TCK").output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

async fn twilio_requests(http: &reqwest::Client, standin: &str) -> Result<u64> {
    let stats: serde_json::Value = http
        .get(format!("{standin}/_standin/stats"))
        .send()
        .await?
        .json()
        .await?;
    stats["requests"].as_u64().context("stand-in stats without requests")
}

/// Sends `jobs` (port, path, body) with [`IN_FLIGHT`] at once; the number not answered 200.
async fn send_all(http: &reqwest::Client, jobs: Vec<(u16, &'static str, serde_json::Value)>) -> usize {
    let jobs = std::sync::Arc::new(std::sync::Mutex::new(jobs.into_iter()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (http, jobs) = (http.clone(), jobs.clone());
        workers.spawn(async move {
            let mut failed = 0;
            loop {
                let next = jobs.lock().unwrap_or_else(|p| p.into_inner()).next();
                let Some((port, path, body)) = next else { break };
                let ok = http
                    .post(format!("http://127.0.0.1:{port}{path}"))
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                failed += usize::from(!ok);
            }
            failed
        });
    }
    let mut failed = 0;
    while let Some(done) = workers.join_next().await {
        failed += done.unwrap_or(IN_FLIGHT);
    }
    failed
}

/// Renewals sent to the instances, and what they cost.
async fn renew(
    http: &reqwest::Client,
    standin: &str,
    servers: &[Supervised],
    renewals: Vec<(u16, &'static str, serde_json::Value)>,
) -> Result<Figures> {
    let count = renewals.len();
    let twilio_before = twilio_requests(http, standin).await?;
    let cpu_before: f64 = servers.iter().map(|s| cpu_seconds(s.id())).sum::<Result<f64>>()?;
    let started = Instant::now();
    let errors = send_all(http, renewals).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after: f64 = servers.iter().map(|s| cpu_seconds(s.id())).sum::<Result<f64>>()?;
    let twilio_after = twilio_requests(http, standin).await?;
    Ok(Figures {
        renewals: count,
        errors,
        twilio_per_1000: (twilio_after - twilio_before) as f64 * 1000.0 / count as f64,
        cpu_us_per_renewal: (cpu_after - cpu_before) * 1e6 / count as f64,
        rps: count as f64 / elapsed,
    })
}

/// Runs the step for one build: `serve` makes the command of an instance
/// (binary, port, data folder). Answers (renewals on the instance that
/// opened the session, renewals on the others).
pub fn measure(
    serve: &dyn Fn(u16, &Path) -> Command,
    data: &Path,
    standin: &str,
    tokens: &[String],
) -> Result<(Figures, Figures)> {
    let _ = std::fs::remove_dir_all(data);
    std::fs::create_dir_all(data)?;
    let mut servers = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..INSTANCES {
        let port = free_port()?;
        let mut server = Supervised::spawn(&format!("instance {port}"), &mut serve(port, data), None)?;
        server.wait_for_port(port, Duration::from_secs(30))?;
        servers.push(server);
        ports.push(port);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let sessions = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let body = json!({"token": t, "context": "general", "deviceId": "bench"});
                (ports[i % INSTANCES], "/v1/session", body)
            })
            .collect();
        let failed = send_all(&http, sessions).await;
        if failed > 0 {
            bail!("{failed} of {} sessions were not opened", tokens.len());
        }
        let ports = &ports;
        let on = |pass: usize| {
            tokens.iter().enumerate().map(move |(i, t)| {
                let body = json!({"token": t, "deviceId": "bench"});
                (ports[(i + pass) % INSTANCES], "/v1/token", body)
            })
        };
        let same = renew(&http, standin, &servers, on(0).collect()).await?;
        let others = renew(&http, standin, &servers, (1..INSTANCES).flat_map(on).collect()).await?;
        Ok((same, others))
    })
}
