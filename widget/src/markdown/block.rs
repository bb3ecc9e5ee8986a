//! Block structure, following CommonMark's block rules for the blocks the
//! subset knows: paragraphs, fenced and indented code, bullet and ordered
//! lists. Headings become paragraphs, thematic breaks vanish and block
//! quotes give their contents (the subset has no such elements; pulldown-cmark
//! did the same in earlier versions of the widget). Paragraph text stays raw
//! here; `inline` parses it once the structure is known.

/// A block before its inline content is parsed.
#[derive(Debug)]
pub enum Raw {
    Paragraph(String),
    Code(String),
    List { ordered: bool, items: Vec<Vec<Raw>> },
}

/// A line of a container's content.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    /// A lazy continuation line: it continues the container's last
    /// paragraph although it is not inside the container (`> a` then `b`),
    /// and can be nothing else (`===` under it is not a heading underline).
    pub lazy: bool,
}

impl Line {
    pub fn new(text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            lazy: false,
        }
    }

    /// A lazy continuation line; its indentation goes (as in commonmark.js).
    fn lazy(text: &str) -> Line {
        Line {
            text: text.trim_start().to_owned(),
            lazy: true,
        }
    }
}

/// How deep block quotes and list items may nest; deeper down, `>` and list
/// markers are text. A message is untrusted (a Twilio message may be 32 KB
/// of `> `): each level is a recursion here and in the view, on a 1 MiB WASM
/// stack, and each list indents the text (by 6 % of the width left, in
/// `widget.css`).
pub const MAX_DEPTH: usize = 16;

/// How many lines, in all, may be parsed again to decide whether a line
/// outside a container is a lazy continuation of the paragraph inside it
/// (each decision parses the container's content so far). Beyond this a
/// line is never lazy, so a hostile message (`> a` and `b` alternating,
/// 32 KB of them) costs linear time instead of quadratic; no message a
/// person writes comes near it.
const LAZY_CHECK_LINES: usize = 20_000;

/// Parses `lines` (tabs in indentation already expanded) into blocks, and
/// says whether the last line left a paragraph open (which is what lets a
/// "lazy" line continue it from outside its container).
pub fn parse(lines: &[Line]) -> (Vec<Raw>, bool) {
    let mut budget = LAZY_CHECK_LINES;
    parse_at(lines, 0, &mut budget)
}

/// [`parse`] for the content of containers nested `depth` deep, with
/// `budget` lines left for lazy-continuation checks.
fn parse_at(lines: &[Line], depth: usize, budget: &mut usize) -> (Vec<Raw>, bool) {
    let nest = depth < MAX_DEPTH;
    let mut out = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut open = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].text.as_str();
        let ind = indent(line);
        let rest = &line[ind..];
        open = false;
        if lines[i].lazy && !para.is_empty() {
            para.push(line);
            open = true;
            i += 1;
            continue;
        }
        if is_blank(rest) {
            flush(&mut para, &mut out);
            i += 1;
            continue;
        }
        if ind >= 4 {
            if !para.is_empty() {
                para.push(line);
                open = true;
                i += 1;
                continue;
            }
            let mut code: Vec<&str> = Vec::new();
            while i < lines.len() && (is_blank(&lines[i].text) || indent(&lines[i].text) >= 4) {
                code.push(lines[i].text.get(4..).unwrap_or(""));
                i += 1;
            }
            while code.last().is_some_and(|l| is_blank(l)) {
                code.pop();
            }
            out.push(Raw::Code(code.join("\n")));
            continue;
        }
        if !para.is_empty() && is_setext_underline(rest) {
            flush(&mut para, &mut out);
            i += 1;
            continue;
        }
        if is_thematic_break(rest) {
            flush(&mut para, &mut out);
            i += 1;
            continue;
        }
        if let Some((fence, len)) = fence_open(rest) {
            flush(&mut para, &mut out);
            i += 1;
            let mut code: Vec<&str> = Vec::new();
            while i < lines.len() {
                let l = lines[i].text.as_str();
                let li = indent(l);
                i += 1;
                if li < 4 && is_fence_close(&l[li..], fence, len) {
                    break;
                }
                code.push(&l[li.min(ind)..]);
            }
            out.push(Raw::Code(code.join("\n").trim_end_matches('\n').to_owned()));
            continue;
        }
        if let Some(content) = atx_heading(rest) {
            flush(&mut para, &mut out);
            if !content.is_empty() {
                out.push(Raw::Paragraph(content.to_owned()));
            }
            i += 1;
            continue;
        }
        if nest && rest.starts_with('>') && !lines[i].lazy {
            flush(&mut para, &mut out);
            let mut quoted: Vec<Line> = Vec::new();
            while i < lines.len() {
                let l = lines[i].text.as_str();
                let li = indent(l);
                if li < 4 && l[li..].starts_with('>') && !lines[i].lazy {
                    let after = &l[li + 1..];
                    quoted.push(Line::new(after.strip_prefix(' ').unwrap_or(after)));
                } else if lines[i].lazy || lazy_continues(&quoted, l, depth, budget) {
                    quoted.push(Line::lazy(l));
                } else {
                    break;
                }
                i += 1;
            }
            let (blocks, inner_open) = parse_at(&quoted, depth + 1, budget);
            out.extend(blocks);
            open = inner_open;
            continue;
        }
        if let Some(marker) = list_marker(rest).filter(|_| nest)
            && (para.is_empty() || marker.interrupts_paragraph())
        {
            flush(&mut para, &mut out);
            let (list, list_open, next) = parse_list(lines, i, ind, marker, depth, budget);
            out.push(list);
            open = list_open;
            i = next;
            continue;
        }
        // continuation lines keep their indentation: it is removed around
        // line breaks, but kept inside code spans
        para.push(if para.is_empty() { rest } else { line });
        open = true;
        i += 1;
    }
    flush(&mut para, &mut out);
    (out, open)
}

