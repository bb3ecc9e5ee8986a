//! Splits the widget's WASM into the core and its pieces
//! (`widget/src/pieces.rs`), the step cargo-leptos runs for `--split`:
//! the linker kept its relocations (`--emit-relocs`, `widget/build.rs`),
//! so `wasm_split_cli_support` can follow every call and address from each
//! `#[wasm_split]` function and move what only that function reaches into
//! a module of its own. Code two pieces share becomes a chunk both load.
//!
//! What it writes into the work folder: the core (`widget_split.wasm`,
//! for wasm-bindgen), each piece (`split_<piece>.wasm`) and shared chunk
//! (`chunk_<n>.wasm`), and the link module (`__wasm_split.js`: the
//! loader functions the core imports, which fetch a piece's files and
//! instantiate them against the core's memory and function table).
//! [`inline_link_module`] then puts that module into the glue, so the core
//! is one JS file: the link module and the glue import each other, and
//! two files that name each other cannot both be named by their content.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::hashing::replace_once;

/// The core, as the split leaves it for wasm-bindgen.
pub const CORE_WASM: &str = "widget_split.wasm";

/// The link module's name, as the core's imports name it.
pub const LINK_MODULE: &str = "./__wasm_split.js";

/// What the split made.
#[derive(Debug)]
pub struct Split {
    /// Each piece's files (without `.wasm`), in the order they load:
    /// `{"markdown": ["chunk_3", "split_markdown"]}`.
    pub pieces: BTreeMap<String, Vec<String>>,
    /// Every piece and chunk file written.
    pub files: Vec<PathBuf>,
}

/// Splits `wasm` into `work`.
pub fn split(wasm: &Path, work: &Path) -> Result<Split> {
    let input = std::fs::read(wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    let core = work.join(CORE_WASM);
    let mut options = wasm_split_cli_support::Options::new(&input);
    options.output_dir = work;
    options.main_out_path = &core;
    options.link_name = LINK_MODULE;
    options.main_module = "./widget.js";
    let split = wasm_split_cli_support::transform(options).map_err(|e| anyhow::anyhow!("splitting the WASM: {e:?}"))?;
    let pieces: BTreeMap<String, Vec<String>> = split.prefetch_map.into_iter().collect();
    if pieces.is_empty() {
        bail!("the split found no piece: is the WASM linked with --emit-relocs (widget/build.rs)?");
    }
    Ok(Split {
        pieces,
        files: split.split_modules,
    })
}

/// The glue (`widget.js`, wasm-bindgen's output for the core) with the
/// link module's code in it instead of an import of it. The link module
/// imports `initSync` from the glue (which defines it), reads the core's
/// exports the pieces share, and exports one loader per piece, which the
/// core imports. Here its code goes at the end of the glue, its loaders
/// join the glue's own imports object (`import0`, where wasm-opt's
/// renaming finds them, [`super::widget`]), and the shared exports are
/// read as `wasm.<name>`, like every other export the glue reads.
pub fn inline_link_module(glue: &str, link: &str) -> Result<String> {
    let own_import = "import { initSync } from \"./widget.js\";";
    let link = replace_once(link, own_import, "")?;
    // the loaders, exported by the link module: `export const NAME = …`
    let mut loaders = Vec::new();
    let mut body = String::with_capacity(link.len());
    for line in link.lines() {
        match line.strip_prefix("export const ") {
            Some(rest) => {
                let name = rest
                    .split_once(" = ")
                    .map(|(name, _)| name)
                    .context("an export of the link module without a value")?;
                loaders.push(name.to_owned());
                body.push_str("const ");
                body.push_str(rest);
            }
            None => body.push_str(line),
        }
        body.push('\n');
    }
    if loaders.is_empty() {
        bail!("the link module exports no loader");
    }
    if body.contains("export ") || body.contains("import ") {
        bail!("the link module has an import or export this step does not know");
    }
    // `const { a, b, } = initSync(undefined, undefined);` → `const a = wasm.a, b = wasm.b;`
    let shared_at = body
        .find("const { ")
        .context("the link module does not read the core's shared exports")?;
    let shared_end = body[shared_at..]
        .find(" } = initSync(undefined, undefined);")
        .map(|n| shared_at + n)
        .context("the link module reads the core's exports in a way this step does not know")?;
    let shared: Vec<&str> = body[shared_at + "const { ".len()..shared_end]
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    let reads = shared.iter().map(|n| format!("{n} = wasm.{n}")).collect::<Vec<_>>();
    let body = format!(
        "{}const {};{}",
        &body[..shared_at],
        reads.join(", "),
        &body[shared_end + " } = initSync(undefined, undefined);".len()..]
    );
    // wasm-bindgen imports the link module as namespaces, one per import:
    // `import * as importN from "./__wasm_split.js"`, and hands each to
    // the core as `"./__wasm_split.js": importN,`
    let mut out = String::with_capacity(glue.len() + body.len());
    let mut handed = false;
    for line in glue.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("import * as ")
            && trimmed
                .trim_end_matches(';')
                .ends_with(&format!("from \"{LINK_MODULE}\""))
        {
            continue;
        }
        if trimmed.starts_with(&format!("\"{LINK_MODULE}\": import")) {
            if !handed {
                out.push_str(&format!("        \"{LINK_MODULE}\": import0,\n"));
                handed = true;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if trimmed == "const import0 = {" {
            for loader in &loaders {
                out.push_str(&format!("        {loader}: (a, b) => {loader}(a, b),\n"));
            }
        }
    }
    if !handed || !out.contains(&format!("{}: (a, b)", loaders[0])) {
        bail!("the glue does not hand the core an imports object this step knows");
    }
    Ok(format!("{out}{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_module_goes_into_the_glue() {
        let glue = "import * as import1 from \"./__wasm_split.js\"\nimport * as import2 from \"./__wasm_split.js\"\nlet wasm;\nfunction imports() {\n    const import0 = {\n        __proto__: null,\n        f: 1,\n    };\n    return {\n        \"./widget_bg.js\": import0,\n        \"./__wasm_split.js\": import1,\n        \"./__wasm_split.js\": import2,\n    };\n}\n";
        let link = "import { initSync } from \"./widget.js\";\nfunction shared() {\n        const { __indirect_function_table, memory,  } = initSync(undefined, undefined);\n        use(memory);\n}\nexport const __wasm_split_load_markdown = wrapAsyncCb(makeLoad(x, []));\n";
        let out = inline_link_module(glue, link).expect("inlines");
        assert!(!out.contains("import "), "{out}");
        assert!(!out.contains("export "), "{out}");
        assert!(out.contains("const import0 = {\n        __wasm_split_load_markdown: (a, b) => __wasm_split_load_markdown(a, b),\n        __proto__: null,"), "{out}");
        assert_eq!(out.matches("\"./__wasm_split.js\": import0,").count(), 1, "{out}");
        assert!(!out.contains("import1") && !out.contains("import2"), "{out}");
        assert!(
            out.contains("const __indirect_function_table = wasm.__indirect_function_table, memory = wasm.memory;"),
            "{out}"
        );
        assert!(out.contains("const __wasm_split_load_markdown = wrapAsyncCb(makeLoad(x, []));"));
        assert!(
            inline_link_module("let wasm;", link).is_err(),
            "a glue without the imports"
        );
        assert!(
            inline_link_module(glue, "export default 1;").is_err(),
            "a link module of another shape"
        );
    }
}
