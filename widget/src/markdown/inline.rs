//! Inline content, following CommonMark's inline rules (spec 0.31): code
//! spans, `*`/`_` emphasis by the delimiter-run algorithm ("process
//! emphasis", with the rule of three), inline links and images, autolinks,
//! backslash escapes, hard and soft line breaks, and character references
//! (numeric ones and the few named ones people type; other names stay as
//! typed). Raw HTML is not recognised: it is text. Link reference
//! definitions do not exist, so `[text][ref]` is text.

use super::Inline;

/// A piece of inline content while brackets and delimiters are resolved.
enum Node {
    Text(String),
    /// A run of `*` or `_`.
    Delim {
        ch: char,
        len: usize,
        orig: usize,
        open: bool,
        close: bool,
    },
    /// `[` or `![` (`image`), waiting for its `]`.
    Bracket {
        image: bool,
    },
    /// Finished content, and how deeply it nests (see [`MAX_NESTING`]).
    Done(Inline, usize),
    /// Content that joins its parent as it is (an image's description, the
    /// text of a link that may not be a link, emphasis nested too deep), and
    /// how deeply it nests.
    Splice(Vec<Inline>, usize),
    /// Moved into an emphasis.
    Gone,
}

/// The `[` and `![` still waiting for their `]`: indices into the nodes,
/// innermost last (CommonMark's bracket stack). Kept beside the nodes so
/// that a `]` finds its opener at once: searching the nodes for it made a
/// message of many `]` quadratic.
#[derive(Default)]
struct Brackets {
    open: Vec<usize>,
    /// Links may not contain links: a `[` at a node index below this one
    /// was open when a link was made, and is text (CommonMark's "inactive").
    active_from: usize,
}

/// A `(` in a link destination met with more than this many already open
/// ends the attempt: it is no destination (pulldown-cmark's rule). Without
/// a limit a message of many `[a](` was read to its end once per `]`.
const MAX_DESTINATION_PARENS: usize = 32;

/// How deeply emphasis and links may nest: deeper ones keep their content
/// without the extra emphasis. A message is untrusted (`*` × 16,000, `a`,
/// `*` × 16,000 nests 8,000 deep) and the tree is walked recursively here
/// and by the view, on a 1 MiB WASM stack.
pub const MAX_NESTING: usize = 16;

/// How many nodes "process emphasis" may visit for one paragraph; then the
/// delimiters left are text. CommonMark's algorithm revisits the content of
/// each match, which is quadratic for deeply nested emphasis (`*a ` × 5,000
/// then `a* ` × 5,000 took 280 ms); a paragraph a person writes visits a few
/// hundred.
const EMPHASIS_STEPS: usize = 500_000;

