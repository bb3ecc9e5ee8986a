//! Content-hashed names for the deployable widget.
//!
//! Every file but the loader is named after its content
//! (`widget.<hash>.js`), so a CDN and browsers may keep it for a year and
//! a release never changes a file a running tab still fetches. Names are
//! fixed leaves first: the Twilio SDK, then the shim that names it, the
//! WASM, the glue that names both, and last the loader `dachat.js` (the
//! only stable name, cached for minutes) that names the glue. A change
//! anywhere therefore renames every file that leads to it.
//!
//! The catalogs of locales other than English (`fr.<hash>.txt`) are leaves
//! too; the loader carries their names and its own few words in every
//! language ([`LOCALES`]), so it needs no request to draw the launcher.
//!
//! The pieces of the window (`split_<piece>.wasm`, and the chunks they
//! share) are leaves the glue names; `manifest.json` says which files each
//! piece loads (`pieces`) and which files a first open loads (`core`).
//!
//! `manifest.json` maps each logical name to its file; `dachat publish`
//! and `dachat serve` read it to tell hashed files from the loader.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use sha2::Digest as _;

/// The loader's stable name.
pub const LOADER: &str = "dachat.js";

/// The map from logical names to hashed files, written beside them.
pub const MANIFEST: &str = "manifest.json";

/// The loader's placeholder for its table of locales: a JSON object
/// `{"fr": ["fr.<hash>.txt", launcher words…], …}` (English: no file).
pub const LOCALES: &str = "\"@LOCALES@\"";

/// One locale as shipped: its compiled catalog (empty for English) and
/// the loader's words in it.
#[derive(Debug, Clone)]
pub struct Locale {
    pub lang: String,
    pub catalog: String,
    pub loader_words: Vec<String>,
}

