//! Builds the widget into `widget/dist/`: the WASM chat window (cargo,
//! profile `wasm-release`, linked with `--emit-relocs`), split into the
//! core and its pieces ([`split`]: a module per `#[wasm_split]` function
//! of `widget/src/{view,chat}/pieces.rs`, and chunks they share); then
//! `wasm-bindgen --target web` on the core, whose snippets (`js/twilio.js`,
//! `js/store.js`) land in `snippets/` and into whose glue the pieces'
//! loaders go; binaryen's `wasm-opt` merges identical functions and
//! shortens the names between the core and the glue (see [`shorten`]) and
//! optimises each piece; the minified loader (`terser`) and Twilio's SDK
//! build from the npm lock file (`@twilio/conversations`, fetched by the
//! widget only for Twilio sessions), all in a work folder; then
//! [`hashing`] names each file by its content into the deployable folder
//! (`widget/dist`, or the folder Trunk stages) beside the stable loader
//! and `manifest.json` (which lists the core and each piece's files), and
//! brotli and gzip copies are written beside each. Prints the sizes.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::hashing::{self, replace_once};
use crate::split;

#[path = "../../widget/i18n_catalog.rs"]
#[allow(dead_code)] // `categories` is for the catalogs' test
mod i18n_catalog;
use crate::{cargo, root, run, step};

/// The widget as it is built for the browser: the library for wasm32 with
/// each piece a `#[wasm_split]` function (feature `split`); `cargo xtask
/// test` lints the same build.
pub const SPLIT_BUILD: [&str; 7] = [
    "--package",
    "widget",
    "--lib",
    "--features",
    "split",
    "--target",
    "wasm32-unknown-unknown",
];

/// The standard library built with the widget, for size (issue #34: the
/// core went from 130,718 to 114,760 B brotli, BENCHMARKS.md). Unstable
/// flags of the machine's stable toolchain, allowed by `RUSTC_BOOTSTRAP=1`
/// for this one build (the toolchain's own escape hatch; a rustc that
/// renames one fails this build loudly, never the others):
/// - `std` compiled from `rust-src` with the widget's profile (`opt-level
///   = "z"`, LTO) and `optimize_for_size` (its smaller algorithms: sorting,
///   formatting), instead of the shipped `std` built for speed;
/// - `panic = immediate-abort`: a panic is a trap with no message, where
///   `panic = "abort"` still linked the panic machinery and its formatting
///   (on wasm32-unknown-unknown the message went nowhere anyway: the
///   widget installs no panic hook);
/// - no panic locations (file and line strings) and no `Debug` output
///   (`{:?}` prints nothing: the widget uses it in no text a person or a
///   program reads; `tidy::NO_DEBUG_OUTPUT` keeps it so).
pub const SIZE_BUILD: [&str; 4] = [
    "-Zbuild-std=std,panic_abort",
    "-Zbuild-std-features=optimize_for_size",
    "--config",
    r#"target.wasm32-unknown-unknown.rustflags = ["-Zunstable-options", "-Cpanic=immediate-abort", "-Zlocation-detail=none", "-Zfmt-debug=none"]"#,
];

/// Where `cargo xtask widget` writes the deployable widget.
pub fn default_dist() -> std::path::PathBuf {
    root().join("widget/dist")
}

/// Where the built widget goes.
#[derive(Debug, Clone)]
pub enum Output {
    /// `widget/dist` (or another folder), emptied first: no stale files.
    Fresh(std::path::PathBuf),
    /// The folder Trunk stages its build in (`TRUNK_STAGING_DIR`), as it is.
    TrunkStaging(std::path::PathBuf),
}

/// The widget into `widget/dist`, emptied first.
pub fn build_dist() -> Result<()> {
    build(&Output::Fresh(default_dist()))
}

