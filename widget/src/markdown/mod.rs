//! The markdown subset messages may use, parsed into a small tree that the
//! view turns into DOM nodes: bold, italic, inline code, code blocks, lists,
//! links (http, https and mailto only) and `:shortcode:` emoji. Raw HTML is
//! never passed through: it stays text, like everything else that is not in
//! the subset.
//!
//! The parser is our own and follows CommonMark (spec 0.31) for every
//! construct it knows: `block` finds paragraphs, code blocks and lists (and
//! reduces headings, block quotes and thematic breaks to their content),
//! `inline` resolves code spans, emphasis, links, autolinks, escapes and
//! breaks. It replaced pulldown-cmark, which cost the widget 54 KB
//! compressed for a full CommonMark we do not show; pulldown-cmark stays as
//! the reference the tests compare against (`reference_tests`), over a
//! generated corpus. Known differences, on purpose: raw HTML is text; link
//! reference definitions are text; only numeric character references and
//! `&amp; &lt; &gt; &quot; &apos; &nbsp;` are decoded.

mod block;
mod inline;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod reference_tests;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Strong(Vec<Inline>),
    Emphasis(Vec<Inline>),
    Code(String),
    Link { href: String, children: Vec<Inline> },
    Break,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    CodeBlock(String),
    List { ordered: bool, items: Vec<Vec<Block>> },
}

/// The emoji shortcodes understood (a small common set).
const EMOJI: &[(&str, &str)] = &[
    ("smile", "😄"),
    ("slightly_smiling_face", "🙂"),
    ("laughing", "😆"),
    ("wink", "😉"),
    ("heart", "❤️"),
    ("thumbsup", "👍"),
    ("+1", "👍"),
    ("thumbsdown", "👎"),
    ("-1", "👎"),
    ("clap", "👏"),
    ("pray", "🙏"),
    ("wave", "👋"),
    ("ok_hand", "👌"),
    ("tada", "🎉"),
    ("fire", "🔥"),
    ("rocket", "🚀"),
    ("eyes", "👀"),
    ("warning", "⚠️"),
    ("white_check_mark", "✅"),
    ("x", "❌"),
    ("question", "❓"),
    ("truck", "🚚"),
    ("package", "📦"),
    ("ship", "🚢"),
    ("airplane", "✈️"),
    ("calendar", "📅"),
    ("clock", "🕒"),
    ("thinking", "🤔"),
    ("cry", "😢"),
    ("sweat_smile", "😅"),
];

fn emoji(code: &str) -> Option<&'static str> {
    EMOJI.iter().find(|(name, _)| *name == code).map(|(_, e)| *e)
}

/// Replaces `:shortcode:` with its emoji; unknown codes stay as typed.
pub fn shortcodes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(':') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find(':') {
            Some(end)
                if end > 0
                    && after[..end]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b)) =>
            {
                match emoji(&after[..end]) {
                    Some(e) => {
                        out.push_str(e);
                        rest = &after[end + 1..];
                    }
                    None => {
                        out.push(':');
                        rest = after;
                    }
                }
            }
            _ => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether a link target is allowed: http, https or mailto, nothing else.
pub fn safe_href(href: &str) -> bool {
    let lower = href.trim().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:"))
        && !href.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Parses a message body into the subset's blocks.
pub fn parse(text: &str) -> Vec<Block> {
    parse_with(text, true)
}

/// [`parse`], with or without turning `:shortcode:`s into emoji.
fn parse_with(text: &str, emoji: bool) -> Vec<Block> {
    // message bodies are stored without trailing whitespace; one that has
    // some (from another Twilio client) is read the same way
    let lines: Vec<block::Line> = text
        .trim_end()
        .split('\n')
        .map(|l| block::Line::new(expand_indent(l)))
        .collect();
    let (raw, _) = block::parse(&lines);
    finish_blocks(raw, emoji)
}

/// Blocks with their inline content parsed; paragraphs left with nothing
/// to show (`[](https://x.org)`) are dropped.
fn finish_blocks(raw: Vec<block::Raw>, emoji: bool) -> Vec<Block> {
    let finish = |raw| match raw {
        block::Raw::Paragraph(text) => {
            let inlines = finish_inlines(inline::parse(&text), emoji);
            (!inlines.is_empty()).then_some(Block::Paragraph(inlines))
        }
        block::Raw::Code(code) => Some(Block::CodeBlock(code)),
        block::Raw::List { ordered, items } => Some(Block::List {
            ordered,
            items: items.into_iter().map(|item| finish_blocks(item, emoji)).collect(),
        }),
    };
    raw.into_iter().filter_map(finish).collect()
}

/// Links to anything but http, https and mailto keep only their text;
/// text is joined and gets its emoji.
fn finish_inlines(inlines: Vec<Inline>, emoji: bool) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::new();
    for inline in inlines {
        let inline = match inline {
            Inline::Strong(children) => Inline::Strong(finish_inlines(children, emoji)),
            Inline::Emphasis(children) => Inline::Emphasis(finish_inlines(children, emoji)),
            Inline::Link { href, children } if safe_href(&href) => Inline::Link {
                href,
                children: finish_inlines(children, emoji),
            },
            Inline::Link { children, .. } => {
                for child in finish_inlines(children, emoji) {
                    join(&mut out, child);
                }
                continue;
            }
            Inline::Text(text) if emoji => Inline::Text(shortcodes(&text)),
            other => other,
        };
        join(&mut out, inline);
    }
    out
}

