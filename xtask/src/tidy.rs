//! Tidy checks that are cheaper as a test than as a review comment:
//!
//! - every Rust source file opens with a `//!` line saying what it is for;
//! - a file over [`LONG_FILE_LINES`] lines says why at its top (a line with
//!   "Over 600 lines:" among its first 20);
//! - no module imports a module above it: [`LAYERS`] lists each crate's
//!   modules from the bottom up, and a module may name (`crate::x`) only
//!   modules of a lower layer, so no import circle can form; and the
//!   pairs in [`APART`] (e.g. `notify` and `tokens`) not even that;
//! - the code built into the widget ([`NO_DEBUG_OUTPUT`]) formats nothing
//!   with `Debug` outside tests and panics: the widget's build has no
//!   `Debug` output (`-Zfmt-debug=none`, `widget::SIZE_BUILD`), so a
//!   `{:?}` there would print an empty string;
//! - unsafe code stays forbidden (the workspace denies it) except where
//!   [`UNSAFE_ALLOWED`] says why: the widget's `#[wasm_split]` functions,
//!   whose macro expansion declares `extern` loader functions.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// The only files that may allow `unsafe_code`, each with the reason.
pub const UNSAFE_ALLOWED: &[(&str, &str)] = &[
    ("widget/src/view/pieces.rs", "the view's #[wasm_split] pieces"),
    ("widget/src/chat/pieces.rs", "the controller's #[wasm_split] pieces"),
];

/// The source folders compiled into the widget's WASM, where `{:?}`
/// prints nothing (see the module's doc).
pub const NO_DEBUG_OUTPUT: &[&str] = &["widget/src", "protocol/src"];

/// Files longer than this say why at their top.
pub const LONG_FILE_LINES: usize = 600;

/// Modules that must not import a lower one the layers would allow, with
/// the reason: (crate folder, module, module it must not name, why).
pub const APART: &[(&str, &str, &str, &str)] = &[
    (
        "backend/src",
        "notify",
        "tokens",
        "the notifier is told who asks (notify::Requester); it never reads a token",
    ),
    (
        "backend/src",
        "twilio",
        "tokens",
        "Twilio's REST side needs no token logic; tokens are minted in app",
    ),
];

/// The layers of each crate's modules, bottom first (by `src/` folder).
pub const LAYERS: &[(&str, &[&[&str]])] = &[
    (
        "backend/src",
        &[
            &[
                "domain",
                "secret",
                "clock",
                "rate_limit",
                "http_client",
                "telemetry",
                "dynamo",
            ],
            &["tokens"],
            &["config"],
            &["twilio"],
            &["notify"],
            &["app"],
            &["api"],
        ],
    ),
    (
        "widget/src",
        &[
            &["markdown", "commands", "i18n"],
            &["browser", "api"],
            &["cache"],
            &["state"],
            &["client", "host"],
            &["pieces"],
            &["chat"],
            &["attach", "actions"],
            &["view"],
        ],
    ),
];

pub fn check(root: &Path) -> Result<()> {
    let mut problems = Vec::new();
    for file in rust_files(root) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let name = file.strip_prefix(root).unwrap_or(&file).display().to_string();
        if text.contains(concat!("allow(unsafe", "_code)"))
            && !UNSAFE_ALLOWED.iter().any(|(allowed, _)| *allowed == name)
        {
            problems.push(format!(
                "{name}: allows unsafe code, which only tidy::UNSAFE_ALLOWED's files may"
            ));
        }
        if !text.starts_with("//!") {
            problems.push(format!("{name}: does not open with a //! line"));
        }
        let lines = text.lines().count();
        if lines > LONG_FILE_LINES && !text.lines().take(20).any(|l| l.contains("Over 600 lines:")) {
            problems.push(format!(
                "{name}: {lines} lines, and no line \"Over 600 lines: <why>\" among its first 20"
            ));
        }
    }
    for dir in NO_DEBUG_OUTPUT {
        for file in rust_files(&root.join(dir)) {
            let name = file.strip_prefix(root).unwrap_or(&file).display().to_string();
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            problems.extend(
                debug_output_lines(&name, &text)
                    .into_iter()
                    .map(|line| format!("{name}:{line}: formats with Debug (`:?`), which prints nothing in the widget's build (tidy::NO_DEBUG_OUTPUT)")),
            );
        }
    }
    for (dir, layers) in LAYERS {
        problems.extend(layer_problems(&root.join(dir), dir, layers));
    }
    problems.extend(apart_problems(root, APART));
    if !problems.is_empty() {
        bail!("tidy:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

/// The lines (1-based) of `text` that format with `Debug`, leaving out
/// test files, everything from a `#[cfg(test)]` on, and panics and
/// assertions (whose messages the widget drops anyway).
fn debug_output_lines(name: &str, text: &str) -> Vec<usize> {
    if name.ends_with("tests.rs") || name.contains("/tests/") {
        return Vec::new();
    }
    let mut found = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        // an inline test module (`#[cfg(test)]` then `mod tests {`) runs to
        // the end of the file; `#[cfg(test)] mod tests;` is a declaration
        if line.trim_start().starts_with("#[cfg(test)]")
            && lines.get(index + 1).is_some_and(|next| next.trim_end().ends_with('{'))
        {
            break;
        }
        let code = line.split("//").next().unwrap_or_default();
        let excused = ["panic!", "assert", "unreachable!", "expect(", "todo!"]
            .iter()
            .any(|m| code.contains(m));
        if !excused && (code.contains(":?}") || code.contains(":#?}")) {
            found.push(index + 1);
        }
    }
    found
}

/// The top-level module a file under `src` belongs to (`a.rs` and `a/…` are `a`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let first = file.strip_prefix(src).ok()?.components().next()?;
    let first = first.as_os_str().to_str()?;
    Some(first.strip_suffix(".rs").unwrap_or(first).to_owned())
}