/// Parses the list that starts at `lines[start]`, `depth` containers deep:
/// its items, whether its last line left a paragraph open, and the index of
/// the first line after it.
fn parse_list(
    lines: &[Line],
    start: usize,
    first_indent: usize,
    first: Marker,
    depth: usize,
    budget: &mut usize,
) -> (Raw, bool, usize) {
    let ordered = first.ordered;
    let mut items = Vec::new();
    let mut open;
    let (mut i, mut ind, mut marker) = (start, first_indent, first);
    loop {
        let line = lines[i].text.as_str();
        let width = ind + marker.content;
        let mut item: Vec<Line> = vec![Line::new(line.get(width..).unwrap_or(""))];
        i += 1;
        while i < lines.len() {
            let l = lines[i].text.as_str();
            if is_blank(l) {
                // an item can begin with at most one blank line
                if marker.empty && item.len() == 1 {
                    break;
                }
                item.push(Line::new(l.get(width..).unwrap_or("")));
            } else if indent(l) >= width && !lines[i].lazy {
                item.push(Line::new(&l[width..]));
            } else if lines[i].lazy || lazy_continues(&item, l, depth, budget) {
                item.push(Line::lazy(l));
            } else {
                break;
            }
            i += 1;
        }
        let (blocks, item_open) = parse_at(&item, depth + 1, budget);
        open = item_open;
        items.push(blocks);
        // the next item, maybe after blank lines: a marker of the same
        // kind, not nested deeper
        let Some(next_line) = lines[i..].iter().position(|l| !is_blank(&l.text)).map(|k| i + k) else {
            break;
        };
        let l = lines[next_line].text.as_str();
        let li = indent(l);
        if li >= 4 || lines[next_line].lazy || is_thematic_break(&l[li..]) {
            break;
        }
        match list_marker(&l[li..]) {
            Some(next) if next.same_list(&marker) => (i, ind, marker) = (next_line, li, next),
            _ => break,
        }
    }
    (Raw::List { ordered, items }, open, i)
}

