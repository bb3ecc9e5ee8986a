//! `dachat publish` against S3 on moto: objects, content types, cache
//! headers, the loader last, idempotence, dry run, clear errors, and a
//! failure midway that leaves the previous release live.

use std::path::Path;
use std::process::Output;

use tokio::process::Command;

use crate::proxy::Proxy;
use crate::{DACHAT, service, temp_dir};

/// Writes a built widget: hashed files named in `manifest.json` and a
/// loader naming the glue. `release` changes every file's content.
fn widget(dir: &Path, release: &str) -> Vec<String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let hashed = [
        ("widget_bg.wasm", format!("widget_bg.{release}00000000000000.wasm")),
        ("widget.js", format!("widget.{release}00000000000000.js")),
        ("twilio.js", format!("twilio.{release}00000000000000.js")),
    ];
    for (logical, file) in &hashed {
        std::fs::write(dir.join(file), format!("{logical} of release {release}")).unwrap();
        // the precompressed forms stay local: the CDN compresses
        std::fs::write(dir.join(format!("{file}.br")), "brotli").unwrap();
    }
    std::fs::write(dir.join("dachat.js"), format!("import('{}')", hashed[1].1)).unwrap();
    let files: serde_json::Map<String, serde_json::Value> = hashed
        .iter()
        .map(|(l, f)| ((*l).to_owned(), f.clone().into()))
        .collect();
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::json!({ "loader": "dachat.js", "files": files }).to_string(),
    )
    .unwrap();
    hashed.into_iter().map(|(_, f)| f).collect()
}

