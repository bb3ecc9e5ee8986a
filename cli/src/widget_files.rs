//! The built widget as a set of files (`widget/dist`, written by `cargo
//! xtask widget` or `trunk build`): the stable loader, the content-hashed
//! files named by `manifest.json`, and the headers each kind is served
//! with. `dachat serve` and `dachat publish` both take their rules from
//! here, so the local server caches exactly as the CDN does.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};

/// The loader keeps its name across releases: caches may keep it 5 minutes.
pub const LOADER_CACHE: &str = "public, max-age=300";
/// A hashed file never changes: caches may keep it for a year.
pub const HASHED_CACHE: &str = "public, max-age=31536000, immutable";
/// Anything else (not in the manifest) is revalidated.
pub const OTHER_CACHE: &str = "no-cache";

/// `manifest.json`: the loader's name and the hashed file of each logical name.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Manifest {
    pub loader: String,
    pub files: BTreeMap<String, String>,
}

impl Manifest {
    /// Reads `dir/manifest.json` and checks that every file it names is
    /// there and that names cannot leave `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (build the widget first: `cargo xtask widget` or `trunk build --release`)",
                path.display()
            )
        })?;
        let manifest: Self =
            serde_json::from_str(&text).with_context(|| format!("{} is not a widget manifest", path.display()))?;
        for name in manifest.names() {
            let plain = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                && !name.starts_with('.');
            if !plain {
                bail!("{} names {name:?}, which is not a plain file name", path.display());
            }
            if !dir.join(name).is_file() {
                bail!("{} names {name}, which is missing: rebuild the widget", path.display());
            }
        }
        Ok(manifest)
    }

    /// The hashed files, then the loader (the order they must be published in).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files
            .values()
            .map(String::as_str)
            .chain(std::iter::once(self.loader.as_str()))
    }

    /// How long caches may keep `name`.
    pub fn cache_control(&self, name: &str) -> &'static str {
        if name == self.loader {
            LOADER_CACHE
        } else if self.files.values().any(|f| f == name) {
            HASHED_CACHE
        } else {
            OTHER_CACHE
        }
    }
}

/// The `Content-Type` a widget file is served with.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("wasm") => "application/wasm",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        // the message catalogs (`fr.<hash>.txt`)
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> std::path::PathBuf {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("dachat-widget-files-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write");
        }
        dir
    }

    #[test]
    fn each_kind_of_file_has_its_cache_rule_and_type() {
        let dir = folder(&[
            (
                "manifest.json",
                r#"{"loader":"dachat.js","files":{"widget.js":"widget.0123456789abcdef.js"}}"#,
            ),
            ("dachat.js", ""),
            ("widget.0123456789abcdef.js", ""),
        ]);
        let manifest = Manifest::load(&dir).expect("loads");
        assert_eq!(manifest.cache_control("dachat.js"), LOADER_CACHE);
        assert_eq!(manifest.cache_control("widget.0123456789abcdef.js"), HASHED_CACHE);
        assert_eq!(manifest.cache_control("widget.js"), OTHER_CACHE);
        assert_eq!(
            manifest.names().collect::<Vec<_>>(),
            ["widget.0123456789abcdef.js", "dachat.js"],
            "the loader comes last"
        );
        assert_eq!(content_type("widget_bg.0123.wasm"), "application/wasm");
        assert_eq!(content_type("dachat.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("fr.0123.txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type("README"), "application/octet-stream");
    }

    #[test]
    fn a_manifest_naming_a_missing_or_escaping_file_is_refused() {
        let missing = folder(&[
            (
                "manifest.json",
                r#"{"loader":"dachat.js","files":{"widget.js":"widget.1.js"}}"#,
            ),
            ("dachat.js", ""),
        ]);
        let error = Manifest::load(&missing).expect_err("missing").to_string();
        assert!(error.contains("widget.1.js, which is missing"), "{error}");
        let escaping = folder(&[
            (
                "manifest.json",
                r#"{"loader":"dachat.js","files":{"widget.js":"../etc/passwd"}}"#,
            ),
            ("dachat.js", ""),
        ]);
        let error = Manifest::load(&escaping).expect_err("escapes").to_string();
        assert!(error.contains("not a plain file name"), "{error}");
        let none = folder(&[]);
        let error = Manifest::load(&none).expect_err("none").to_string();
        assert!(error.contains("build the widget first"), "{error}");
    }
}