/// The modules a source text names as `crate::x` or `crate::{x, y}`, outside comments.
fn crate_references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or_default();
                for item in inner.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != "self" {
                        out.push(name);
                    }
                }
            } else {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
    }
    out
}

fn layer_problems(src: &Path, dir: &str, layers: &[&[&str]]) -> Vec<String> {
    let layer_of = |module: &str| layers.iter().position(|layer| layer.contains(&module));
    let mut problems = Vec::new();
    for file in rust_files(src) {
        let Some(module) = module_of(src, &file) else { continue };
        if module == "lib" || module == "main" || module == "bin" {
            continue;
        }
        let name = file.strip_prefix(src).unwrap_or(&file).display();
        let Some(own) = layer_of(&module) else {
            problems.push(format!(
                "{dir}/{name}: module `{module}` is not in xtask's tidy::LAYERS"
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for used in crate_references(&text) {
            match layer_of(&used) {
                Some(layer) if layer < own || used == module => {}
                Some(_) => problems.push(format!(
                    "{dir}/{name}: `{module}` imports `{used}`, which is not below it (tidy::LAYERS)"
                )),
                None => {}
            }
        }
    }
    problems
}

/// Files of a module in [`APART`] that name the module it must not.
fn apart_problems(root: &Path, rules: &[(&str, &str, &str, &str)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (dir, module, banned, why) in rules {
        let src = root.join(dir);
        for file in rust_files(&src) {
            if module_of(&src, &file).as_deref() != Some(*module) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if crate_references(&text).iter().any(|used| used == banned) {
                let name = file.strip_prefix(&src).unwrap_or(&file).display();
                problems.push(format!(
                    "{dir}/{name}: `{module}` imports `{banned}`: {why} (tidy::APART)"
                ));
            }
        }
    }
    problems
}

fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" && name != "dist" {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_references_are_read_from_paths_and_groups() {
        let text = "use crate::a::B;\n// crate::comment\nuse crate::{b, c::D, self};\nlet x = crate::d::f();\n";
        assert_eq!(crate_references(text), ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_module_may_import_only_lower_layers() {
        let dir = std::env::temp_dir().join(format!("xtask-layers-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("low.rs"), "//! Low.\n").unwrap();
        std::fs::write(dir.join("high.rs"), "//! High.\nuse crate::low::X;\n").unwrap();
        std::fs::write(
            dir.join("sub/inner.rs"),
            "//! Part of sub.\nuse crate::sub::Y;\nuse crate::low::Z;\n",
        )
        .unwrap();
        let layers: &[&[&str]] = &[&["low"], &["sub"], &["high"]];
        assert_eq!(layer_problems(&dir, "d", layers), Vec::<String>::new());
        std::fs::write(dir.join("low.rs"), "//! Low.\nuse crate::high::X;\n").unwrap();
        let problems = layer_problems(&dir, "d", layers);
        assert_eq!(
            problems,
            ["d/low.rs: `low` imports `high`, which is not below it (tidy::LAYERS)"]
        );
        std::fs::write(dir.join("other.rs"), "//! Unlisted.\n").unwrap();
        assert!(
            layer_problems(&dir, "d", layers)
                .iter()
                .any(|p| p.contains("`other` is not in"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn modules_kept_apart_may_not_name_each_other() {
        let dir = std::env::temp_dir().join(format!("xtask-apart-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src/feature")).unwrap();
        std::fs::write(dir.join("src/feature/ok.rs"), "//! Ok.\nuse crate::base::X;\n").unwrap();
        let rules = [("src", "feature", "tokens", "a reason")];
        assert_eq!(apart_problems(&dir, &rules), Vec::<String>::new());
        std::fs::write(dir.join("src/feature/bad.rs"), "//! Bad.\nuse crate::tokens::Claims;\n").unwrap();
        assert_eq!(
            apart_problems(&dir, &rules),
            ["src/feature/bad.rs: `feature` imports `tokens`: a reason (tidy::APART)"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_formatting_is_found_outside_tests_and_panics() {
        let text = "//! X.\n#[cfg(test)]\nmod tests;\nfn a() { log(&format!(\"{x:?}\")); }\nfn b() { panic!(\"{x:?}\") }\n// {x:?} in a comment\n#[cfg(test)]\nmod more {\nfn c() { log(&format!(\"{x:#?}\")); }\n}\n";
        assert_eq!(debug_output_lines("widget/src/a.rs", text), [4]);
        assert_eq!(
            debug_output_lines("widget/src/state/tests.rs", text),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn finds_files_without_a_module_doc() {
        let dir = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/good.rs"), "//! Good.\nfn f() {}\n").unwrap();
        assert!(check(&dir).is_ok());
        std::fs::write(dir.join("src/bad.rs"), "fn f() {}\n").unwrap();
        let err = check(&dir).unwrap_err().to_string();
        assert!(err.contains("src/bad.rs") && !err.contains("good.rs"), "{err}");
        std::fs::write(
            dir.join("src/bad.rs"),
            format!("//! Long.\n{}", "fn f() {}\n".repeat(600)),
        )
        .unwrap();
        let err = check(&dir).unwrap_err().to_string();
        assert!(err.contains("src/bad.rs: 601 lines"), "{err}");
        std::fs::write(
            dir.join("src/bad.rs"),
            format!("//! Long.\n//! Over 600 lines: a test.\n{}", "fn f() {}\n".repeat(600)),
        )
        .unwrap();
        assert!(check(&dir).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
