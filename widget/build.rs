//! Minifies `src/widget.css` into `$OUT_DIR/widget.css`, the copy compiled
//! into the WASM (`view::STYLE`): comments dropped, whitespace collapsed and
//! removed where CSS ignores it; quoted strings are kept as written. The
//! source stays readable; the WASM carries 1 KB less (0.26 KB brotli).

use std::path::PathBuf;

#[path = "css_minify.rs"]
mod css_minify;

fn main() {
    println!("cargo::rerun-if-changed=src/widget.css");
    let css = std::fs::read_to_string("src/widget.css").expect("src/widget.css");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("widget.css");
    std::fs::write(out, css_minify::minify(&css)).expect("writing the minified CSS");
}