fn join(out: &mut Vec<Inline>, inline: Inline) {
    match (out.last_mut(), inline) {
        (Some(Inline::Text(last)), Inline::Text(more)) => last.push_str(&more),
        (_, inline) => out.push(inline),
    }
}

/// A line with the tabs of its indentation expanded to 4-column stops and
/// a Windows line end removed.
fn expand_indent(line: &str) -> String {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let body = line.trim_start_matches([' ', '\t']);
    let mut out = String::with_capacity(line.len());
    for c in line[..line.len() - body.len()].chars() {
        if c == '\t' {
            out.push_str(&"    "[out.len() % 4..]);
        } else {
            out.push(' ');
        }
    }
    out.push_str(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Inline {
        Inline::Text(s.into())
    }

    #[test]
    fn the_subset() {
        assert_eq!(
            parse("**bold** *it* `code`"),
            [Block::Paragraph(vec![
                Inline::Strong(vec![text("bold")]),
                text(" "),
                Inline::Emphasis(vec![text("it")]),
                text(" "),
                Inline::Code("code".into()),
            ])]
        );
        assert_eq!(parse("```\nlet x = 1;\n```"), [Block::CodeBlock("let x = 1;".into())]);
        assert_eq!(
            parse("- a\n- b"),
            [Block::List {
                ordered: false,
                items: vec![
                    vec![Block::Paragraph(vec![text("a")])],
                    vec![Block::Paragraph(vec![text("b")])]
                ]
            }]
        );
        assert_eq!(
            parse("[site](https://distributeaid.org)"),
            [Block::Paragraph(vec![Inline::Link {
                href: "https://distributeaid.org".into(),
                children: vec![text("site")]
            }])]
        );
    }

    #[test]
    fn hostile_input_stays_text() {
        assert_eq!(parse("[x](javascript:alert(1))"), [Block::Paragraph(vec![text("x")])]);
        assert_eq!(parse("[x](JaVaScRiPt:alert(1))"), [Block::Paragraph(vec![text("x")])]);
        assert_eq!(parse("[x](data:text/html,hi)"), [Block::Paragraph(vec![text("x")])]);
        assert_eq!(
            parse("<img src=x onerror=alert(1)>"),
            [Block::Paragraph(vec![text("<img src=x onerror=alert(1)>")])]
        );
        assert_eq!(
            parse("<script>alert(1)</script>"),
            [Block::Paragraph(vec![text("<script>alert(1)</script>")])]
        );
        assert_eq!(
            parse("![alt](https://evil.example/x.png)"),
            [Block::Paragraph(vec![text("alt")])]
        );
        assert!(!safe_href("https://a.example/ x"));
        assert!(safe_href("mailto:team@example.org"));
    }

    #[test]
    fn shortcodes_become_emoji() {
        assert_eq!(
            shortcodes("ok :thumbsup: at 10:30 :nope: :tada:"),
            "ok 👍 at 10:30 :nope: 🎉"
        );
        assert_eq!(shortcodes("::"), "::");
        assert_eq!(
            parse("`:tada:`"),
            [Block::Paragraph(vec![Inline::Code(":tada:".into())])]
        );
    }

    /// How deeply blocks and inlines nest, counting each list, list item
    /// content, emphasis and link as one level.
    fn depth(blocks: &[Block]) -> usize {
        fn inline(i: &Inline) -> usize {
            match i {
                Inline::Strong(c) | Inline::Emphasis(c) | Inline::Link { children: c, .. } => {
                    1 + c.iter().map(inline).max().unwrap_or(0)
                }
                _ => 0,
            }
        }
        blocks
            .iter()
            .map(|b| match b {
                Block::Paragraph(i) => i.iter().map(inline).max().unwrap_or(0),
                Block::List { items, .. } => 1 + items.iter().map(|item| depth(item)).max().unwrap_or(0),
                Block::CodeBlock(_) => 0,
            })
            .max()
            .unwrap_or(0)
    }

    fn all_text(blocks: &[Block]) -> String {
        fn inline(i: &Inline, out: &mut String) {
            match i {
                Inline::Text(t) | Inline::Code(t) => out.push_str(t),
                Inline::Strong(c) | Inline::Emphasis(c) | Inline::Link { children: c, .. } => {
                    c.iter().for_each(|i| inline(i, out))
                }
                Inline::Break => out.push('\n'),
            }
        }
        let mut out = String::new();
        for b in blocks {
            match b {
                Block::Paragraph(i) => i.iter().for_each(|i| inline(i, &mut out)),
                Block::CodeBlock(code) => out.push_str(code),
                Block::List { items, .. } => items.iter().for_each(|item| out.push_str(&all_text(item))),
            }
        }
        out
    }

    /// Parses on a thread with a small stack, as the widget parses on a
    /// 1 MiB WASM stack: a hostile message must not exhaust it.
    fn parse_on_small_stack(text: String) -> Vec<Block> {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || parse(&text))
            .expect("a thread")
            .join()
            .expect("parsed without overflowing the stack")
    }

    #[test]
    fn nesting_is_bounded_and_deeper_content_stays_as_text() {
        // list items nested 100 deep, the innermost with a marker
        let nested: String = (0..100)
            .map(|level| format!("{}- l{level}\n", "  ".repeat(level)))
            .collect();
        let blocks = parse_on_small_stack(nested);
        assert_eq!(depth(&blocks), block::MAX_DEPTH);
        let text = all_text(&blocks);
        // the items as items, then the deeper ones as lines of text
        let items: String = (0..block::MAX_DEPTH).map(|level| format!("l{level}")).collect();
        let expected = format!("{items}\n- l{}\n", block::MAX_DEPTH);
        assert!(text.starts_with(&expected) && text.ends_with("- l99"), "{text:?}");

        // emphasis 8,000 deep
        let blocks = parse_on_small_stack(format!("{}deep{}", "*".repeat(16_000), "*".repeat(16_000)));
        assert_eq!(depth(&blocks), inline::MAX_NESTING);
        assert!(all_text(&blocks).contains("deep"));

        // 32 KB of each container marker (a Twilio message may be that long)
        for unit in ["> ", "- ", "1. ", "> - ", "- > ", "* a\n  ", "[", "*a ", "_a "] {
            let blocks = parse_on_small_stack(unit.repeat(32_000 / unit.len()));
            assert!(depth(&blocks) <= block::MAX_DEPTH + inline::MAX_NESTING, "{unit:?}");
        }
    }

    /// Property tests (proptest runs natively; the wasm32 build of this
    /// suite has no proptest).
    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;

        proptest::proptest! {
            #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

            /// Any text parses (no panic) into a tree no deeper than the limits,
            /// and every link it keeps has a safe target.
            #[test]
            fn any_text_parses_into_a_bounded_safe_tree(text in "(?s).{0,600}") {
                let blocks = parse_on_small_stack(text);
                proptest::prop_assert!(depth(&blocks) <= block::MAX_DEPTH + inline::MAX_NESTING);
                proptest::prop_assert!(links(&blocks).iter().all(|href| safe_href(href)));
            }

            /// Text made of the characters markdown gives meaning to, in runs:
            /// the inputs the parser's budgets exist for.
            #[test]
            fn markup_soup_parses_into_a_bounded_tree(
                runs in proptest::collection::vec((proptest::sample::select(vec!["*", "_", "[", "](", ")", ">", "- ", "1. ", "`", "\\", "<", "\n", " ", "a", "\"", "&#"]), 1usize..60), 0..40)
            ) {
                let text: String = runs.iter().map(|(unit, n)| unit.repeat(*n)).collect();
                let blocks = parse_on_small_stack(text);
                proptest::prop_assert!(depth(&blocks) <= block::MAX_DEPTH + inline::MAX_NESTING);
            }

            /// Plain words (no markup character) come out as exactly that text.
            #[test]
            fn plain_words_round_trip(words in proptest::collection::vec("[a-zA-Z0-9]{1,12}", 1..30)) {
                let text = words.join(" ");
                proptest::prop_assert_eq!(all_text(&parse(&text)), text);
            }
        }

        fn links(blocks: &[Block]) -> Vec<String> {
            fn inlines(list: &[Inline], out: &mut Vec<String>) {
                for inline in list {
                    match inline {
                        Inline::Link { href, children } => {
                            out.push(href.clone());
                            inlines(children, out);
                        }
                        Inline::Emphasis(children) | Inline::Strong(children) => inlines(children, out),
                        _ => {}
                    }
                }
            }
            fn walk(blocks: &[Block], out: &mut Vec<String>) {
                for block in blocks {
                    match block {
                        Block::Paragraph(list) => inlines(list, out),
                        Block::List { items, .. } => items.iter().for_each(|item| walk(item, out)),
                        Block::CodeBlock(_) => {}
                    }
                }
            }
            let mut out = Vec::new();
            walk(blocks, &mut out);
            out
        }
    }

    #[test]
    fn lazy_lines_stop_continuing_once_their_budget_is_spent() {
        // each `b` continues the quote's paragraph, which costs a parse of
        // the quote so far: the first ones stay one paragraph, the rest
        // become paragraphs of their own, and nothing is lost
        let text = "> a\nb\n".repeat(2_000);
        let blocks = parse(&text);
        assert!(blocks.len() > 1);
        let first = match &blocks[0] {
            Block::Paragraph(inlines) => inlines.iter().filter(|i| matches!(i, Inline::Break)).count(),
            other => panic!("{other:?}"),
        };
        assert!(first > 100, "the first paragraph joined {first} lines");
        assert_eq!(all_text(&blocks).matches('b').count(), 2_000);
        // a quote a person writes is untouched
        assert_eq!(parse("> a\nb\nc").len(), 1);
    }
}