/// Writes the deployable widget from the work folder `work` (wasm-bindgen's
/// and terser's output with plain names: the glue, the WASM, the loader and
/// the SDK file `sdk`; the shim at `shim_path`, the other JS snippets at
/// `snippets`; each piece's files, `pieces`: `{"markdown": ["chunk_1",
/// "split_markdown"]}` for `chunk_1.wasm` and `split_markdown.wasm`) and
/// the `locales` into `out`. Returns the manifest's `files`.
pub fn publish(
    work: &Path,
    shim_path: &Path,
    snippets: &[std::path::PathBuf],
    sdk: &str,
    pieces: &BTreeMap<String, Vec<String>>,
    locales: &[Locale],
    out: &Path,
) -> Result<BTreeMap<String, String>> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let read = |name: &str| {
        std::fs::read_to_string(work.join(name)).with_context(|| format!("cannot read {}", work.join(name).display()))
    };
    let mut files = BTreeMap::new();
    let mut put = |logical: &str, bytes: &[u8]| -> Result<String> {
        let name = hashed_name(logical, bytes);
        std::fs::write(out.join(&name), bytes)
            .with_context(|| format!("cannot write {}", out.join(&name).display()))?;
        files.insert(logical.to_owned(), name.clone());
        Ok(name)
    };

    let sdk_file = put(sdk, read(sdk)?.as_bytes())?;
    let shim = std::fs::read_to_string(shim_path)?;
    let shim = put("twilio.js", replace_once(&shim, sdk, &sdk_file)?.as_bytes())?;
    let wasm = put(
        "widget_bg.wasm",
        &std::fs::read(work.join("widget_bg.wasm")).context("reading widget_bg.wasm")?,
    )?;
    let shim_import = format!("./{}", shim_path.strip_prefix(work)?.display());
    let glue = replace_once(&read("widget.js")?, &shim_import, &format!("./{shim}"))?;
    let mut glue = lazy_shim(&glue, &shim, &sdk_file)?;
    for snippet in snippets {
        let logical = snippet
            .file_name()
            .and_then(|n| n.to_str())
            .context("a snippet without a name")?;
        let file = put(logical, &std::fs::read(snippet)?)?;
        let import = format!("./{}", snippet.strip_prefix(work)?.display());
        glue = replace_once(&glue, &import, &format!("./{file}"))?;
    }
    let mut glue = replace_once(&glue, "\"widget_bg.wasm\"", &format!("\"{wasm}\""))?;
    // each piece's files, named once each (a chunk may serve several pieces)
    let mut piece_files = serde_json::Map::new();
    let mut named_stems: BTreeMap<String, String> = BTreeMap::new();
    for (piece, stems) in pieces {
        let mut named = Vec::new();
        for stem in stems {
            let logical = format!("{stem}.wasm");
            let file = match named_stems.get(&logical) {
                Some(file) => file.clone(),
                None => {
                    let bytes = std::fs::read(work.join(&logical)).with_context(|| format!("reading {logical}"))?;
                    let file = put(&logical, &bytes)?;
                    glue = replace_once(&glue, &format!("\"./{logical}\""), &format!("\"./{file}\""))?;
                    named_stems.insert(logical, file.clone());
                    file
                }
            };
            named.push(serde_json::Value::from(file));
        }
        piece_files.insert(piece.clone(), named.into());
    }
    let glue = put("widget.js", glue.as_bytes())?;
    let mut table = serde_json::Map::new();
    for locale in locales {
        let file = match locale.lang.as_str() {
            "en" => String::new(),
            lang => put(&format!("{lang}.txt"), locale.catalog.as_bytes())?,
        };
        let mut entry = vec![file];
        entry.extend(locale.loader_words.iter().cloned());
        table.insert(locale.lang.clone(), entry.into());
    }
    let loader = replace_once(&read(LOADER)?, "\"widget.js\"", &format!("\"{glue}\""))?;
    let loader = replace_once(&loader, LOCALES, &serde_json::to_string(&table)?)?;

    let mut core = vec![glue.clone(), wasm];
    core.extend(
        snippets
            .iter()
            .filter_map(|path| files.get(path.file_name()?.to_str()?).cloned()),
    );
    // the shim comes with the Twilio piece (see `lazy_shim`)
    match piece_files.get_mut("twilio").and_then(serde_json::Value::as_array_mut) {
        Some(twilio) => twilio.insert(0, shim.into()),
        None => {
            piece_files.insert("twilio".into(), serde_json::json!([shim]));
        }
    }
    let manifest = serde_json::json!({ "loader": LOADER, "files": files, "core": core, "pieces": piece_files });
    std::fs::write(
        out.join(MANIFEST),
        format!("{}\n", serde_json::to_string_pretty(&manifest)?),
    )?;
    // the loader last: it names the glue, which must already be there
    std::fs::write(out.join(LOADER), loader)?;
    Ok(files)
}

