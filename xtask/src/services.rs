//! The test services, each a real program on a free loopback port, started
//! here and stopped by PID when the [`Stack`] is dropped:
//!
//! - Prism serving Twilio's OpenAPI description as a validating mock, and
//!   SendGrid's Mail Send description likewise;
//! - our stateful Twilio stand-in, behind Prism's validating proxy;
//! - moto, the AWS API emulator (SSM);
//! - `cargo lambda watch`: the Lambda Runtime API emulator running the
//!   `dachat-lambda` binary with its settings in SSM on moto (the stack
//!   name [`LAMBDA_STACK`]) and Twilio's REST API at the validating proxy.
//!
//! Their output goes to `target/test-services/*.log`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use testkit::Supervised;

use crate::root;

/// The stack name whose SSM parameters the Lambda under `cargo lambda watch` reads.
pub const LAMBDA_STACK: &str = "dachat-lambda-contract";

/// Started services, stopped (by PID, in reverse order) when dropped.
#[derive(Default)]
pub struct Stack {
    services: Vec<Supervised>,
    env: Vec<(String, String)>,
}

/// A port nothing listens on right now (loopback).
pub fn free_port() -> Result<u16> {
    Ok(testkit::free_port()?)
}

impl Stack {
    pub fn start() -> Result<Self> {
        let mut stack = Stack::default();
        let spec = root().join("tests/specs/twilio_conversations_v1.prism.json");
        let prism = root().join("tests/node_modules/.bin/prism");

        // Prism in `mode` (mock, or proxy with an upstream) on a free port
        let prism_in = |mode: &str, port: u16, spec: &std::path::Path| {
            let mut cmd = Command::new(&prism);
            cmd.args([
                mode,
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "--errors",
                "-v",
                "warn",
            ])
            .arg(spec);
            cmd
        };
        let mock = free_port()?;
        stack.spawn("prism-mock", &mut prism_in("mock", mock, &spec))?;
        let sendgrid = free_port()?;
        stack.spawn(
            "prism-sendgrid",
            &mut prism_in("mock", sendgrid, &root().join("tests/specs/tsg_mail_v3.json")),
        )?;

        let standin = free_port()?;
        let standin_bin = root().join("target/debug/twilio-standin");
        stack.spawn(
            "twilio-standin",
            Command::new(standin_bin).arg(format!("127.0.0.1:{standin}")),
        )?;

        let proxy = free_port()?;
        stack.spawn(
            "prism-proxy",
            prism_in("proxy", proxy, &spec).arg(format!("http://127.0.0.1:{standin}")),
        )?;

        let moto = free_port()?;
        stack.spawn(
            "moto",
            Command::new(root().join(".venv/bin/moto_server")).args(["-H", "127.0.0.1", "-p", &moto.to_string()]),
        )?;

        let url = |port: u16| format!("http://127.0.0.1:{port}");
        let lambda = free_port()?;
        let function_env = [
            format!("STACK_NAME={LAMBDA_STACK}"),
            format!("AWS_ENDPOINT_URL={}", url(moto)),
            "AWS_REGION=eu-west-1".to_owned(),
            "AWS_ACCESS_KEY_ID=testing".to_owned(),
            "AWS_SECRET_ACCESS_KEY=testing".to_owned(),
            "AWS_EC2_METADATA_DISABLED=true".to_owned(),
            format!("DACHAT_TWILIO_BASE_URL={}", url(proxy)),
            "RUST_LOG=info".to_owned(),
        ];
        let venv_bin = root().join(".venv/bin");
        stack.spawn(
            "lambda-watch",
            crate::cargo()
                .args([
                    "lambda",
                    "watch",
                    "--ignore-changes",
                    "--invoke-address",
                    "127.0.0.1",
                    "--invoke-port",
                ])
                .arg(lambda.to_string())
                .args(["--package", "backend", "--env-var"])
                .arg(function_env.join(","))
                .env(
                    "PATH",
                    format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap_or_default()),
                ),
        )?;

        for (name, port) in [
            ("prism-mock", mock),
            ("prism-sendgrid", sendgrid),
            ("twilio-standin", standin),
            ("prism-proxy", proxy),
            ("moto", moto),
            ("lambda-watch", lambda),
        ] {
            stack.wait_ready(name, port)?;
        }
        stack.env = vec![
            ("DACHAT_TEST_PRISM_MOCK".into(), url(mock)),
            ("DACHAT_TEST_SENDGRID_MOCK".into(), url(sendgrid)),
            ("DACHAT_TEST_STANDIN".into(), url(standin)),
            ("DACHAT_TEST_PRISM_PROXY".into(), url(proxy)),
            (
                "DACHAT_TEST_PYTHON".into(),
                root().join(".venv/bin/python").display().to_string(),
            ),
            ("DACHAT_TEST_LAMBDA".into(), url(lambda)),
            ("DACHAT_TEST_LAMBDA_STACK".into(), LAMBDA_STACK.into()),
            ("AWS_ENDPOINT_URL".into(), url(moto)),
            ("AWS_REGION".into(), "eu-west-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ];
        Ok(stack)
    }

    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    fn spawn(&mut self, name: &'static str, cmd: &mut Command) -> Result<()> {
        let log = root().join(format!("target/test-services/{name}.log"));
        let service = Supervised::spawn(name, cmd.current_dir(root()), Some(&log))?;
        println!("  {name}: pid {}, log {}", service.id(), log.display());
        self.services.push(service);
        Ok(())
    }

    /// Waits until `port` accepts connections, or the service exits, or 60 s pass.
    fn wait_ready(&mut self, name: &str, port: u16) -> Result<()> {
        let service = self
            .services
            .iter_mut()
            .find(|s| s.name() == name)
            .with_context(|| format!("{name} was not started"))?;
        Ok(service.wait_for_port(port, Duration::from_secs(60))?)
    }
}

/// The local server (`dachat serve` with fresh dev keys and data under
/// `target/test-services/local`, started the one way tests start it).
pub fn local_server(dachat: &Path) -> Result<testkit::serve::Server> {
    let dir = root().join("target/test-services/local");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let keys = dir.join("keys");
    testkit::serve::keygen(dachat, &keys)?;
    let server = testkit::serve::Serve::new(dachat, "local")
        .folders(&keys, &dir.join("data"))
        .start()?;
    println!("  dachat serve: pid {}, log {}", server.pid(), server.log.display());
    Ok(server)
}

/// POSTs JSON to the local server (testkit's `post_json`, on a runtime of
/// its own): the JSON answer, which must be a 200.
pub fn post_json(base: &str, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (status, answer) = runtime.block_on(testkit::http::post_json(
        &reqwest::Client::new(),
        &format!("{base}{path}"),
        body,
    ))?;
    if status != 200 {
        bail!("POST {path}: HTTP {status}: {answer}");
    }
    Ok(answer)
}

impl Drop for Stack {
    fn drop(&mut self) {
        while let Some(service) = self.services.pop() {
            drop(service);
        }
    }
}
