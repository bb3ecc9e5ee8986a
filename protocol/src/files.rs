//! Attachments: the file types DAChat knows how to check, what a file's
//! first bytes must look like for the type it claims, and file names made
//! safe to show and to save. One definition for the server, which enforces
//! all of it (the client is not trusted), and the widget, which refuses a
//! file before uploading it.

/// The default largest file, in bytes (10 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// Every type DAChat can check by its first bytes, and so may accept. The
/// operator's list is a subset; SVG and HTML are never among them (they
/// can carry script).
pub const KNOWN_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "application/pdf",
    "text/plain",
    "text/csv",
    "audio/webm",
    "audio/ogg",
    "audio/mp4",
];

/// How many first bytes [`head_matches`] looks at (text is checked on this
/// much; the binary types need their first 12).
pub const HEAD_BYTES: usize = 512;

/// Whether files of `content_type` are shown as pictures (the others are
/// offered as downloads).
pub fn is_image(content_type: &str) -> bool {
    matches!(content_type, "image/jpeg" | "image/png" | "image/webp" | "image/gif")
}

/// Whether `head` (the first [`HEAD_BYTES`] of a file, or all of a shorter
/// one) is what a file of `content_type` starts with. Unknown types never
/// match: a "PNG" whose bytes are HTML is refused.
pub fn head_matches(content_type: &str, head: &[u8]) -> bool {
    match content_type {
        "image/jpeg" => head.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => head.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/gif" => head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a"),
        "image/webp" => head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP",
        "application/pdf" => head.starts_with(b"%PDF-"),
        "text/plain" | "text/csv" => is_text(head),
        // voice messages as browsers record them: Matroska/WebM's EBML
        // header, an Ogg page, an ISO BMFF `ftyp` box
        "audio/webm" => head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]),
        "audio/ogg" => head.starts_with(b"OggS"),
        "audio/mp4" => head.len() >= 8 && &head[4..8] == b"ftyp",
        _ => false,
    }
}

/// UTF-8 (a character cut off at the end of the head is allowed) with no
/// control characters but tab, line breaks and form feed.
fn is_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // cut in the middle of a character by the head's end, nothing else
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
        Err(_) => return false,
    };
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
}

/// The file name extensions a saved file of `content_type` may have; the
/// first is added to a name that has none of them, so a PDF named
/// `invoice.pdf.exe` is saved as `invoice.pdf.exe.pdf`.
fn extensions(content_type: &str) -> &'static [&'static str] {
    match content_type {
        "image/jpeg" => &["jpg", "jpeg"],
        "image/png" => &["png"],
        "image/webp" => &["webp"],
        "image/gif" => &["gif"],
        "application/pdf" => &["pdf"],
        "text/csv" => &["csv"],
        "audio/webm" => &["weba", "webm"],
        "audio/ogg" => &["ogg", "opus", "oga"],
        "audio/mp4" => &["m4a", "mp4"],
        _ => &["txt"],
    }
}

/// The longest name kept, in characters (the extension is kept whole).
pub const MAX_NAME_CHARS: usize = 120;

/// Bidirectional formatting characters: an override can make
/// `photo<U+202E>gpj.exe` read as `photoexe.jpg`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `name` without what could make it read as something else when shown:
/// control and bidirectional formatting characters are dropped, path
/// separators become `_` (for a file of a type DAChat does not know, whose
/// extension [`clean_name`] would change).
pub fn safe_text(name: &str) -> String {
    name.chars()
        .filter(|&c| !c.is_control() && !is_bidi_control(c))
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .collect()
}

/// `name` made safe to show as text and to save: path separators become
/// `_`, control and bidirectional formatting characters are dropped,
/// leading dots and surrounding spaces go, it is cut to
/// [`MAX_NAME_CHARS`], and it ends in an extension of `content_type`.
pub fn clean_name(name: &str, content_type: &str) -> String {
    let cleaned = safe_text(name);
    let cleaned = cleaned.trim().trim_start_matches('.').trim_end_matches(['.', ' ']);
    let allowed = extensions(content_type);
    let has_extension = cleaned
        .rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && allowed.iter().any(|a| ext.eq_ignore_ascii_case(a)));
    let (stem, extension) = if has_extension {
        cleaned.rsplit_once('.').unwrap_or((cleaned, allowed[0]))
    } else {
        (cleaned, allowed[0])
    };
    let stem = if stem.is_empty() { "file" } else { stem };
    let keep = MAX_NAME_CHARS.saturating_sub(extension.chars().count() + 1);
    let stem: String = stem.chars().take(keep).collect();
    format!("{}.{extension}", stem.trim_end())
}

