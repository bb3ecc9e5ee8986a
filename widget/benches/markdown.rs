//! The markdown parser on hostile messages: for each pattern, a message of
//! it repeated to 4,000 bytes (the longest our composer and the local
//! provider accept) and to 32,000 bytes (the longest Twilio accepts, from
//! any client), parsed natively in release; prints the median of 5 parses.
//!
//!     cargo bench -p widget --bench markdown
//!
//! One `MARKDOWN bytes=… pattern=… ms=…` line per case, then the slowest.
//! Native timings: the widget parses in WASM, which is slower by a small
//! factor.

use std::time::Instant;

use widget::markdown::parse;

/// Each is repeated to the message size; the ones that used to be slow
/// (nesting, lazy lines, brackets, emphasis) and the plain ones.
const PATTERNS: &[&str] = &[
    "word ",
    "> ",
    "- ",
    "1. ",
    "> - ",
    "- > ",
    "> a\nb\n",
    "> - a\nb\n",
    "- a\nb\n",
    "a\n",
    "a\n\n",
    "]",
    "[",
    "[a](",
    "[](",
    "![a](",
    "[a](x) ",
    "[a](<",
    "[a](b \"",
    "*a ",
    "a* ",
    "**a ",
    "*a **b ",
    "_a ",
    "`",
    "`a``",
    "<",
    "<a@b.c",
    "&",
    "&#",
    ":",
    ":a",
    "\\",
    "```\n",
    "    a\n",
];

/// The median of 5 parses of `text`, in milliseconds.
fn median_ms(text: &str) -> f64 {
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(parse(std::hint::black_box(text)));
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[2]
}

fn main() {
    let mut slowest = (0.0, 0, String::new());
    for bytes in [4_000, 32_000] {
        let mut cases: Vec<(String, String)> = PATTERNS
            .iter()
            .map(|p| (format!("{p:?}"), p.repeat(bytes / p.len())))
            .collect();
        // emphasis and brackets nested as deep as the message allows
        cases.extend([
            ("stars-around-a".into(), format!("{0}a{0}", "*".repeat(bytes / 2))),
            (
                "nested-emphasis".into(),
                format!("{}{}", "*a ".repeat(bytes / 6), "a* ".repeat(bytes / 6)),
            ),
            (
                "brackets-then-links".into(),
                format!("{}{}", "[".repeat(bytes / 5), "](x)".repeat(bytes / 5)),
            ),
        ]);
        for (name, text) in cases {
            let ms = median_ms(&text);
            println!("MARKDOWN bytes={bytes} pattern={name} ms={ms:.2}");
            if ms > slowest.0 {
                slowest = (ms, bytes, name);
            }
        }
    }
    println!(
        "MARKDOWN slowest ms={:.2} bytes={} pattern={}",
        slowest.0, slowest.1, slowest.2
    );
}