/// Builds the widget: content-hashed files, the loader `dachat.js`,
/// `manifest.json`, and `.br`/`.gz` beside each file.
pub fn build(output: &Output) -> Result<()> {
    let out = match output {
        Output::Fresh(dir) => {
            if dir.exists() {
                std::fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
            }
            dir.as_path()
        }
        Output::TrunkStaging(dir) => dir.as_path(),
    };
    step("building the widget (wasm32, profile wasm-release)");
    run(cargo()
        .arg("build")
        .args(SPLIT_BUILD)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(SIZE_BUILD)
        .args(["--profile", "wasm-release"]))?;
    let dist = root().join("target/widget-work");
    if dist.exists() {
        std::fs::remove_dir_all(&dist)?;
    }
    std::fs::create_dir_all(&dist)?;
    step("splitting the WASM into the core and its pieces (wasm_split_cli_support)");
    let split = split::split(
        &root().join("target/wasm32-unknown-unknown/wasm-release/widget.wasm"),
        &dist,
    )?;
    for (piece, files) in &split.pieces {
        println!("  piece {piece}: {}", files.join(" + "));
    }
    let snippets = dist.join("snippets");
    run(Command::new("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--remove-name-section",
            // the pieces reach the core's memory, table and stack through these
            "--keep-lld-exports",
            "--out-name",
            "widget",
            "--out-dir",
        ])
        .arg(&dist)
        .arg(dist.join(split::CORE_WASM)))?;
    let glue = dist.join("widget.js");
    let link = std::fs::read_to_string(dist.join(split::LINK_MODULE))?;
    std::fs::write(
        &glue,
        split::inline_link_module(&std::fs::read_to_string(&glue)?, &link)?,
    )?;
    std::fs::remove_file(dist.join(split::LINK_MODULE))?;
    shorten(&dist)?;
    for piece in &split.files {
        optimize_piece(piece)?;
    }
    run(Command::new(root().join("widget/node_modules/.bin/terser"))
        .arg(root().join("widget/loader/dachat.js"))
        .args([
            "--ecma",
            "2020",
            "--compress",
            "passes=3,unsafe=true",
            "--mangle",
            "--output",
        ])
        .arg(dist.join("dachat.js")))?;
    // the glue and the snippets are ES modules: minified in place, exports kept
    let mut modules = vec![dist.join("widget.js")];
    modules.extend(snippet_files(&snippets)?);
    for module in modules {
        run(Command::new(root().join("widget/node_modules/.bin/terser"))
            .arg(&module)
            .args([
                "--module",
                "--ecma",
                "2020",
                "--compress",
                "passes=2",
                "--mangle",
                "--output",
            ])
            .arg(&module))?;
    }
    std::fs::copy(
        root()
            .join("widget/node_modules/@twilio/conversations/builds")
            .join(SDK),
        dist.join(SDK),
    )?;
    step("naming the widget's files by their content");
    // the Twilio shim names the SDK; the other snippets (the IndexedDB store) are leaves
    let (shim, others): (Vec<_>, Vec<_>) = snippet_files(&snippets)?
        .into_iter()
        .partition(|path| path.ends_with("js/twilio.js"));
    let [shim] = shim
        .try_into()
        .map_err(|found| anyhow::anyhow!("expected one Twilio shim among the JS snippets, found {found:?}"))?;
    let manifest = hashing::publish(&dist, &shim, &others, SDK, &split.pieces, &locales()?, out)?;
    let mut files = vec![hashing::LOADER.to_owned()];
    files.extend(manifest.values().cloned());
    for file in &files {
        let bytes = std::fs::read(out.join(file))?;
        println!("  {file}: {} bytes", bytes.len());
    }
    step("precompressing the widget (brotli and gzip beside each file)");
    run(Command::new("node")
        .arg(root().join("widget/precompress.mjs"))
        .args(files.iter().map(|f| out.join(f))))?;
    Ok(())
}

/// The catalogs of `widget/locales/` (the widget's `i18n::SUPPORTED`: a
/// test in `widget/tests/catalogs.rs` keeps the two equal), compiled (see
/// `i18n_catalog.rs`; an incomplete one fails the build), English first.
fn locales() -> Result<Vec<hashing::Locale>> {
    let read = |lang: &str| -> Result<Vec<i18n_catalog::Entry>> {
        let path = root().join(format!("widget/locales/{lang}.txt"));
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        i18n_catalog::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    };
    let english = read("en")?;
    let mut langs: Vec<String> = std::fs::read_dir(root().join("widget/locales"))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".txt").map(str::to_owned))
        .collect();
    // English first, then by name
    langs.sort_by_key(|lang| (lang != "en", lang.clone()));
    let mut locales = Vec::new();
    for lang in &langs {
        let lang = lang.as_str();
        let catalog = read(lang)?;
        let loader_words = LOADER_WORDS
            .iter()
            .map(|key| {
                catalog
                    .iter()
                    .find(|e| e.key == *key)
                    .map(i18n_catalog::Entry::compiled)
                    .with_context(|| format!("{lang}: no `{key}`"))
            })
            .collect::<Result<_>>()?;
        let compiled = match lang {
            "en" => String::new(),
            _ => i18n_catalog::compile(lang, &english, &catalog).map_err(|e| anyhow::anyhow!("{e}"))?,
        };
        locales.push(hashing::Locale {
            lang: lang.to_owned(),
            catalog: compiled,
            loader_words,
        });
    }
    Ok(locales)
}

