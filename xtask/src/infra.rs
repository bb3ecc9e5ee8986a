//! The AWS deployment (`infra/`, CDK in TypeScript): its offline checks
//! and the one-command deploy.
//!
//! - [`check`] (part of `cargo xtask test`): the arm64 Lambdas built as
//!   they ship (`cargo xtask dist`), `tsc --noEmit`, the template
//!   assertions (`infra/test/`), `cdk synth` of every stack, then cfn-lint
//!   and checkov on the synthesized templates. Nothing reaches AWS: the
//!   account and region are fixed placeholders.
//! - [`deploy`] (`cargo xtask deploy`): builds the Lambdas and the widget,
//!   `cdk deploy` of `${STACK_NAME}` (outputs into
//!   `target/cdk-outputs.json`), then `dachat publish` to the stack's
//!   bucket with an invalidation of the loader, and prints the script tag.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::{cargo, root, run, setup, step};

/// Where the offline synth writes the templates.
fn cdk_out() -> PathBuf {
    root().join("target/cdk.out")
}

fn node_bin(tool: &str) -> PathBuf {
    root().join("infra/node_modules/.bin").join(tool)
}

/// The environment of an offline synth: placeholders, no metadata probe,
/// no version check, no notices fetched.
fn offline(cmd: &mut Command) -> &mut Command {
    cmd.current_dir(root().join("infra"))
        .env("AWS_REGION", "eu-west-1")
        .env("CDK_DEFAULT_ACCOUNT", "111111111111")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("CDK_DISABLE_VERSION_CHECK", "1")
        .env_remove("STACK_NAME")
}

/// Runs in `infra/` (crate::run runs in the workspace root).
fn run_in_infra(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

pub fn check() -> Result<()> {
    setup::infra_tools()?;
    crate::dist()?;
    step("infra: type-check the CDK app (tsc --noEmit)");
    run_in_infra(
        Command::new(node_bin("tsc"))
            .args(["--noEmit", "-p", "."])
            .current_dir(root().join("infra")),
    )?;
    step("infra: assertions on the synthesized stacks (node --test infra/test/)");
    run_in_infra(offline(Command::new("node").args([
        "--import",
        "tsx",
        "--test",
        "test/stacks.test.ts",
    ])))?;
    step("infra: cdk synth of every stack (offline, into target/cdk.out)");
    let out = cdk_out();
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    run_in_infra(offline(
        Command::new(node_bin("cdk"))
            .args(["synth", "--no-notices", "--quiet", "-o"])
            .arg(&out),
    ))?;
    let templates = templates(&out)?;
    step("infra: cfn-lint on the templates");
    // W3005 is CDK's own: it adds DependsOn on the role a GetAtt already orders by
    run(Command::new(root().join(".venv-infra/bin/cfn-lint"))
        .args(["--ignore-checks", "W3005", "--"])
        .args(&templates))?;
    step("infra: checkov on the templates (each skip carries its reason in the template)");
    let mut checkov = Command::new(root().join(".venv-infra/bin/checkov"));
    checkov.args([
        "--skip-download",
        "--quiet",
        "--compact",
        "--framework",
        "cloudformation",
    ]);
    for template in &templates {
        checkov.arg("-f").arg(template);
    }
    run(&mut checkov)
}

/// The synthesized templates (one per stack).
fn templates(out: &Path) -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".template.json"))
        .collect();
    found.sort();
    if found.len() < 2 {
        bail!(
            "cdk synth wrote {} templates into {}, expected 2",
            found.len(),
            out.display()
        );
    }
    Ok(found)
}

/// `cargo xtask deploy [--dev-extras]`: see the module documentation.
pub fn deploy(args: &[String]) -> Result<()> {
    let dev_extras = match args {
        [] => false,
        [flag] if flag == "--dev-extras" => true,
        _ => bail!("usage: cargo xtask deploy [--dev-extras]"),
    };
    setup::npm_ci("infra")?;
    crate::dist()?;
    setup::wasm_target()?;
    setup::wasm_bindgen_cli()?;
    setup::npm_ci("widget")?;
    crate::widget::build_dist()?;
    run(cargo().args(["build", "--release", "--package", "cli", "--bin", "dachat"]))?;
    let stack = std::env::var("STACK_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "twilio-integration-dev".to_owned());
    let outputs = root().join("target/cdk-outputs.json");
    step(&format!(
        "deploying {stack} (cdk deploy; AWS credentials from the environment)"
    ));
    let mut deploy = Command::new(node_bin("cdk"));
    deploy
        .args([
            "deploy",
            "--no-notices",
            "--require-approval",
            "broadening",
            "--outputs-file",
        ])
        .arg(&outputs)
        .arg(&stack)
        .current_dir(root().join("infra"));
    if dev_extras {
        deploy.arg(format!("{stack}-dev-extras"));
    }
    run_in_infra(&mut deploy)?;
    let text = std::fs::read_to_string(&outputs).with_context(|| format!("cdk wrote no {}", outputs.display()))?;
    let all: serde_json::Value = serde_json::from_str(&text)?;
    let output = |name: &str| {
        all[&stack][name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("{} has no {stack}.{name}", outputs.display()))
    };
    step("publishing the widget (dachat publish)");
    run(Command::new(root().join("target/release/dachat"))
        .args(["publish", "--bucket", &output("WidgetBucket")?, "--invalidate"])
        .arg(output("WidgetDistributionId")?))?;
    println!("\nAPI: {}\nwidget: {}", output("ApiUrl")?, output("WidgetBaseUrl")?);
    println!("paste into the toolbox page:\n  {}", output("ScriptTag")?);
    println!(
        "then lock Twilio down once: target/release/dachat configure --ssm --api {}",
        output("ApiUrl")?
    );
    if dev_extras && let Some(url) = all[format!("{stack}-dev-extras")]["DevTokenUrl"].as_str() {
        println!(
            "dev tokens (after README step 6: its key pair, apiKey, and chat/acceptDevTokens=on on this stage):\n  curl -X POST -H 'Authorization: Bearer <apiKey>' '{url}?identity=alex&context=general,random'"
        );
    }
    Ok(())
}