/// Runs `dachat publish` (asynchronously: the proxy runs on this test's runtime).
async fn publish(proxy: &Proxy, args: &[&str]) -> Output {
    Command::new(DACHAT)
        .arg("publish")
        .args(args)
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn s3() -> aws_sdk_s3::Client {
    let config = backend::config::aws_config().await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

async fn bucket(s3: &aws_sdk_s3::Client, name: &str) -> String {
    let name = format!("{name}-{}", std::process::id());
    s3.create_bucket()
        .bucket(&name)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    name
}

async fn body(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let object = s3.get_object().bucket(bucket).key(key).send().await.unwrap();
    String::from_utf8(object.body.collect().await.unwrap().to_vec()).unwrap()
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn the_widget_is_uploaded_with_its_headers_the_loader_last_and_only_once() {
    let proxy = Proxy::start(service("AWS_ENDPOINT_URL")).await;
    let s3 = s3().await;
    let bucket = bucket(&s3, "widget-publish").await;
    let dir = temp_dir("publish-widget");
    let hashed = widget(&dir, "a1");

    let first = publish(&proxy, &["--bucket", &bucket, "--dir", dir.to_str().unwrap()]).await;
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("4 of 4 files to upload"), "{}", text(&first));
    let puts = proxy.take_puts();
    assert_eq!(puts.len(), 4, "{puts:?}");
    assert_eq!(
        puts.last().unwrap(),
        &format!("/{bucket}/widget/dachat.js"),
        "the loader goes last: {puts:?}"
    );

    let mut expected: Vec<String> = hashed.iter().map(|f| format!("widget/{f}")).collect();
    expected.push("widget/dachat.js".to_owned());
    expected.sort();
    assert_eq!(
        keys(&s3, &bucket).await,
        expected,
        "no manifest, no .br copies: only what browsers fetch"
    );
    for (key, content_type, cache) in [
        (
            "widget/dachat.js",
            "text/javascript; charset=utf-8",
            "public, max-age=300",
        ),
        (
            "widget/widget_bg.a100000000000000.wasm",
            "application/wasm",
            "public, max-age=31536000, immutable",
        ),
        (
            "widget/widget.a100000000000000.js",
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
    ] {
        let head = s3.head_object().bucket(&bucket).key(key).send().await.unwrap();
        assert_eq!(head.content_type(), Some(content_type), "{key}");
        assert_eq!(head.cache_control(), Some(cache), "{key}");
    }
    assert_eq!(
        body(&s3, &bucket, "widget/dachat.js").await,
        "import('widget.a100000000000000.js')"
    );

    let second = publish(&proxy, &["--bucket", &bucket, "--dir", dir.to_str().unwrap()]).await;
    assert!(second.status.success(), "{}", text(&second));
    assert!(text(&second).contains("nothing to upload"), "{}", text(&second));
    assert_eq!(proxy.take_puts(), Vec::<String>::new(), "a second run uploads nothing");

    // the next release: new hashed files, a new loader; the old files stay
    widget(&dir, "b2");
    let dry = publish(
        &proxy,
        &["--bucket", &bucket, "--dir", dir.to_str().unwrap(), "--dry-run"],
    )
    .await;
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(
        text(&dry).contains("would upload widget/widget_bg.b200000000000000.wasm"),
        "{}",
        text(&dry)
    );
    assert!(text(&dry).contains("would upload widget/dachat.js"), "{}", text(&dry));
    assert_eq!(proxy.take_puts(), Vec::<String>::new(), "a dry run uploads nothing");
    assert_eq!(
        body(&s3, &bucket, "widget/dachat.js").await,
        "import('widget.a100000000000000.js')"
    );

    let next = publish(&proxy, &["--bucket", &bucket, "--dir", dir.to_str().unwrap()]).await;
    assert!(next.status.success(), "{}", text(&next));
    assert_eq!(
        body(&s3, &bucket, "widget/dachat.js").await,
        "import('widget.b200000000000000.js')"
    );
    let all = keys(&s3, &bucket).await;
    assert_eq!(all.len(), 7, "both releases' hashed files and one loader: {all:?}");
    assert!(
        all.contains(&"widget/widget.a100000000000000.js".to_owned()),
        "an open tab's files stay"
    );
}

#[tokio::test]
async fn a_failure_midway_leaves_the_previous_release_live() {
    let proxy = Proxy::start(service("AWS_ENDPOINT_URL")).await;
    let s3 = s3().await;
    let bucket = bucket(&s3, "widget-midway").await;
    let dir = temp_dir("publish-midway");
    widget(&dir, "c3");
    assert!(
        publish(&proxy, &["--bucket", &bucket, "--dir", dir.to_str().unwrap()])
            .await
            .status
            .success()
    );

    widget(&dir, "d4");
    proxy.take();
    proxy.refuse_puts_containing(Some("widget.d4"));
    let failed = publish(&proxy, &["--bucket", &bucket, "--dir", dir.to_str().unwrap()]).await;
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    assert!(stderr.contains("access denied to uploading s3://"), "{stderr}");
    assert!(stderr.contains("previous loader (and release) stays live"), "{stderr}");
    assert!(
        !proxy.take_puts().iter().any(|p| p.ends_with("/dachat.js")),
        "the loader is never sent after a failure"
    );
    assert_eq!(
        body(&s3, &bucket, "widget/dachat.js").await,
        "import('widget.c300000000000000.js')"
    );

    // fixed: the same command completes the release
    proxy.refuse_puts_containing(None);
    let retried = publish(&proxy, &["--bucket", &bucket, "--dir", dir.to_str().unwrap()]).await;
    assert!(retried.status.success(), "{}", text(&retried));
    assert_eq!(
        body(&s3, &bucket, "widget/dachat.js").await,
        "import('widget.d400000000000000.js')"
    );
}

#[tokio::test]
async fn bad_setups_get_one_clear_line_each() {
    let proxy = Proxy::start(service("AWS_ENDPOINT_URL")).await;
    let dir = temp_dir("publish-errors");
    widget(&dir, "e5");

    let no_bucket = publish(
        &proxy,
        &["--bucket", "no-such-bucket-dachat", "--dir", dir.to_str().unwrap()],
    )
    .await;
    assert!(!no_bucket.status.success());
    let stderr = String::from_utf8_lossy(&no_bucket.stderr);
    assert!(
        stderr.contains("bucket no-such-bucket-dachat does not exist"),
        "{stderr}"
    );

    let home = temp_dir("publish-no-credentials-home");
    let no_credentials = Command::new(DACHAT)
        .args(["publish", "--bucket", "any", "--dir", dir.to_str().unwrap()])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("HOME", &home)
        .output()
        .await
        .unwrap();
    assert!(!no_credentials.status.success());
    let stderr = String::from_utf8_lossy(&no_credentials.stderr);
    assert!(stderr.contains("no AWS credentials found"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    let unbuilt = temp_dir("publish-unbuilt");
    proxy.take();
    let output = publish(&proxy, &["--bucket", "any", "--dir", unbuilt.to_str().unwrap()]).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("build the widget first"));
    assert!(
        proxy.take().is_empty(),
        "a folder without a widget is refused before any request"
    );
}

#[tokio::test]
async fn the_loader_is_invalidated_on_the_named_distribution_and_a_failure_says_the_widget_is_live() {
    let proxy = Proxy::start(service("AWS_ENDPOINT_URL")).await;
    let s3 = s3().await;
    let bucket = bucket(&s3, "widget-invalidate").await;
    let dir = temp_dir("publish-invalidate");
    widget(&dir, "f6");
    let output = publish(
        &proxy,
        &[
            "--bucket",
            &bucket,
            "--dir",
            dir.to_str().unwrap(),
            "--invalidate",
            "ENOSUCHDIST",
        ],
    )
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the widget is published, but"), "{stderr}");
    assert!(
        stderr.contains("/widget/dachat.js on CloudFront distribution ENOSUCHDIST"),
        "{stderr}"
    );
    let seen = proxy.take();
    assert!(
        seen.iter()
            .any(|(m, p)| m == "POST" && p.contains("/distribution/ENOSUCHDIST/invalidation")),
        "{seen:?}"
    );
    assert_eq!(
        body(&s3, &bucket, "widget/dachat.js").await,
        "import('widget.f600000000000000.js')"
    );
}