/// The loader's words, in the order `loader/dachat.js` reads them.
const LOADER_WORDS: [&str; 4] = ["loader.chat", "loader.unread", "loader.sign_in", "loader.failed"];

/// Twilio's browser build of the SDK (the name `js/twilio.js` expects).
const SDK: &str = "twilio-conversations.min.js";

/// The JS files wasm-bindgen copied into `snippets/`.
fn snippet_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut found = Vec::new();
    if !dir.exists() {
        return Ok(found);
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "js") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The WASM features wasm-bindgen's output uses (wasm-opt must be told).
const WASM_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Shrinks wasm-bindgen's output with binaryen's `wasm-opt` (npm lock):
/// merges identical functions and gives every import, export and import
/// module a short name, then renames them to match in the glue.
///
/// wasm-bindgen names each import after its JS function plus a 16-digit
/// hash, and those names sit in both files: about 140 random strings that
/// no compressor can shrink (3.8 KB of the brotli download). Of wasm-opt's
/// optimisation levels only `-O1` (with `--optimize-instructions` after it)
/// is used: `-O2`, `-Os` and `-Oz` make the raw WASM smaller but the brotli
/// larger (BENCHMARKS.md).
fn shorten(dist: &Path) -> Result<()> {
    step("shortening the widget's import and export names (wasm-opt)");
    let wasm = dist.join("widget_bg.wasm");
    let printed = wasm_opt(&wasm, Some("--minify-imports-and-exports-and-modules"))?;
    let renames = Renames::from_wasm_opt(&printed)?;
    let modules = import_modules(&std::fs::read(&wasm)?)?;
    let [module] = modules.as_slice() else {
        bail!("expected the widget's imports in one module after wasm-opt, found {modules:?}");
    };
    let glue = dist.join("widget.js");
    let text = std::fs::read_to_string(&glue)?;
    std::fs::write(&glue, renames.apply(&text, module)?)?;
    Ok(())
}

/// A piece or chunk through binaryen's `wasm-opt` with the core's passes,
/// except that its imports and exports keep their names: the link module
/// gives a piece the core's memory, table and stack by name.
fn optimize_piece(wasm: &Path) -> Result<()> {
    wasm_opt(wasm, None).map(drop)
}