/// A size for people: `980 B`, `12 KB`, `3.4 MB` (powers of 1,000, as
/// phones and file managers show them).
pub fn human_size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{} KB", bytes.div_ceil(1_000)),
        _ => {
            let tenths = bytes.div_ceil(100_000);
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_must_match_the_type_claimed() {
        assert!(head_matches("image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!head_matches("image/png", b"<!doctype html><script>alert(1)</script>"));
        assert!(head_matches("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(!head_matches("image/jpeg", b"GIF89a"));
        assert!(head_matches("image/gif", b"GIF89a\x01\0"));
        assert!(head_matches("image/webp", b"RIFF\x10\0\0\0WEBPVP8 "));
        assert!(!head_matches("image/webp", b"RIFF\x10\0\0\0WAVEfmt "));
        assert!(head_matches("application/pdf", b"%PDF-1.7\n"));
        assert!(head_matches("text/csv", "name,qty\r\nrice,10\n".as_bytes()));
        assert!(head_matches("text/plain", "Ελληνικά\tok".as_bytes()));
        // a character cut by the head's end is fine; a NUL or bad UTF-8 is not
        assert!(head_matches("text/plain", &"ü".as_bytes()[..1]));
        assert!(!head_matches("text/plain", b"MZ\x90\0\x03\0"));
        assert!(!head_matches("text/plain", b"\xff\xfe\xfa"));
        assert!(!head_matches(
            "image/svg+xml",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>"
        ));
        assert!(!head_matches("text/html", b"<html>"));
        assert!(!head_matches("image/png", b""));
        assert!(head_matches("audio/webm", &[0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42]));
        assert!(!head_matches("audio/webm", b"<html>"));
        assert!(head_matches("audio/ogg", b"OggS\0\x02"));
        assert!(head_matches("audio/mp4", b"\0\0\0\x1cftypM4A "));
        assert!(!head_matches("audio/mp4", b"\0\0\0\x1cmoov"));
    }

    #[test]
    fn names_are_text_only_and_end_in_their_types_extension() {
        assert_eq!(clean_name("pallet.JPG", "image/jpeg"), "pallet.JPG");
        assert_eq!(clean_name("../../etc/passwd", "text/plain"), "_.._etc_passwd.txt");
        assert_eq!(clean_name("C:\\Users\\a\\list.csv", "text/csv"), "C:_Users_a_list.csv");
        // a right-to-left override would show "photoexe.jpg"
        assert_eq!(clean_name("photo\u{202e}gpj.exe", "image/jpeg"), "photogpj.exe.jpg");
        assert_eq!(
            clean_name("a\u{2067}b\u{200f}c\nd\u{7}.pdf", "application/pdf"),
            "abcd.pdf"
        );
        assert_eq!(clean_name("invoice.pdf.exe", "application/pdf"), "invoice.pdf.exe.pdf");
        assert_eq!(clean_name(".htaccess", "text/plain"), "htaccess.txt");
        assert_eq!(clean_name("  ", "image/png"), "file.png");
        assert_eq!(clean_name(".png", "image/png"), "png.png");
        assert_eq!(clean_name("قائمة الشحن.pdf", "application/pdf"), "قائمة الشحن.pdf");
        let long = clean_name(&format!("{}.pdf", "x".repeat(500)), "application/pdf");
        assert_eq!(long.chars().count(), MAX_NAME_CHARS);
        assert!(long.ends_with("x.pdf"));
    }

    #[test]
    fn sizes_read_as_people_expect() {
        assert_eq!(human_size(980), "980 B");
        assert_eq!(human_size(12_300), "13 KB");
        assert_eq!(human_size(3_400_000), "3.4 MB");
        assert_eq!(human_size(10_485_760), "10.5 MB");
    }
}
