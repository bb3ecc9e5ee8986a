//! The CSS minifier `build.rs` runs on `src/widget.css`, in a file of its
//! own so that the widget's unit tests include it too (`src/lib.rs`) and
//! run the tests below.

/// `css` without comments, with whitespace collapsed, and removed where CSS
/// ignores it: around `{ } ; , >` and after `:`, not before `:` (`.a :hover`
/// is not `.a:hover`); the `;` before a `}` dropped; quoted strings kept as
/// written.
pub fn minify(css: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::minify;

    #[test]
    fn whitespace_goes_where_css_ignores_it() {
        let css = "/* a comment */\n.chat .body  code ,\n.chat > p {\n  color :  red;\n  font: 14px/1.4 \"Segoe  UI\", serif;\n}\n";
        assert_eq!(
            minify(css),
            ".chat .body code,.chat>p{color :red;font:14px/1.4 \"Segoe  UI\",serif}"
        );
    }

    #[test]
    fn meaningful_spaces_stay() {
        // a descendant pseudo-class, a media query, calc's operators
        assert_eq!(minify(".a :hover { x: y }"), ".a :hover{x:y}");
        assert_eq!(
            minify("@media (max-width: 480px) { .a { h: calc(100vh - 96px); } }"),
            "@media (max-width:480px){.a{h:calc(100vh - 96px)}}"
        );
        assert_eq!(minify("a { content: 'x ; }' }"), "a{content:'x ; }'}");
    }

    #[test]
    fn the_widget_css_keeps_its_rules() {
        let css = include_str!("src/widget.css");
        let min = minify(css);
        assert!(min.len() < css.len() * 85 / 100, "{} of {} bytes", min.len(), css.len());
        assert!(!min.contains("/*") && !min.contains('\n'));
        let count = |s: &str, c: char| s.chars().filter(|&x| x == c).count();
        for c in ['{', '}', ':', ';', '"'] {
            let outside_comments = count(css, c) - count_in_comments(css, c);
            let dropped = if c == ';' { count(&min, '}') } else { 0 };
            assert!(
                count(&min, c) + dropped >= outside_comments && count(&min, c) <= outside_comments,
                "{c:?}: {} in the minified CSS, {outside_comments} in the source",
                count(&min, c)
            );
        }
    }

    fn count_in_comments(css: &str, c: char) -> usize {
        css.split("/*")
            .skip(1)
            .map(|rest| {
                rest.split("*/")
                    .next()
                    .unwrap_or("")
                    .chars()
                    .filter(|&x| x == c)
                    .count()
            })
            .sum()
    }
}