// Kept out of its callers: inlined, the widget's brotli grew by 117 B.
#[inline(never)]
pub fn parse(text: &str) -> Vec<Inline> {
    let chars: Vec<char> = text.chars().collect();
    let mut nodes: Vec<Node> = Vec::new();
    let mut brackets = Brackets::default();
    let mut budget = EMPHASIS_STEPS;
    let mut buf = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => match chars.get(i + 1) {
                Some('\n') => {
                    push_text(&mut nodes, &mut buf);
                    nodes.push(Node::Done(Inline::Break, 0));
                    i = skip_spaces(&chars, i + 2);
                    continue;
                }
                Some(&next) if next.is_ascii_punctuation() => {
                    buf.push(next);
                    i += 2;
                    continue;
                }
                _ => buf.push('\\'),
            },
            '\n' => {
                let trimmed = buf.trim_end_matches(' ').len();
                buf.truncate(trimmed);
                push_text(&mut nodes, &mut buf);
                nodes.push(Node::Done(Inline::Break, 0));
                i = skip_spaces(&chars, i + 1);
                continue;
            }
            '`' => {
                let run = run_len(&chars, i, '`');
                match code_span(&chars, i + run, run) {
                    Some((code, end)) => {
                        push_text(&mut nodes, &mut buf);
                        nodes.push(Node::Done(Inline::Code(code), 0));
                        i = end;
                    }
                    None => {
                        buf.extend(&chars[i..i + run]);
                        i += run;
                    }
                }
                continue;
            }
            '*' | '_' => {
                let run = run_len(&chars, i, c);
                let before = if i == 0 { ' ' } else { chars[i - 1] };
                let after = chars.get(i + run).copied().unwrap_or(' ');
                let left = !after.is_whitespace() && (!is_punct(after) || before.is_whitespace() || is_punct(before));
                let right = !before.is_whitespace() && (!is_punct(before) || after.is_whitespace() || is_punct(after));
                let (open, close) = if c == '*' {
                    (left, right)
                } else {
                    (
                        left && (!right || is_punct(before)),
                        right && (!left || is_punct(after)),
                    )
                };
                push_text(&mut nodes, &mut buf);
                nodes.push(Node::Delim {
                    ch: c,
                    len: run,
                    orig: run,
                    open,
                    close,
                });
                i += run;
                continue;
            }
            '[' => {
                push_text(&mut nodes, &mut buf);
                brackets.open.push(nodes.len());
                nodes.push(Node::Bracket { image: false });
            }
            '!' if chars.get(i + 1) == Some(&'[') => {
                push_text(&mut nodes, &mut buf);
                brackets.open.push(nodes.len());
                nodes.push(Node::Bracket { image: true });
                i += 2;
                continue;
            }
            ']' => {
                push_text(&mut nodes, &mut buf);
                i = close_bracket(&chars, i, &mut nodes, &mut brackets, &mut budget);
                continue;
            }
            '<' => match autolink(&chars, i + 1) {
                Some((href, label, end)) => {
                    push_text(&mut nodes, &mut buf);
                    let link = Inline::Link {
                        href,
                        children: vec![Inline::Text(label)],
                    };
                    nodes.push(Node::Done(link, 1));
                    i = end;
                    continue;
                }
                None => buf.push('<'),
            },
            '&' => match char_ref(&chars, i + 1) {
                Some((decoded, end)) => {
                    buf.push_str(decoded.as_ref());
                    i = end;
                    continue;
                }
                None => buf.push('&'),
            },
            _ => buf.push(c),
        }
        i += 1;
    }
    push_text(&mut nodes, &mut buf);
    process_emphasis(&mut nodes, 0, &mut budget);
    finish(nodes).0
}

fn push_text(nodes: &mut Vec<Node>, buf: &mut String) {
    if !buf.is_empty() {
        nodes.push(Node::Text(std::mem::take(buf)));
    }
}

fn skip_spaces(chars: &[char], mut i: usize) -> usize {
    while chars.get(i) == Some(&' ') {
        i += 1;
    }
    i
}

fn run_len(chars: &[char], i: usize, c: char) -> usize {
    chars[i..].iter().take_while(|x| **x == c).count()
}

/// ASCII punctuation, or anything beyond ASCII that is neither a letter,
/// a digit nor a space (Unicode's punctuation and symbols, near enough).
fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace())
}

/// The code span whose opening run of `run` backticks ends at `start`: its
/// content and where it ends.
fn code_span(chars: &[char], start: usize, run: usize) -> Option<(String, usize)> {
    let mut i = start;
    while i < chars.len() {
        if chars[i] == '`' {
            let close = run_len(chars, i, '`');
            if close == run {
                let mut code: String = chars[start..i]
                    .iter()
                    .map(|c| if *c == '\n' { ' ' } else { *c })
                    .collect();
                if code.len() >= 2 && code.starts_with(' ') && code.ends_with(' ') && code.bytes().any(|b| b != b' ') {
                    code = code[1..code.len() - 1].to_owned();
                }
                return Some((code, i + close));
            }
            i += close;
        } else {
            i += 1;
        }
    }
    None
}

/// Handles the `]` at `i`: a link or image if an opener and a destination
/// match, text otherwise. Returns where to go on.
fn close_bracket(
    chars: &[char],
    i: usize,
    nodes: &mut Vec<Node>,
    brackets: &mut Brackets,
    budget: &mut usize,
) -> usize {
    let Some(k) = brackets.open.pop() else {
        nodes.push(Node::Text("]".into()));
        return i + 1;
    };
    let Node::Bracket { image } = nodes[k] else {
        return i + 1;
    };
    let active = image || k >= brackets.active_from;
    let destination = if active { link_destination(chars, i + 1) } else { None };
    let Some((href, end)) = destination else {
        nodes[k] = Node::Text(if image { "![" } else { "[" }.into());
        nodes.push(Node::Text("]".into()));
        return i + 1;
    };
    process_emphasis(nodes, k + 1, budget);
    let (children, depth) = finish(nodes.drain(k + 1..).collect());
    nodes.truncate(k);
    if image {
        // the nodes from k on are gone: a `[` after them is active
        brackets.active_from = brackets.active_from.min(k + 1);
        nodes.push(Node::Splice(children, depth));
    } else {
        // every `[` still open is now inactive
        brackets.active_from = k + 1;
        nodes.push(if depth >= MAX_NESTING {
            Node::Splice(children, depth)
        } else {
            Node::Done(Inline::Link { href, children }, depth + 1)
        });
    }
    end
}