/// Whether `line`, outside the container (`depth` deep) whose lines so far
/// are `inner`, is a lazy continuation of the paragraph the container ends
/// with. Never, once the [`LAZY_CHECK_LINES`] budget is spent.
fn lazy_continues(inner: &[Line], line: &str, depth: usize, budget: &mut usize) -> bool {
    if is_blank(line) || inner.last().is_none_or(|l| is_blank(&l.text)) {
        return false;
    }
    let ind = indent(line);
    let rest = &line[ind..];
    // Outside the container the paragraph is not what the line is matched
    // against, so any list item may start here (CommonMark's reference
    // implementations decide this by the last matched container).
    let starts_block = ind < 4
        && (is_thematic_break(rest)
            || fence_open(rest).is_some()
            || atx_heading(rest).is_some()
            || rest.starts_with('>')
            || list_marker(rest).is_some());
    if starts_block {
        return false;
    }
    let Some(left) = budget.checked_sub(inner.len()) else {
        return false;
    };
    *budget = left;
    parse_at(inner, depth + 1, budget).1
}

fn flush(para: &mut Vec<&str>, out: &mut Vec<Raw>) {
    if !para.is_empty() {
        let text = para.join("\n");
        out.push(Raw::Paragraph(text.trim_end().to_owned()));
        para.clear();
    }
}

pub fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| b == b' ' || b == b'\t')
}

fn is_setext_underline(rest: &str) -> bool {
    let body = rest.trim_end_matches([' ', '\t']);
    !body.is_empty() && (body.bytes().all(|b| b == b'=') || body.bytes().all(|b| b == b'-'))
}

fn is_thematic_break(rest: &str) -> bool {
    let mut marks = rest.bytes().filter(|b| *b != b' ' && *b != b'\t');
    let Some(first) = marks.next() else { return false };
    matches!(first, b'*' | b'-' | b'_') && marks.clone().all(|b| b == first) && marks.count() >= 2
}

/// A fence's character and length, if `rest` opens a fenced code block.
fn fence_open(rest: &str) -> Option<(u8, usize)> {
    let fence = *rest.as_bytes().first()?;
    if fence != b'`' && fence != b'~' {
        return None;
    }
    let len = rest.bytes().take_while(|b| *b == fence).count();
    let info = &rest[len..];
    (len >= 3 && !(fence == b'`' && info.contains('`'))).then_some((fence, len))
}

fn is_fence_close(rest: &str, fence: u8, len: usize) -> bool {
    let run = rest.bytes().take_while(|b| *b == fence).count();
    run >= len && is_blank(&rest[run..])
}

/// The content of an ATX heading (`# Title #`), if `rest` is one.
fn atx_heading(rest: &str) -> Option<&str> {
    let level = rest.bytes().take_while(|b| *b == b'#').count();
    let after = &rest[level..];
    if !(1..=6).contains(&level) || !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    let content = after.trim_matches([' ', '\t']);
    let without_hashes = content.trim_end_matches('#');
    Some(if without_hashes.is_empty() {
        ""
    } else if without_hashes.ends_with([' ', '\t']) {
        without_hashes.trim_end_matches([' ', '\t'])
    } else {
        content
    })
}

/// A list item's marker.
#[derive(Debug, Clone, Copy)]
struct Marker {
    ordered: bool,
    /// The bullet (`-`, `+`, `*`) or the ordered delimiter (`.`, `)`).
    kind: u8,
    start: u32,
    /// Where the item's content starts, counted from the marker.
    content: usize,
    /// Nothing follows the marker on its line.
    empty: bool,
}

impl Marker {
    fn interrupts_paragraph(&self) -> bool {
        !self.empty && (!self.ordered || self.start == 1)
    }

    fn same_list(&self, other: &Marker) -> bool {
        self.ordered == other.ordered && self.kind == other.kind
    }
}

fn list_marker(rest: &str) -> Option<Marker> {
    let bytes = rest.as_bytes();
    let (ordered, kind, start, width) = match bytes.first()? {
        b @ (b'-' | b'+' | b'*') => (false, *b, 0, 1),
        b'0'..=b'9' => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            let kind = *bytes.get(digits)?;
            if digits > 9 || (kind != b'.' && kind != b')') {
                return None;
            }
            (true, kind, rest[..digits].parse().ok()?, digits + 1)
        }
        _ => return None,
    };
    let after = &rest[width..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    let spaces = indent(after);
    let empty = is_blank(after);
    let content = if empty || spaces >= 5 {
        width + 1
    } else {
        width + spaces
    };
    Some(Marker {
        ordered,
        kind,
        start,
        content,
        empty,
    })
}
