//! `dachat publish`: uploads the built widget to the S3 bucket behind the
//! CDN, so that no browser ever sees a loader naming a file that is not
//! there, and a tab opened before the release keeps working.
//!
//! - every file is read and checked before anything is uploaded;
//! - hashed files go first, the loader `dachat.js` last, and only when
//!   everything before it succeeded: a failed run leaves the old loader
//!   (and so the old release) live;
//! - nothing is deleted, so earlier releases' hashed files stay;
//! - a file already in the bucket with the same SHA-256 (kept in the
//!   object's `x-amz-meta-sha256`) is not uploaded again, so a second run
//!   uploads nothing;
//! - `--dry-run` asks S3 what is there and says what it would upload;
//! - `--invalidate DISTRIBUTION` asks CloudFront to drop its copy of the
//!   loader (only the loader: hashed names never change) when it changed.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use sha2::Digest as _;

use crate::widget_files::{Manifest, content_type};

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The widget bucket (the `WidgetBucket` output of the deployed stack).
    #[arg(long, env = "DACHAT_WIDGET_BUCKET")]
    pub bucket: String,
    /// The key prefix the CDN serves the widget from.
    #[arg(long, default_value = "widget/")]
    pub prefix: String,
    /// The built widget (`cargo xtask widget` or `trunk build --release`).
    #[arg(long, default_value = "widget/dist")]
    pub dir: PathBuf,
    /// Say what would be uploaded, upload nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A CloudFront distribution ID: invalidate its copy of the loader when
    /// the loader changed (otherwise edges pick it up within 5 minutes).
    #[arg(long, env = "DACHAT_WIDGET_DISTRIBUTION")]
    pub invalidate: Option<String>,
}

/// One file to publish.
#[derive(Debug)]
struct Item {
    name: String,
    key: String,
    bytes: Vec<u8>,
    sha256: String,
    cache_control: &'static str,
}

/// The metadata key that carries a published object's SHA-256.
const SHA_KEY: &str = "sha256";

pub async fn publish(args: &PublishArgs) -> anyhow::Result<()> {
    let prefix = normalise_prefix(&args.prefix)?;
    let manifest = Manifest::load(&args.dir)?;
    let mut items = Vec::new();
    for name in manifest.names() {
        let path = args.dir.join(name);
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let sha256 = hex(&sha2::Sha256::digest(&bytes));
        items.push(Item {
            key: format!("{prefix}{name}"),
            name: name.to_owned(),
            cache_control: manifest.cache_control(name),
            bytes,
            sha256,
        });
    }
    let config = backend::config::aws_config().await;
    let s3 = s3_client(&config);
    let bucket = &args.bucket;
    s3.head_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(describe(&e, &format!("bucket {bucket}"))))?;

    let mut pending = Vec::new();
    let mut present = 0;
    for item in &items {
        if already_there(&s3, bucket, item).await? {
            present += 1;
        } else {
            pending.push(item);
        }
    }
    let total: usize = pending.iter().map(|i| i.bytes.len()).sum();
    println!(
        "s3://{bucket}/{prefix}: {} of {} files to upload ({}), {present} already there",
        pending.len(),
        items.len(),
        kb(total)
    );
    if args.dry_run {
        for item in &pending {
            println!(
                "  would upload {} ({}, {})",
                item.key,
                kb(item.bytes.len()),
                item.cache_control
            );
        }
        println!("dry run: nothing uploaded");
        return Ok(());
    }
    if pending.is_empty() {
        println!("nothing to upload: the bucket already has this widget");
        return Ok(());
    }
    let mut sent = 0;
    for (n, item) in pending.iter().enumerate() {
        upload(&s3, bucket, item).await?;
        sent += item.bytes.len();
        println!(
            "  [{}] {}/{} {} ({})",
            bar(sent, total),
            n + 1,
            pending.len(),
            item.key,
            kb(item.bytes.len())
        );
    }
    let loader_changed = pending.iter().any(|i| i.name == manifest.loader);
    println!(
        "published {} files ({}); the loader {}",
        pending.len(),
        kb(total),
        if loader_changed {
            "now names this release"
        } else {
            "was already current"
        }
    );
    if let (Some(distribution), true) = (&args.invalidate, loader_changed) {
        invalidate(&config, distribution, &format!("/{prefix}{}", manifest.loader)).await?;
    }
    Ok(())
}

/// `widget` → `widget/`; empty stays empty (the bucket's root).
fn normalise_prefix(prefix: &str) -> anyhow::Result<String> {
    let trimmed = prefix.trim_matches('/');
    if trimmed.split('/').any(|part| part == ".." || part == ".") {
        bail!("--prefix {prefix:?}: no . or .. parts");
    }
    Ok(if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    })
}

