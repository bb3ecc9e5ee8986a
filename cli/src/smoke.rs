//! `dachat smoke`: checks a running stage end to end, as a user's browser
//! would meet it, and prints one line per check:
//!
//! 1. the API answers `/healthz`;
//! 2. a dev host token: from the dev-extras stack (`--dev-token URL`, the
//!    seed's `POST …/token?identity=…&context=…`, with its API key from
//!    `DACHAT_DEV_TOKEN_KEY`; the stage must accept dev tokens) or, on the
//!    local server, its demo page's `/dev/token`;
//! 3. a session for it (`/v1/session`: the JWKS was fetched and the chat
//!    provider provisioned) and a renewal (`/v1/token`);
//! 4. the widget's files: the loader with its short cache, and every
//!    content-hashed file it leads to (glue, WASM, Twilio shim and SDK)
//!    with its type, its year-long immutable cache and, given `--origin`,
//!    CORS for the toolbox's origin.
//!
//! Every check runs even when one fails; the command fails if any did.

use anyhow::{Context as _, bail};
use reqwest::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, ORIGIN};
use serde_json::{Value, json};

use crate::widget_files::{HASHED_CACHE, LOADER_CACHE};

#[derive(Debug, clap::Args)]
pub struct SmokeArgs {
    /// The API's base URL (the stack's ApiUrl output, or http://127.0.0.1:8080).
    #[arg(long)]
    pub api: String,
    /// The widget's base URL (WidgetBaseUrl; the local server's is API/widget/).
    #[arg(long)]
    pub widget: Option<String>,
    /// The dev-extras token URL (DevTokenUrl); without it, the local server's /dev/token.
    #[arg(long)]
    pub dev_token: Option<String>,
    /// The dev-extras API key (its SSM parameter .../chat-development/apiKey),
    /// sent with --dev-token; read from the environment so it stays out of
    /// shell history and process lists.
    #[arg(long, env = "DACHAT_DEV_TOKEN_KEY", hide_env_values = true)]
    pub dev_token_key: Option<String>,
    /// The context to open a session for.
    #[arg(long, default_value = "smoke-test")]
    pub context: String,
    /// The toolbox's origin: the widget's files must allow it (CORS).
    #[arg(long)]
    pub origin: Option<String>,
}

/// The checks' results, printed as they come.
#[derive(Debug, Default)]
struct Report {
    failed: Vec<String>,
}

impl Report {
    fn check<T>(&mut self, what: &str, result: anyhow::Result<T>) -> Option<T> {
        match result {
            Ok(value) => {
                println!("  ok    {what}");
                Some(value)
            }
            Err(e) => {
                println!("  FAIL  {what}: {e:#}");
                self.failed.push(what.to_owned());
                None
            }
        }
    }
}

pub async fn smoke(args: &SmokeArgs) -> anyhow::Result<()> {
    let api = args.api.trim_end_matches('/').to_owned();
    let widget = args
        .widget
        .clone()
        .unwrap_or_else(|| format!("{api}/widget/"))
        .trim_end_matches('/')
        .to_owned();
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()?;
    let mut report = Report::default();
    println!("smoke test of {api} (widget {widget}/)");

    report.check(
        "the API answers /healthz",
        async {
            let body: Value = json_of(http.get(format!("{api}/healthz")).send().await?, 200).await?;
            anyhow::ensure!(body["status"] == "ok", "answered {body}");
            Ok(())
        }
        .await,
    );

    let token = report.check("a dev host token", dev_token(&http, &api, args).await);
    if let Some(token) = token {
        let session = report.check(
            &format!(
                "a session for {:?} (JWKS fetched, chat provider provisioned)",
                args.context
            ),
            async {
                let body = json!({ "token": token, "context": args.context, "deviceId": "smoke-test" });
                let session: Value =
                    json_of(http.post(format!("{api}/v1/session")).json(&body).send().await?, 200).await?;
                anyhow::ensure!(session["accessToken"].is_string(), "no accessToken in {session}");
                Ok(session["provider"].as_str().unwrap_or("?").to_owned())
            }
            .await,
        );
        if let Some(provider) = session {
            println!("        provider: {provider}");
        }
        report.check(
            "a token renewal (/v1/token)",
            async {
                let body = json!({ "token": token, "deviceId": "smoke-test" });
                let renewed: Value =
                    json_of(http.post(format!("{api}/v1/token")).json(&body).send().await?, 200).await?;
                anyhow::ensure!(renewed["expiresAt"].is_u64(), "no expiresAt in {renewed}");
                Ok(())
            }
            .await,
        );
    }

    let loader = report.check(
        &format!("the loader ({LOADER_CACHE})"),
        fetch(
            &http,
            &format!("{widget}/dachat.js"),
            "javascript",
            LOADER_CACHE,
            args.origin.as_deref(),
        )
        .await,
    );
    if let Some(loader) = loader {
        let glue = report.check(
            "the loader names a content-hashed glue",
            hashed_name(&loader, "widget.", ".js"),
        );
        if let Some(glue) = glue {
            let text = report.check(
                &format!("{glue} ({HASHED_CACHE})"),
                fetch(
                    &http,
                    &format!("{widget}/{glue}"),
                    "javascript",
                    HASHED_CACHE,
                    args.origin.as_deref(),
                )
                .await,
            );
            if let Some(text) = text {
                for (what, prefix, suffix, kind) in [
                    ("WASM", "widget_bg.", ".wasm", "application/wasm"),
                    ("Twilio shim", "twilio.", ".js", "javascript"),
                ] {
                    let Some(name) = report.check(
                        &format!("the glue names the {what}"),
                        hashed_name(&text, prefix, suffix),
                    ) else {
                        continue;
                    };
                    let body = report.check(
                        &format!("{name} ({kind}, {HASHED_CACHE})"),
                        fetch(
                            &http,
                            &format!("{widget}/{name}"),
                            kind,
                            HASHED_CACHE,
                            args.origin.as_deref(),
                        )
                        .await,
                    );
                    if let (Some(body), true) = (body, prefix == "twilio.") {
                        let sdk = report.check(
                            "the shim names the Twilio SDK",
                            hashed_name(&body, "twilio-conversations.", ".min.js"),
                        );
                        if let Some(sdk) = sdk {
                            report.check(
                                &format!("{sdk} ({HASHED_CACHE})"),
                                fetch(
                                    &http,
                                    &format!("{widget}/{sdk}"),
                                    "javascript",
                                    HASHED_CACHE,
                                    args.origin.as_deref(),
                                )
                                .await,
                            );
                        }
                    }
                }
            }
        }
    }
    if report.failed.is_empty() {
        println!("all checks passed");
        Ok(())
    } else {
        bail!("{} checks failed: {}", report.failed.len(), report.failed.join("; "))
    }
}

