//! The markdown subset messages may use, parsed by pulldown-cmark into a
//! small tree that the view turns into DOM nodes: bold, italic, inline
//! code, code blocks, lists, links (http, https and mailto only) and
//! `:shortcode:` emoji. Raw HTML is never passed through: it stays text,
//! like everything else that is not in the subset.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

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

/// Where inline content is being collected.
enum Frame {
    Strong(Vec<Inline>),
    Emphasis(Vec<Inline>),
    Link(String, Vec<Inline>),
    /// Content of something outside the subset (heading, image, …): kept as text.
    Plain(Vec<Inline>),
}

struct Builder {
    blocks: Vec<Block>,
    /// Open list stack: (ordered, items, current item's blocks).
    lists: Vec<(bool, Vec<Vec<Block>>, Vec<Block>)>,
    inlines: Vec<Inline>,
    frames: Vec<Frame>,
    code: Option<String>,
}

impl Builder {
    fn push_inline(&mut self, inline: Inline) {
        match self.frames.last_mut() {
            Some(Frame::Strong(v) | Frame::Emphasis(v) | Frame::Link(_, v) | Frame::Plain(v)) => v.push(inline),
            None => self.inlines.push(inline),
        }
    }

    fn push_block(&mut self, block: Block) {
        match self.lists.last_mut() {
            Some((_, _, current)) => current.push(block),
            None => self.blocks.push(block),
        }
    }

    fn flush_paragraph(&mut self) {
        while let Some(frame) = self.frames.pop() {
            self.close(frame);
        }
        if !self.inlines.is_empty() {
            let inlines = std::mem::take(&mut self.inlines);
            self.push_block(Block::Paragraph(inlines));
        }
    }

    fn close(&mut self, frame: Frame) {
        let inline = match frame {
            Frame::Strong(v) => Inline::Strong(v),
            Frame::Emphasis(v) => Inline::Emphasis(v),
            Frame::Link(href, v) if safe_href(&href) => Inline::Link { href, children: v },
            // an unsafe link keeps its text only
            Frame::Link(_, v) | Frame::Plain(v) => {
                for inline in v {
                    self.push_inline(inline);
                }
                return;
            }
        };
        self.push_inline(inline);
    }

    fn text(&mut self, text: &str) {
        if let Some(code) = &mut self.code {
            code.push_str(text);
        } else {
            self.push_inline(Inline::Text(shortcodes(text)));
        }
    }
}

pub fn parse(text: &str) -> Vec<Block> {
    let mut b = Builder {
        blocks: Vec::new(),
        lists: Vec::new(),
        inlines: Vec::new(),
        frames: Vec::new(),
        code: None,
    };
    for event in Parser::new_ext(text, Options::empty()) {
        match event {
            Event::Start(Tag::Strong) => b.frames.push(Frame::Strong(Vec::new())),
            Event::Start(Tag::Emphasis) => b.frames.push(Frame::Emphasis(Vec::new())),
            Event::Start(Tag::Link { dest_url, .. }) => b.frames.push(Frame::Link(dest_url.to_string(), Vec::new())),
            Event::Start(Tag::Image { .. } | Tag::Heading { .. }) => b.frames.push(Frame::Plain(Vec::new())),
            Event::End(TagEnd::Strong | TagEnd::Emphasis | TagEnd::Link | TagEnd::Image) => {
                if let Some(frame) = b.frames.pop() {
                    b.close(frame);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(frame) = b.frames.pop() {
                    b.close(frame);
                }
                b.flush_paragraph();
            }
            Event::End(TagEnd::Paragraph) => b.flush_paragraph(),
            Event::Start(Tag::CodeBlock(_)) => {
                b.flush_paragraph();
                b.code = Some(String::new());
            }
            Event::End(TagEnd::CodeBlock) => {
                let code = b.code.take().unwrap_or_default();
                b.push_block(Block::CodeBlock(code.trim_end_matches('\n').to_owned()));
            }
            Event::Start(Tag::List(start)) => {
                b.flush_paragraph();
                b.lists.push((start.is_some(), Vec::new(), Vec::new()));
            }
            Event::Start(Tag::Item) => b.flush_paragraph(),
            Event::End(TagEnd::Item) => {
                b.flush_paragraph();
                if let Some((_, items, current)) = b.lists.last_mut() {
                    items.push(std::mem::take(current));
                }
            }
            Event::End(TagEnd::List(_)) => {
                b.flush_paragraph();
                if let Some((ordered, items, _)) = b.lists.pop() {
                    b.push_block(Block::List { ordered, items });
                }
            }
            Event::Text(text) => b.text(&text),
            Event::Code(code) => b.push_inline(Inline::Code(code.to_string())),
            // raw HTML is shown as the text it is
            Event::Html(html) | Event::InlineHtml(html) => {
                let text = html.to_string();
                b.push_inline(Inline::Text(text));
            }
            Event::SoftBreak | Event::HardBreak => b.push_inline(Inline::Break),
            Event::Rule => b.flush_paragraph(),
            _ => {}
        }
    }
    b.flush_paragraph();
    b.blocks
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
}