/// An inline link's `(destination "title")` starting at `i`: the
/// destination and where the link ends.
fn link_destination(chars: &[char], i: usize) -> Option<(String, usize)> {
    if chars.get(i) != Some(&'(') {
        return None;
    }
    let mut i = skip_whitespace(chars, i + 1)?;
    let mut dest = String::new();
    if chars.get(i) == Some(&'<') {
        i += 1;
        loop {
            match *chars.get(i)? {
                '>' => break,
                '\n' | '<' => return None,
                '\\' if chars.get(i + 1).is_some_and(|c| c.is_ascii_punctuation()) => {
                    dest.push(chars[i + 1]);
                    i += 1;
                }
                c => dest.push(c),
            }
            i += 1;
        }
        i += 1;
    } else {
        let mut depth = 0usize;
        while let Some(&c) = chars.get(i) {
            match c {
                '\\' if chars.get(i + 1).is_some_and(|c| c.is_ascii_punctuation()) => {
                    dest.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                '(' if depth > MAX_DESTINATION_PARENS => return None,
                '(' => depth += 1,
                ')' if depth == 0 => break,
                ')' => depth -= 1,
                c if c == ' ' || c.is_ascii_control() => break,
                _ => {}
            }
            dest.push(c);
            i += 1;
        }
        if depth != 0 {
            return None;
        }
    }
    let before_title = i;
    i = skip_whitespace(chars, i)?;
    if chars.get(i) != Some(&')') && i > before_title {
        i = skip_title(chars, i)?;
        i = skip_whitespace(chars, i)?;
    }
    (chars.get(i) == Some(&')')).then(|| (decode_refs(&dest), i + 1))
}

/// Spaces, tabs and at most one line ending.
fn skip_whitespace(chars: &[char], mut i: usize) -> Option<usize> {
    let mut newlines = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            ' ' | '\t' => {}
            '\n' if newlines == 0 => newlines += 1,
            '\n' => return None,
            _ => break,
        }
        i += 1;
    }
    Some(i)
}

fn skip_title(chars: &[char], i: usize) -> Option<usize> {
    let close = match chars.get(i)? {
        '"' => '"',
        '\'' => '\'',
        '(' => ')',
        _ => return None,
    };
    let mut j = i + 1;
    loop {
        match *chars.get(j)? {
            '\\' => j += 1,
            c if c == close => return Some(j + 1),
            '(' if close == ')' => return None,
            '\n' if chars.get(j + 1) == Some(&'\n') => return None,
            _ => {}
        }
        j += 1;
    }
}

/// An autolink's target, label and end, for the text after its `<`.
fn autolink(chars: &[char], start: usize) -> Option<(String, String, usize)> {
    // stop at the first character an autolink cannot hold, so that many
    // `<` in one message stay linear
    let end = start
        + chars[start..]
            .iter()
            .position(|c| matches!(c, '>' | '<' | ' ') || c.is_control())?;
    if chars[end] != '>' {
        return None;
    }
    let inner: String = chars[start..end].iter().collect();
    let scheme = inner.split_once(':').map_or("", |(scheme, _)| scheme);
    let is_uri = (2..=32).contains(&scheme.len())
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b));
    if is_uri {
        return Some((inner.clone(), inner, end + 1));
    }
    is_email(&inner).then(|| (format!("mailto:{inner}"), inner, end + 1))
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b))
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A character reference after an `&`: what it stands for and where it ends.
fn char_ref(chars: &[char], start: usize) -> Option<(std::borrow::Cow<'static, str>, usize)> {
    let end = start + chars[start..].iter().take(33).position(|c| *c == ';')?;
    let name: String = chars[start..end].iter().collect();
    let decoded = if let Some(num) = name.strip_prefix('#') {
        let value = match num.strip_prefix(['x', 'X']) {
            Some(hex) if (1..=6).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                u32::from_str_radix(hex, 16).ok()?
            }
            Some(_) => return None,
            None if (1..=7).contains(&num.len()) && num.bytes().all(|b| b.is_ascii_digit()) => num.parse().ok()?,
            None => return None,
        };
        let c = char::from_u32(value).filter(|c| *c != '\0').unwrap_or('\u{FFFD}');
        c.to_string().into()
    } else {
        match name.as_str() {
            "amp" => "&",
            "lt" => "<",
            "gt" => ">",
            "quot" => "\"",
            "apos" => "'",
            "nbsp" => "\u{A0}",
            _ => return None,
        }
        .into()
    };
    Some((decoded, end + 1))
}