async fn dev_token(http: &reqwest::Client, api: &str, args: &SmokeArgs) -> anyhow::Result<String> {
    let body: Value = match &args.dev_token {
        Some(url) => {
            let key = args
                .dev_token_key
                .as_deref()
                .context("--dev-token needs the dev-extras API key: set DACHAT_DEV_TOKEN_KEY")?;
            let response = http
                .post(url)
                .bearer_auth(key)
                .query(&[("identity", "smoke-test"), ("context", args.context.as_str())])
                .send()
                .await?;
            json_of(response, 200).await?
        }
        None => {
            let body = json!({ "sub": "smoke-test", "contexts": [args.context], "ttl": 600 });
            let response = http.post(format!("{api}/dev/token")).json(&body).send().await?;
            json_of(response, 200)
                .await
                .context("no --dev-token given, and the API has no /dev/token (only the local server has)")?
        }
    };
    body["token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no token in {body}"))
}

async fn json_of(response: reqwest::Response, status: u16) -> anyhow::Result<Value> {
    let got = response.status().as_u16();
    let text = response.text().await?;
    if got != status {
        bail!("HTTP {got}: {}", text.chars().take(300).collect::<String>());
    }
    serde_json::from_str(&text).with_context(|| format!("not JSON: {}", text.chars().take(100).collect::<String>()))
}

/// GETs a widget file and checks its type, cache rule and CORS; returns
/// its text (empty for binary files).
async fn fetch(
    http: &reqwest::Client,
    url: &str,
    kind: &str,
    cache: &str,
    origin: Option<&str>,
) -> anyhow::Result<String> {
    let mut request = http.get(url);
    if let Some(origin) = origin {
        request = request.header(ORIGIN, origin);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    anyhow::ensure!(status == 200, "HTTP {status}");
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let content_type = header(CONTENT_TYPE);
    anyhow::ensure!(
        content_type.contains(kind),
        "Content-Type is {content_type:?}, not {kind}"
    );
    let cache_control = header(CACHE_CONTROL);
    anyhow::ensure!(
        cache_control == cache,
        "Cache-Control is {cache_control:?}, not {cache:?}"
    );
    if let Some(origin) = origin {
        let allowed = header(ACCESS_CONTROL_ALLOW_ORIGIN);
        anyhow::ensure!(
            allowed == origin || allowed == "*",
            "Access-Control-Allow-Origin is {allowed:?}: {origin} may not load it"
        );
    }
    let bytes = response.bytes().await?;
    Ok(String::from_utf8(bytes.to_vec()).unwrap_or_default())
}

/// The first `<prefix><16 hex digits><suffix>` in `text`.
fn hashed_name(text: &str, prefix: &str, suffix: &str) -> anyhow::Result<String> {
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let candidate = &rest[at + prefix.len()..];
        let hash: String = candidate.chars().take(16).collect();
        if hash.len() == 16
            && hash.chars().all(|c| c.is_ascii_hexdigit())
            && candidate[16..].starts_with(suffix)
            && !rest[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Ok(format!("{prefix}{hash}{suffix}"));
        }
        rest = &rest[at + prefix.len()..];
    }
    bail!("no {prefix}<hash>{suffix} in it")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_found_whole() {
        let glue = r#"import{a}from"./twilio.05b32d3f85653b3f.js";new URL("widget_bg.6315f32e7d8049ec.wasm",x)"#;
        assert_eq!(
            hashed_name(glue, "twilio.", ".js").unwrap(),
            "twilio.05b32d3f85653b3f.js"
        );
        assert_eq!(
            hashed_name(glue, "widget_bg.", ".wasm").unwrap(),
            "widget_bg.6315f32e7d8049ec.wasm"
        );
        assert!(
            hashed_name("my-twilio.05b32d3f85653b3f.js", "twilio.", ".js").is_err(),
            "part of a longer name"
        );
        assert!(
            hashed_name("twilio.05b32d3f.js", "twilio.", ".js").is_err(),
            "too short a hash"
        );
        assert!(hashed_name("widget.js", "widget.", ".js").is_err());
    }
}