/// An S3 client; path-style addressing when an endpoint is configured
/// (an emulator such as moto), virtual-hosted otherwise.
fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let path_style =
        std::env::var_os("AWS_ENDPOINT_URL").is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// Whether the bucket already holds `item` with the same content.
async fn already_there(s3: &aws_sdk_s3::Client, bucket: &str, item: &Item) -> anyhow::Result<bool> {
    match s3.head_object().bucket(bucket).key(&item.key).send().await {
        Ok(head) => Ok(head
            .metadata()
            .and_then(|m| m.get(SHA_KEY))
            .is_some_and(|sha| *sha == item.sha256)),
        Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(false),
        Err(e) => bail!(describe(&e, &format!("s3://{bucket}/{}", item.key))),
    }
}

async fn upload(s3: &aws_sdk_s3::Client, bucket: &str, item: &Item) -> anyhow::Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(&item.key)
        .body(item.bytes.clone().into())
        .content_type(content_type(&item.name))
        .cache_control(item.cache_control)
        .metadata(SHA_KEY, &item.sha256)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "{}; nothing after it was uploaded, so the previous loader (and release) stays live",
                describe(&e, &format!("uploading s3://{bucket}/{}", item.key))
            )
        })?;
    Ok(())
}

async fn invalidate(config: &aws_config::SdkConfig, distribution: &str, path: &str) -> anyhow::Result<()> {
    use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
    let cloudfront = aws_sdk_cloudfront::Client::new(config);
    let paths = Paths::builder().quantity(1).items(path).build()?;
    let batch = InvalidationBatch::builder()
        .paths(paths)
        .caller_reference(format!("dachat-publish-{}", uuid::Uuid::new_v4()))
        .build()?;
    let answer = cloudfront
        .create_invalidation()
        .distribution_id(distribution)
        .invalidation_batch(batch)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "the widget is published, but {}; edges pick up the new loader within 5 minutes anyway",
                describe(
                    &e,
                    &format!("invalidating {path} on CloudFront distribution {distribution}")
                )
            )
        })?;
    let id = answer.invalidation().map(|i| i.id()).unwrap_or_default();
    println!("CloudFront invalidation {id} of {path} requested on {distribution}");
    Ok(())
}

/// One line saying what went wrong, in the operator's terms.
fn describe<E>(error: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>, what: &str) -> String
where
    E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + 'static,
{
    if let SdkError::ServiceError(service) = error {
        let code = service.err().code().unwrap_or_default();
        let status = service.raw().status().as_u16();
        return match code {
            "NoSuchBucket" | "NotFound" if what.starts_with("bucket") => {
                format!("{what} does not exist (deploy the stack first, then pass its WidgetBucket output)")
            }
            "AccessDenied" | "Forbidden" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" => {
                format!("access denied to {what} ({code}): the current AWS credentials may not write the widget bucket")
            }
            "" if status == 404 && what.starts_with("bucket") => {
                format!("{what} does not exist (deploy the stack first, then pass its WidgetBucket output)")
            }
            "" if status == 403 => {
                format!("access denied to {what}: the current AWS credentials may not write the widget bucket")
            }
            "" => format!("{what}: AWS answered HTTP {status}"),
            _ => format!("{what}: {code}: {}", service.err().message().unwrap_or("no message")),
        };
    }
    let text = DisplayErrorContext(error).to_string();
    if text.contains("credentials") {
        format!(
            "{what}: no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`)"
        )
    } else {
        format!("{what}: cannot reach AWS: {text}")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

/// A 20-character progress bar for `done` of `total` bytes.
fn bar(done: usize, total: usize) -> String {
    let filled = if total == 0 {
        20
    } else {
        (done * 20).div_ceil(total).min(20)
    };
    format!("{}{}", "#".repeat(filled), "-".repeat(20 - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalised_and_cannot_climb() {
        assert_eq!(normalise_prefix("widget").unwrap(), "widget/");
        assert_eq!(normalise_prefix("/widget/v1/").unwrap(), "widget/v1/");
        assert_eq!(normalise_prefix("").unwrap(), "");
        assert!(normalise_prefix("widget/../other").is_err());
    }

    #[test]
    fn the_bar_fills_with_the_bytes_sent() {
        assert_eq!(bar(0, 100), "--------------------");
        assert_eq!(bar(50, 100), "##########----------");
        assert_eq!(bar(100, 100), "####################");
        assert_eq!(bar(1, 1000), "#-------------------", "a started upload shows");
    }
}