/// Binaryen's `wasm-opt` (npm lock) over `wasm`, in place: duplicate
/// functions merged, unused elements removed, `-O1` then another round of
/// peephole rewrites (−0.7 KB brotli; `-O2`, `-Os` and `-Oz` make the
/// brotli larger, BENCHMARKS.md), and `extra` first. Returns what it
/// printed.
fn wasm_opt(wasm: &Path, extra: Option<&str>) -> Result<String> {
    let output = Command::new(root().join("widget/node_modules/.bin/wasm-opt"))
        .args(WASM_FEATURES)
        .args(["--duplicate-function-elimination"])
        .args(extra)
        .args([
            "--remove-unused-module-elements",
            "--reorder-locals",
            "-O1",
            "--optimize-instructions",
            "--strip-target-features",
        ])
        .arg(wasm)
        .arg("-o")
        .arg(wasm)
        .output()
        .context("running widget/node_modules/.bin/wasm-opt (npm ci in widget/)")?;
    if !output.status.success() {
        bail!(
            "wasm-opt failed on {}: {}",
            wasm.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// The renaming wasm-opt printed (`--minify-imports-and-exports…`).
#[derive(Debug)]
struct Renames {
    /// (old, new) names of the functions the glue provides to the WASM.
    imports: Vec<(String, String)>,
    /// (old, new) names of what the WASM exports to the glue.
    exports: Vec<(String, String)>,
}

/// The module name wasm-bindgen gives the glue's imports.
const GLUE_MODULE: &str = "./widget_bg.js";

impl Renames {
    /// Reads wasm-opt's JSON: `{"imports": [[module, old, new], …],
    /// "exports": [[old, new], …]}`.
    fn from_wasm_opt(printed: &str) -> Result<Self> {
        let json: serde_json::Value = serde_json::from_str(printed.trim())
            .with_context(|| format!("wasm-opt printed no renaming: {printed:.200}"))?;
        let pairs = |key: &str, skip: usize| -> Result<Vec<(String, String)>> {
            let list = json[key]
                .as_array()
                .with_context(|| format!("wasm-opt's renaming has no {key}"))?;
            list.iter()
                .map(|entry| {
                    let names: Vec<&str> = entry
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                        .unwrap_or_default();
                    if names.len() != skip + 2 || (skip == 1 && ![GLUE_MODULE, split::LINK_MODULE].contains(&names[0]))
                    {
                        bail!("unexpected {key} entry in wasm-opt's renaming: {entry}");
                    }
                    Ok((names[skip].to_owned(), names[skip + 1].to_owned()))
                })
                .collect()
        };
        Ok(Self {
            imports: pairs("imports", 1)?,
            exports: pairs("exports", 0)?,
        })
    }

    /// The glue with the new names: each import is a key of the imports
    /// object (exactly once), each export is read as `wasm.<name>`, and the
    /// imports object is keyed by the module name. Fails if the glue does
    /// not use the names exactly so, or still reads an export not renamed.
    fn apply(&self, glue: &str, module: &str) -> Result<String> {
        let mut out = replace_once(glue, &format!("\"{GLUE_MODULE}\":"), &format!("\"{module}\":"))?;
        // the pieces' loaders joined the glue's imports (`split::inline_link_module`),
        // and with them now one module: their own is gone
        let linked = format!("\"{}\": import0,", split::LINK_MODULE);
        if out.contains(&linked) {
            out = replace_once(&out, &linked, "")?;
        }
        for (old, new) in &self.imports {
            out = replace_once(&out, &format!("{old}:"), &format!("\"{new}\":"))?;
        }
        let renamed: std::collections::HashMap<&str, &str> =
            self.exports.iter().map(|(o, n)| (o.as_str(), n.as_str())).collect();
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find("wasm.") {
            let start = at + "wasm.".len();
            let end = rest[start..]
                .find(|c: char| !is_identifier_char(c))
                .map_or(rest.len(), |n| start + n);
            let name = &rest[start..end];
            // `wasm.` preceded by an identifier character is some other name
            let own = !rest[..at].ends_with(is_identifier_char);
            result.push_str(&rest[..start]);
            if own {
                let new = renamed
                    .get(name)
                    .with_context(|| format!("the glue reads wasm.{name}, which wasm-opt did not rename"))?;
                result.push_str(new);
            } else {
                result.push_str(name);
            }
            rest = &rest[end..];
        }
        result.push_str(rest);
        Ok(result)
    }
}

/// A character that may continue a JS identifier (ASCII: the glue's names).
fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// The distinct module names of a WASM binary's imports, in order.
fn import_modules(wasm: &[u8]) -> Result<Vec<String>> {
    let mut bytes = Bytes(wasm.get(8..).context("not a WASM binary")?);
    let mut modules: Vec<String> = Vec::new();
    while !bytes.0.is_empty() {
        let id = bytes.byte()?;
        let size = bytes.leb()? as usize;
        let mut section = Bytes(bytes.take(size)?);
        if id != 2 {
            continue;
        }
        for _ in 0..section.leb()? {
            let module = section.name()?;
            section.name()?;
            match section.byte()? {
                0 => drop(section.leb()?),                       // function: type index
                1 => drop((section.byte()?, section.limits()?)), // table: type, limits
                2 => section.limits()?,                          // memory
                3 => drop(section.take(2)?),                     // global: type, mutability
                4 => drop((section.byte()?, section.leb()?)),    // tag
                kind => bail!("unknown import kind {kind}"),
            }
            if !modules.contains(&module) {
                modules.push(module);
            }
        }
    }
    Ok(modules)
}

/// A cursor over a WASM binary.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        anyhow::ensure!(n <= self.0.len(), "WASM binary ends early");
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// An unsigned LEB128 number.
    fn leb(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("LEB128 number too long")
    }

    fn name(&mut self) -> Result<String> {
        let len = self.leb()? as usize;
        Ok(String::from_utf8(self.take(len)?.to_vec())?)
    }

    /// Table or memory limits: flags, minimum, and a maximum if flagged.
    fn limits(&mut self) -> Result<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRINTED: &str = r#"{
 "imports": [
  ["./widget_bg.js", "__wbg_fetch_858ffa201963e190", "y"],
  ["./widget_bg.js", "__wbg_remove_b28d816f9e896ff9", "ya"]
 ],
"exports": [
  ["memory", "Kb"],
  ["open", "Mb"],
  ["wasm_bindgen__convert__closures_____invoke__h8de6e46965445219", "Ub"],
  ["wasm_bindgen__convert__closures_____invoke__h8de6e46965445219_6", "Vb"]
 ]
}"#;

    #[test]
    fn the_glue_gets_the_new_names() {
        let renames = Renames::from_wasm_opt(PRINTED).expect("parses");
        let glue = "const import0 = { __wbg_fetch_858ffa201963e190: function(a) { return fetch(a) },\n\
                    __wbg_remove_b28d816f9e896ff9: function(a) { a.remove() } };\n\
                    f(wasm.wasm_bindgen__convert__closures_____invoke__h8de6e46965445219_6, \
                    wasm.wasm_bindgen__convert__closures_____invoke__h8de6e46965445219);\n\
                    wasm.open(1); new Uint8Array(wasm.memory.buffer); mywasm.memory;\n\
                    return { \"./widget_bg.js\": import0 };";
        let expected = "const import0 = { \"y\": function(a) { return fetch(a) },\n\
                        \"ya\": function(a) { a.remove() } };\n\
                        f(wasm.Vb, wasm.Ub);\n\
                        wasm.Mb(1); new Uint8Array(wasm.Kb.buffer); mywasm.memory;\n\
                        return { \"a\": import0 };";
        assert_eq!(renames.apply(glue, "a").expect("applies"), expected);
    }

    #[test]
    fn a_name_the_glue_does_not_use_as_expected_fails_the_build() {
        let renames = Renames::from_wasm_opt(PRINTED).expect("parses");
        let missing_import = "const import0 = { __wbg_fetch_858ffa201963e190: 1 }; ({ \"./widget_bg.js\": import0 })";
        assert!(renames.apply(missing_import, "a").is_err());
        let unknown_export = "const import0 = { __wbg_fetch_858ffa201963e190: 1, __wbg_remove_b28d816f9e896ff9: 2 };\n\
                              wasm.__wbindgen_start(); ({ \"./widget_bg.js\": import0 })";
        let error = renames.apply(unknown_export, "a").expect_err("an export not renamed");
        assert!(error.to_string().contains("wasm.__wbindgen_start"), "{error}");
        assert!(Renames::from_wasm_opt("not json").is_err());
        assert!(Renames::from_wasm_opt(r#"{"imports": [["other.js", "a", "b"]], "exports": []}"#).is_err());
    }

    #[test]
    fn import_modules_are_read_from_the_binary() {
        // (module (import "a" "f" (func)) (import "a" "m" (memory 1)) (import "b" "t" (table 1 2 externref)))
        let wasm = [
            0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
            0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
            0x02, 0x17, 0x03, // import section, 23 bytes, 3 imports
            0x01, b'a', 0x01, b'f', 0x00, 0x00, // "a" "f" func type 0
            0x01, b'a', 0x01, b'm', 0x02, 0x00, 0x01, // "a" "m" memory min 1
            0x01, b'b', 0x01, b't', 0x01, 0x6f, 0x01, 0x01, 0x02, // "b" "t" table externref 1..2
        ];
        assert_eq!(import_modules(&wasm).expect("parses"), ["a", "b"]);
        assert!(import_modules(&wasm[..20]).is_err(), "a cut-off binary is an error");
    }
}