/// Backslash escapes and character references in a link destination.
fn decode_refs(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_owned();
    }
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '&'
            && let Some((decoded, end)) = char_ref(&chars, i + 1)
        {
            out.push_str(&decoded);
            i = end;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// CommonMark's "process emphasis" over `nodes[bottom..]`, visiting at
/// most `budget` nodes (what it visits is taken off).
// Kept out of its callers: inlined, the widget's brotli grew by 96 B.
#[inline(never)]
fn process_emphasis(nodes: &mut [Node], bottom: usize, budget: &mut usize) {
    // lower bound of the opener search, by delimiter, closer-can-open and
    // closer length modulo 3
    let mut openers_bottom = [[[bottom; 3]; 2]; 2];
    let mut c = bottom;
    while c < nodes.len() {
        let Node::Delim {
            ch,
            len: close_len,
            orig: close_orig,
            open: close_open,
            close: true,
        } = nodes[c]
        else {
            c += 1;
            continue;
        };
        let key = (usize::from(ch == '_'), usize::from(close_open), close_orig % 3);
        let lower = openers_bottom[key.0][key.1][key.2];
        let Some(steps) = budget.checked_sub(c - lower) else {
            return;
        };
        *budget = steps;
        let opener = (lower..c).rev().find(|&o| match nodes[o] {
            _ if o + 1 == c => false,
            Node::Delim {
                ch: och,
                len,
                orig,
                open: true,
                close: oclose,
            } => {
                och == ch
                    && len > 0
                    && !((oclose || close_open)
                        && (orig + close_orig) % 3 == 0
                        && !(orig % 3 == 0 && close_orig % 3 == 0))
            }
            _ => false,
        });
        let Some(o) = opener else {
            openers_bottom[key.0][key.1][key.2] = c;
            c += 1;
            continue;
        };
        let Node::Delim { len: open_len, .. } = nodes[o] else {
            break;
        };
        let used = if open_len >= 2 && close_len >= 2 { 2 } else { 1 };
        // delimiters between opener and closer become text
        let inner: Vec<Node> = nodes[o + 1..c]
            .iter_mut()
            .map(|n| std::mem::replace(n, Node::Gone))
            .collect();
        let (children, depth) = finish(inner);
        nodes[o + 1] = if depth >= MAX_NESTING {
            Node::Splice(children, depth)
        } else if used == 2 {
            Node::Done(Inline::Strong(children), depth + 1)
        } else {
            Node::Done(Inline::Emphasis(children), depth + 1)
        };
        if let Node::Delim { len, .. } = &mut nodes[o] {
            *len -= used;
        }
        if let Node::Delim { len, close, .. } = &mut nodes[c] {
            *len -= used;
            if *len == 0 {
                *close = false;
                c += 1;
            }
        }
    }
}

/// The finished inline content: leftover delimiters and brackets are text,
/// adjacent texts are joined. With it, how deeply it nests.
fn finish(nodes: Vec<Node>) -> (Vec<Inline>, usize) {
    let mut out: Vec<Inline> = Vec::new();
    let mut deepest = 0;
    let push = |inline: Inline, out: &mut Vec<Inline>| match (out.last_mut(), inline) {
        (Some(Inline::Text(last)), Inline::Text(more)) => last.push_str(&more),
        (_, inline) => out.push(inline),
    };
    for node in nodes {
        match node {
            Node::Text(text) => push(Inline::Text(text), &mut out),
            Node::Delim { ch, len, .. } if len > 0 => push(Inline::Text(ch.to_string().repeat(len)), &mut out),
            Node::Bracket { image, .. } => push(Inline::Text(if image { "![" } else { "[" }.into()), &mut out),
            Node::Done(inline, depth) => {
                deepest = deepest.max(depth);
                push(inline, &mut out);
            }
            Node::Splice(inlines, depth) => {
                deepest = deepest.max(depth);
                for inline in inlines {
                    push(inline, &mut out);
                }
            }
            Node::Delim { .. } | Node::Gone => {}
        }
    }
    (out, deepest)
}