/// The glue's static import of the Twilio shim (`TwilioBridge`, `loadSdk`,
/// `sdkUrl`, each under the name the minifier gave it) made lazy: a local
/// session never needs it, so it is not part of the core. `loadSdk` (a
/// promise already) first imports the shim, which then provides the real
/// `TwilioBridge`; the bridge is only built once the SDK is loaded, and
/// until then its static `describe` (which names a failed load) is a
/// stand-in that reads an error's message. The SDK's download starts (a
/// `preload` link, once) beside the shim's, not after it: the shim is one
/// round trip on a weak link, and the SDK waited for it (+0.6 s measured). `sdkUrl` is the SDK file beside
/// the glue, as the shim itself computes it. A failed import is tried again
/// on the next load. Any other export of the shim fails the build: making
/// it lazy must be a decision.
fn lazy_shim(glue: &str, shim: &str, sdk_file: &str) -> Result<String> {
    let from = format!("}}from\"./{shim}\";");
    let end = glue
        .find(&from)
        .with_context(|| format!("the glue does not import {shim}"))?;
    let start = glue[..end]
        .rfind("import{")
        .with_context(|| format!("the glue's import of {shim} is not `import{{…}}from`"))?;
    let mut names = BTreeMap::new();
    for spec in glue[start + "import{".len()..end].split(',') {
        let (name, local) = spec.split_once(" as ").unwrap_or((spec, spec));
        names.insert(name.trim(), local.trim());
    }
    let wanted = ["TwilioBridge", "loadSdk", "sdkUrl"];
    if names.keys().copied().ne(wanted) {
        anyhow::bail!(
            "the glue imports {:?} from the Twilio shim; lazy_shim knows {wanted:?}",
            names.keys()
        );
    }
    let (bridge, load, url) = (names["TwilioBridge"], names["loadSdk"], names["sdkUrl"]);
    let lazy = format!(
        "let {bridge}={{describe:e=>e&&\"string\"==typeof e.message?e.message:String(e)}},__dachatShim,__dachatSdk;\
         const __dachatShimLoad=()=>__dachatShim||=import(\"./{shim}\").then(m=>({bridge}=m.TwilioBridge,m),e=>{{__dachatShim=void 0;throw e}}),\
         {load}=(u,...a)=>(__dachatSdk||=document.head.appendChild(Object.assign(document.createElement(\"link\"),{{rel:\"preload\",as:\"script\",href:u}})),__dachatShimLoad().then(m=>m.loadSdk(u,...a))),\
         {url}=()=>new URL(\"./{sdk_file}\",import.meta.url).href;"
    );
    Ok(format!("{}{lazy}{}", &glue[..start], &glue[end + from.len()..]))
}

/// `text` with `old` replaced by `new`; fails unless `old` is there exactly once.
pub fn replace_once(text: &str, old: &str, new: &str) -> Result<String> {
    match text.matches(old).count() {
        1 => Ok(text.replacen(old, new, 1)),
        n => anyhow::bail!("expected `{old}` once in the file, found it {n} times"),
    }
}

