//! `cargo xtask bench-lambda`: the Lambda's package size and its init
//! time. The deployable arm64 binaries (`cargo xtask dist`) are measured
//! as CDK zips them (deflate, level 9); the init time is that of the same
//! code built for this machine (release), started 20 times as Lambda
//! starts it, with its settings in SSM on moto: the binary logs its init
//! time, and how much of it was the SSM round trip, when it is ready.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::{LAMBDAS, cargo, root, run, setup, step};

const RUNS: usize = 20;

pub fn main() -> Result<()> {
    setup::python_tools()?;
    crate::dist()?;
    step("package sizes (bootstrap zipped at deflate level 9, as an asset)");
    for bin in LAMBDAS {
        let path = root().join(format!("target/lambda/{bin}/bootstrap"));
        let zipped = zipped_size(&path)?;
        let raw = std::fs::metadata(&path)?.len();
        println!("  {bin}: bootstrap {raw} B, zip {zipped} B");
    }
    step("building dachat-lambda for this machine (release)");
    run(cargo().args(["build", "--release", "--package", "backend", "--bin", "dachat-lambda"]))?;
    let port = testkit::free_port()?;
    let log = root().join("target/test-services/bench-moto.log");
    let mut moto = testkit::Supervised::spawn(
        "moto",
        Command::new(root().join(".venv/bin/moto_server")).args(["-H", "127.0.0.1", "-p", &port.to_string()]),
        Some(&log),
    )?;
    moto.wait_for_port(port, Duration::from_secs(60))?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let aws = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    // the settings a real stage has (nothing is fetched at init)
    let put = "import boto3\n\
        ssm = boto3.client('ssm', region_name='eu-west-1')\n\
        params = [('chat/jwks.json', 'https://toolbox.example/.well-known/jwks.json', 'String'),\n\
        ('twilio/accountSID', 'AC' + '0' * 32, 'String'), ('twilio/apiKey', 'SK' + '0' * 32, 'String'),\n\
        ('twilio/apiSecret', 'secret', 'SecureString'), ('twilio/authToken', 'token', 'SecureString'),\n\
        ('twilio/chatServiceSID', 'IS' + '0' * 32, 'String')]\n\
        for name, value, kind in params: ssm.put_parameter(Name='/dachat-bench/' + name, Value=value, Type=kind, Overwrite=True)\n";
    run(Command::new(root().join(".venv/bin/python"))
        .args(["-c", put])
        .envs(aws))?;
    step(&format!("init time, {RUNS} starts (the binary's own log line)"));
    let mut init = Vec::new();
    let mut without_ssm = Vec::new();
    for _ in 0..RUNS {
        // no runtime API listens: the binary logs "ready", then stops
        let output = Command::new(root().join("target/release/dachat-lambda"))
            .envs(aws)
            .env("STACK_NAME", "dachat-bench")
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .env("RUST_LOG", "info")
            .output()?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        let line = text
            .lines()
            .find(|l| l.contains("dachat-lambda is ready"))
            .with_context(|| format!("no ready line in: {text}"))?;
        let field = |name: &str| -> Result<f64> {
            let line: serde_json::Value = serde_json::from_str(line)?;
            line["fields"][name]
                .as_str()
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("no {name} in {line}"))
        };
        init.push(field("init_ms")?);
        without_ssm.push(field("without_ssm_ms")?);
    }
    drop(moto);
    for (what, values) in [("init", &mut init), ("init without SSM", &mut without_ssm)] {
        values.sort_by(f64::total_cmp);
        println!(
            "  {what}: median {:.1} ms, min {:.1}, max {:.1} ({RUNS} runs)",
            values[RUNS / 2],
            values[0],
            values[RUNS - 1]
        );
    }
    Ok(())
}

/// The size of `path` zipped alone at deflate level 9 (Python's zipfile).
fn zipped_size(path: &std::path::Path) -> Result<u64> {
    let script = "import io, sys, zipfile\n\
        buf = io.BytesIO()\n\
        with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z: z.write(sys.argv[1], 'bootstrap')\n\
        print(len(buf.getvalue()))\n";
    let output = Command::new("python3").args(["-c", script]).arg(path).output()?;
    if !output.status.success() {
        bail!(
            "zipping {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?.trim().parse()?)
}
