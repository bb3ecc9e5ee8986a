//! Two things the widget compiles in, made from readable sources:
//!
//! - `$OUT_DIR/widget.css`: `src/widget.css` minified (comments dropped,
//!   whitespace collapsed and removed where CSS ignores it; quoted strings
//!   kept). The WASM carries 1 KB less (0.26 KB brotli). Likewise each
//!   piece's own styles (`notify.css`, `markdown.css`, `attach.css`,
//!   `actions.css`),
//!   which come with their piece ([`crate::view::pieces::add_style`]).
//! - `$OUT_DIR/messages.rs`: the English catalog `locales/en.txt` as an
//!   `enum Msg` (one variant per message, in the catalog's order) and the
//!   table `EN` of its compiled lines ([`i18n_catalog`]); other locales are
//!   files the window fetches (`cargo xtask widget` compiles them).
//!
//! For wasm32 it also asks the linker to keep its relocations
//! (`--emit-relocs`): `cargo xtask widget` splits the WASM into the core
//! and its pieces by them ([`crate::pieces`]). A link argument, not a
//! `RUSTFLAGS` change, so no dependency is built twice for it.

use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "css_minify.rs"]
mod css_minify;
#[path = "i18n_catalog.rs"]
#[allow(dead_code)] // `compile` is for xtask
mod i18n_catalog;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo::rustc-link-arg-cdylib=--emit-relocs");
    }
    // the core's styles, and each piece's (which come with their piece)
    for source in [
        "src/widget.css",
        "src/view/notify.css",
        "src/view/markdown.css",
        "src/attach/attach.css",
        "src/actions/actions.css",
    ] {
        println!("cargo::rerun-if-changed={source}");
        let css = std::fs::read_to_string(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        let name = source.rsplit('/').next().unwrap_or(source);
        std::fs::write(out.join(name), css_minify::minify(&css)).expect("writing the minified CSS");
    }

    println!("cargo::rerun-if-changed=locales/en.txt");
    let source = std::fs::read_to_string("locales/en.txt").expect("locales/en.txt");
    let english = i18n_catalog::parse(&source).unwrap_or_else(|e| panic!("locales/en.txt: {e}"));
    let problems = i18n_catalog::problems("en", &english, &english);
    assert!(problems.is_empty(), "locales/en.txt: {problems:?}");
    // a piece's words come last, a section per piece, and are compiled
    // into that piece ([`PIECE_WORDS`])
    let piece_of = |key: &str| PIECE_WORDS.iter().position(|p| key.split('.').next() == Some(*p));
    let sections: Vec<Option<usize>> = english.iter().map(|e| piece_of(&e.key)).collect();
    assert!(
        sections.windows(2).all(|w| match (w[0], w[1]) {
            (Some(a), Some(b)) => a <= b,
            (Some(_), None) => false,
            (None, _) => true,
        }),
        "locales/en.txt: a piece's words come after every core message, one section per piece, in the order of PIECE_WORDS"
    );
    let mut code = String::from(
        "/// A message of the catalog (`locales/en.txt`), by its key.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n#[allow(dead_code)]\npub enum Msg {\n",
    );
    for entry in &english {
        let _ = writeln!(code, "    /// `{}`\n    {},", entry.key, variant(&entry.key));
    }
    let _ = writeln!(
        code,
        "}}\n\n/// How many messages the catalog has (the core's and the pieces')."
    );
    let _ = writeln!(code, "pub const MSG_COUNT: usize = {};\n", english.len());
    code.push_str("/// The English lines of the core's messages, one per [`Msg`] up to the pieces' words.\n");
    code.push_str("pub const EN: &[&str] = &[\n");
    for (entry, _) in english.iter().zip(&sections).filter(|(_, s)| s.is_none()) {
        let _ = writeln!(code, "    {:?},", entry.compiled());
    }
    code.push_str("];\n");
    for (index, piece) in PIECE_WORDS.iter().enumerate() {
        let start = sections.iter().position(|s| *s == Some(index)).unwrap_or(english.len());
        let _ = writeln!(
            code,
            "\n/// The English words of the `{piece}` piece: its first message's index and its lines\n\
             /// (referenced only from the piece, so they are downloaded with it).\n\
             pub const EN_{}: Words = ({start}, &[",
            piece.to_uppercase()
        );
        for (entry, _) in english.iter().zip(&sections).filter(|(_, s)| **s == Some(index)) {
            let _ = writeln!(code, "    {:?},", entry.compiled());
        }
        code.push_str("]);\n");
    }
    let plural: Vec<String> = english
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_plural())
        .map(|(i, _)| i.to_string())
        .collect();
    let _ = writeln!(
        code,
        "\n/// The messages that count (a plural line), by index.\npub const PLURAL: &[u16] = &[{}];",
        plural.join(", ")
    );
    std::fs::write(out.join("messages.rs"), code).expect("writing the message table");
}

/// The pieces of the window with words of their own, by key prefix:
/// `commands.*` the slash commands', `notify.*` the notification panel's,
/// `attach.*` the attachment piece's, `actions.*` the message actions'.
/// Their English lines are not in the core's table but in the
/// piece ([`i18n::speak`](../src/i18n.rs)); other locales' catalogs hold
/// every line, in the same order.
const PIECE_WORDS: [&str; 4] = ["commands", "notify", "attach", "actions"];

/// `notify.code_sent` → `NotifyCodeSent`.
fn variant(key: &str) -> String {
    key.split(['.', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
