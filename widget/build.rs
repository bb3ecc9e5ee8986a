//! Minifies `src/widget.css` into `$OUT_DIR/widget.css`, the copy compiled
//! into the WASM (`view::STYLE`): comments dropped, whitespace collapsed and
//! removed where CSS ignores it; quoted strings are kept as written. The
//! source stays readable; the download carries 1 KB less.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=src/widget.css");
    let css = std::fs::read_to_string("src/widget.css").expect("src/widget.css");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("widget.css");
    std::fs::write(out, minify(&css)).expect("writing the minified CSS");
}

fn minify(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                space = true;
            }
            c if c.is_whitespace() => space = true,
            c => {
                // Whitespace means nothing after these, nor before them
                // except the colon (`.a :hover` is not `.a:hover`).
                const AFTER: &[char] = &['{', '}', ';', ',', '>', ':'];
                const BEFORE: &[char] = &['{', '}', ';', ',', '>'];
                if std::mem::take(&mut space) && !out.is_empty() && !out.ends_with(AFTER) && !BEFORE.contains(&c) {
                    out.push(' ');
                }
                if c == '}' && out.ends_with(';') {
                    out.pop();
                }
                out.push(c);
                if c == '"' || c == '\'' {
                    // a quoted string, as written
                    for inner in chars.by_ref() {
                        out.push(inner);
                        if inner == c {
                            break;
                        }
                    }
                }
            }
        }
    }
    out
}
