//! The outer shape of untrusted JSON, checked before serde reads it: one
//! object at the top, nested at most [`MAX_DEPTH`] deep.
//!
//! Why it exists: serde reads a struct from a JSON array as readily as from
//! an object (so `["<jwt>", "general"]` would pass for a session request),
//! and serde_json skips unknown fields without any depth limit (so a claim
//! the service ignores may nest thousands deep). The API contract is an
//! object, and every request body, WebSocket frame, JWT header and JWT
//! claims set is held to it here. One pass over the bytes, no allocation;
//! it does not validate the JSON (serde does that next), it only finds the
//! first value's kind and the deepest bracket, skipping strings.

/// The deepest nesting accepted: the outer object is depth 1, an array in
/// it depth 2. The API's own bodies need 2; host claims often carry a
/// namespaced object or two; 16 leaves room for that and nothing absurd.
pub const MAX_DEPTH: usize = 16;

/// Why a JSON text was refused before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeError {
    /// The first value is not an object (an array, a string, nothing, …).
    NotAnObject,
    /// Brackets nest deeper than the limit.
    TooDeep,
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAnObject => f.write_str("must be a JSON object"),
            Self::TooDeep => write!(f, "nests deeper than {MAX_DEPTH} levels"),
        }
    }
}

impl std::error::Error for ShapeError {}

/// Checks that `json` starts with an object (after JSON whitespace) and
/// that no bracket outside a string nests deeper than [`MAX_DEPTH`].
pub fn check_object(json: &[u8]) -> Result<(), ShapeError> {
    check_object_within(json, MAX_DEPTH)
}

/// [`check_object`] with another depth limit.
pub fn check_object_within(json: &[u8], max_depth: usize) -> Result<(), ShapeError> {
    let start = json
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .ok_or(ShapeError::NotAnObject)?;
    if json[start] != b'{' {
        return Err(ShapeError::NotAnObject);
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in &json[start..] {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(ShapeError::TooDeep);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{{\"a\":{}1{}}}", "[".repeat(levels - 1), "]".repeat(levels - 1))
    }

    #[test]
    fn objects_pass_and_other_values_do_not() {
        for ok in [r#"{}"#, " \r\n\t{\"a\":1}", r#"{"a":[1,{"b":"}"}]}"#] {
            assert_eq!(check_object(ok.as_bytes()), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "   ",
            "[]",
            r#"["jwt","general"]"#,
            "\"{}\"",
            "1",
            "null",
            "\u{feff}{}",
        ] {
            assert_eq!(check_object(bad.as_bytes()), Err(ShapeError::NotAnObject), "{bad:?}");
        }
    }

    #[test]
    fn depth_is_counted_outside_strings_only() {
        assert_eq!(check_object(nested(MAX_DEPTH).as_bytes()), Ok(()));
        assert_eq!(check_object(nested(MAX_DEPTH + 1).as_bytes()), Err(ShapeError::TooDeep));
        assert_eq!(check_object(nested(5_000).as_bytes()), Err(ShapeError::TooDeep));
        let brackets_in_a_string = format!("{{\"a\":\"{}\"}}", "[{".repeat(1_000));
        assert_eq!(check_object(brackets_in_a_string.as_bytes()), Ok(()));
        let escaped_quote = format!("{{\"a\":\"\\\"{}\"}}", "[".repeat(100));
        assert_eq!(check_object(escaped_quote.as_bytes()), Ok(()));
        let escaped_backslash_then_quote = format!("{{\"a\":\"\\\\\",\"b\":{}1{}}}", "[".repeat(20), "]".repeat(20));
        assert_eq!(
            check_object(escaped_backslash_then_quote.as_bytes()),
            Err(ShapeError::TooDeep)
        );
    }

    #[test]
    fn siblings_do_not_add_up() {
        let wide = format!(
            "{{{}}}",
            (0..1_000)
                .map(|i| format!("\"k{i}\":[[1]]"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(check_object(wide.as_bytes()), Ok(()));
    }
}