/// `widget.js` with content `bytes` → `widget.<16 hex digits of SHA-256>.js`
/// (the hash goes before the first dot: `twilio-conversations.<h>.min.js`).
pub fn hashed_name(logical: &str, bytes: &[u8]) -> String {
    let digest = sha2::Sha256::digest(bytes);
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    match logical.split_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{logical}.{hash}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDK: &str = "twilio-conversations.min.js";

    #[test]
    fn the_hash_goes_before_the_first_dot_and_follows_the_content() {
        let a = hashed_name("twilio-conversations.min.js", b"a");
        assert!(a.starts_with("twilio-conversations.") && a.ends_with(".min.js"), "{a}");
        assert_eq!(a.len(), "twilio-conversations..min.js".len() + 16);
        assert_eq!(
            a,
            hashed_name("twilio-conversations.min.js", b"a"),
            "same content, same name"
        );
        assert_ne!(a, hashed_name("twilio-conversations.min.js", b"b"));
        // SHA-256("a") begins ca978112ca1bbdca
        assert_eq!(hashed_name("widget_bg.wasm", b"a"), "widget_bg.ca978112ca1bbdca.wasm");
    }

    #[test]
    fn every_file_is_named_by_content_and_the_names_chain_to_the_loader() {
        let tmp = std::env::temp_dir().join(format!("dachat-hashing-{}", std::process::id()));
        let work = tmp.join("work");
        let shim_dir = work.join("snippets/widget-0123/js");
        std::fs::create_dir_all(&shim_dir).expect("mkdir");
        std::fs::write(work.join(SDK), "sdk").expect("write");
        std::fs::write(
            shim_dir.join("twilio.js"),
            "export const F='twilio-conversations.min.js';",
        )
        .expect("write");
        std::fs::write(shim_dir.join("store.js"), "export const b=1;").expect("write");
        std::fs::write(work.join("widget_bg.wasm"), b"\0asm").expect("write");
        for (piece, bytes) in [("chunk_1", "shared"), ("split_md", "md"), ("split_cmd", "cmd")] {
            std::fs::write(work.join(format!("{piece}.wasm")), bytes).expect("write");
        }
        let pieces = BTreeMap::from([
            ("md".to_owned(), vec!["chunk_1".to_owned(), "split_md".to_owned()]),
            ("cmd".to_owned(), vec!["chunk_1".to_owned(), "split_cmd".to_owned()]),
        ]);
        std::fs::write(
            work.join("widget.js"),
            "import{TwilioBridge as r,loadSdk as c,sdkUrl}from\"./snippets/widget-0123/js/twilio.js\";import{b}from\"./snippets/widget-0123/js/store.js\";new URL(\"widget_bg.wasm\",import.meta.url);f(new URL(\"./chunk_1.wasm\",import.meta.url));f(new URL(\"./split_md.wasm\",import.meta.url));f(new URL(\"./split_cmd.wasm\",import.meta.url))",
        )
        .expect("write");
        std::fs::write(work.join(LOADER), "L=\"@LOCALES@\";import(base+\"widget.js\")").expect("write");
        let out = tmp.join("out");
        let locales = [
            Locale {
                lang: "en".into(),
                catalog: String::new(),
                loader_words: vec!["Chat".into()],
            },
            Locale {
                lang: "fr".into(),
                catalog: "Discussion\nEnvoyer".into(),
                loader_words: vec!["Discussion".into()],
            },
        ];

        let files = publish(
            &work,
            &shim_dir.join("twilio.js"),
            &[shim_dir.join("store.js")],
            SDK,
            &pieces,
            &locales,
            &out,
        )
        .expect("publishes");
        let name = |logical: &str| files[logical].clone();
        let read = |file: &str| std::fs::read_to_string(out.join(file)).expect("read");
        assert_eq!(read(&name("twilio.js")), format!("export const F='{}';", name(SDK)));
        // the shim is imported when the SDK is loaded, not with the glue
        let glue = read(&name("widget.js"));
        assert!(!glue.contains(&format!("from\"./{}\"", name("twilio.js"))), "{glue}");
        assert!(glue.contains(&format!("import(\"./{}\")", name("twilio.js"))), "{glue}");
        assert!(glue.starts_with("let r={describe:"), "{glue}");
        assert!(
            glue.contains(&format!("sdkUrl=()=>new URL(\"./{}\",import.meta.url)", name(SDK))),
            "{glue}"
        );
        assert!(read(&name("widget.js")).contains(&format!("from\"./{}\"", name("store.js"))));
        assert!(read(&name("widget.js")).contains(&format!("new URL(\"{}\"", name("widget_bg.wasm"))));
        assert_eq!(read(&name("fr.txt")), "Discussion\nEnvoyer");
        for piece in ["chunk_1", "split_md", "split_cmd"] {
            let logical = format!("{piece}.wasm");
            assert!(
                read(&name("widget.js")).contains(&format!("new URL(\"./{}\"", name(&logical))),
                "{logical}"
            );
        }
        assert_eq!(
            read(LOADER),
            format!(
                "L={{\"en\":[\"\",\"Chat\"],\"fr\":[\"{}\",\"Discussion\"]}};import(base+\"{}\")",
                name("fr.txt"),
                name("widget.js")
            )
        );
        for (logical, file) in &files {
            assert_eq!(
                *file,
                hashed_name(logical, &std::fs::read(out.join(file)).expect("read")),
                "each name is the hash of the file's final bytes"
            );
        }
        let manifest: serde_json::Value = serde_json::from_str(&read(MANIFEST)).expect("json");
        assert_eq!(manifest["loader"], LOADER);
        assert_eq!(manifest["files"]["widget.js"], name("widget.js"));
        assert_eq!(
            manifest["pieces"]["md"],
            serde_json::json!([name("chunk_1.wasm"), name("split_md.wasm")])
        );
        assert_eq!(
            manifest["core"],
            serde_json::json!([name("widget.js"), name("widget_bg.wasm"), name("store.js")])
        );
        assert_eq!(manifest["pieces"]["twilio"], serde_json::json!([name("twilio.js")]));
        std::fs::remove_dir_all(&tmp).expect("clean up");
    }
}
