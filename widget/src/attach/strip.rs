//! A photo's metadata removed from its bytes, without re-encoding it: what
//! "send as it is" still does, since in this field a photo's GPS position
//! can say where people are.
//!
//! - JPEG: every APPn segment but JFIF (APP0), the colour profile
//!   (APP2 `ICC_PROFILE`) and Adobe's colour transform (APP14), and every
//!   comment, are dropped: that is Exif (GPS, camera, owner), XMP, IPTC
//!   and the rest. Only the orientation survives, in a new Exif segment
//!   of one entry, so that a phone photo is not shown on its side.
//! - PNG: the `eXIf`, `tEXt`, `zTXt`, `iTXt` (XMP) and `tIME` chunks.
//! - WebP: the `EXIF` and `XMP ` chunks, and their flags in `VP8X`.
//! - GIF carries no position; it is sent as it is.
//!
//! Pure Rust over bytes, tested natively; the piece calls it on a file's
//! bytes before uploading an original.

/// `bytes` (a file of `content_type`) without its metadata; `None` when
/// they are not a well-formed file of that type (the window then refuses
/// to send it as it is).
pub fn strip(content_type: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    match content_type {
        "image/jpeg" => jpeg(bytes),
        "image/png" => png(bytes),
        "image/webp" => webp(bytes),
        _ => Some(bytes.to_vec()),
    }
}

fn u16_at(bytes: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let b: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

fn u32_at(bytes: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// The Exif orientation (1–8) in an APP1 segment's data, if it has one.
fn exif_orientation(data: &[u8]) -> Option<u16> {
    let tiff = data.strip_prefix(b"Exif\0\0")?;
    let big_endian = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let ifd = u32_at(tiff, 4, big_endian)? as usize;
    let count = u16_at(tiff, ifd, big_endian)? as usize;
    (0..count).find_map(|i| {
        let entry = ifd + 2 + i * 12;
        (u16_at(tiff, entry, big_endian)? == 0x0112)
            .then(|| u16_at(tiff, entry + 8, big_endian))
            .flatten()
            .filter(|o| (1..=8).contains(o))
    })
}

/// An APP1 Exif segment holding only `orientation`.
fn orientation_segment(orientation: u16) -> Vec<u8> {
    let mut s = vec![0xFF, 0xE1, 0, 34];
    s.extend_from_slice(b"Exif\0\0MM\0\x2a\0\0\0\x08");
    // one entry: Orientation, SHORT, count 1, the value; then no next IFD
    s.extend_from_slice(&[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    s.extend_from_slice(&orientation.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    s
}

fn jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = vec![0xFF, 0xD8];
    let mut orientation = None;
    // where the orientation segment goes: after a leading JFIF segment
    let mut insert_at = out.len();
    let mut at = 2;
    loop {
        // markers may be padded with 0xFF fill bytes
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        if marker == 0xD9 {
            out.extend_from_slice(&[0xFF, 0xD9]);
            break;
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            out.extend_from_slice(&bytes[at..at + 2]);
            at += 2;
            continue;
        }
        let length = u16_at(bytes, at + 2, true)? as usize;
        if length < 2 {
            return None;
        }
        let end = at + 2 + length;
        let data = bytes.get(at + 4..end)?;
        if marker == 0xDA {
            // start of scan: the compressed picture to the end, as it is
            out.extend_from_slice(&bytes[at..]);
            break;
        }
        let keep = match marker {
            0xE0 => {
                if out.len() == 2 {
                    insert_at = 2 + 2 + length;
                }
                true
            }
            0xE1 => {
                orientation = orientation.or_else(|| exif_orientation(data));
                false
            }
            0xE2 => data.starts_with(b"ICC_PROFILE\0"),
            0xEE => data.starts_with(b"Adobe"),
            0xE3..=0xEF | 0xFE => false,
            _ => true,
        };
        if keep {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
    }
    if let Some(orientation) = orientation.filter(|o| *o != 1) {
        out.splice(insert_at..insert_at, orientation_segment(orientation));
    }
    Some(out)
}

fn png(bytes: &[u8]) -> Option<Vec<u8>> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) {
        return None;
    }
    let mut out = SIGNATURE.to_vec();
    let mut at = SIGNATURE.len();
    while at < bytes.len() {
        let length = u32_at(bytes, at, true)? as usize;
        let end = at.checked_add(12)?.checked_add(length)?;
        let chunk = bytes.get(at..end)?;
        let kind = &chunk[4..8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(chunk);
        }
        at = end;
        if kind == b"IEND" {
            break;
        }
    }
    Some(out)
}

fn webp(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < 12 || !bytes.starts_with(b"RIFF") || &bytes[8..12] != b"WEBP" {
        return None;
    }
    let mut out = bytes[..12].to_vec();
    let mut at = 12;
    while at < bytes.len() {
        let size = u32_at(bytes, at + 4, false)? as usize;
        let end = at.checked_add(8)?.checked_add(size)?.checked_add(size % 2)?;
        let chunk = bytes.get(at..end.min(bytes.len()))?;
        match &chunk[..4] {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut chunk = chunk.to_vec();
                // the flags: no Exif (0x08), no XMP (0x04) any more
                *chunk.get_mut(8)? &= !0x0C;
                out.extend_from_slice(&chunk);
            }
            _ => out.extend_from_slice(chunk),
        }
        at = end;
    }
    let riff_size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment: marker, length, data.
    fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(data.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(data);
        s
    }

    /// Little-endian Exif with an orientation and a GPS IFD holding a latitude.
    fn exif_with_gps(orientation: u16) -> Vec<u8> {
        let mut tiff = b"II\x2a\0\x08\0\0\0".to_vec();
        tiff.extend_from_slice(&2u16.to_le_bytes());
        // Orientation
        tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0]);
        tiff.extend_from_slice(&orientation.to_le_bytes());
        tiff.extend_from_slice(&[0, 0]);
        // GPSInfo IFD pointer, to offset 38
        tiff.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        // the GPS IFD: GPSLatitudeRef "N"
        tiff.extend_from_slice(&[1, 0, 1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0, 0, 0, 0, 0]);
        [b"Exif\0\0".as_slice(), &tiff].concat()
    }

    fn photo(orientation: u16) -> Vec<u8> {
        [
            vec![0xFF, 0xD8],
            segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"),
            segment(0xE1, &exif_with_gps(orientation)),
            segment(
                0xE1,
                b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPSLatitude</x:xmpmeta>",
            ),
            segment(0xE2, b"ICC_PROFILE\0\x01\x01profile"),
            segment(0xED, b"Photoshop 3.0\0IPTC city"),
            segment(0xFE, b"taken at the warehouse"),
            segment(0xDB, &[0; 65]),
            segment(0xDA, &[1, 1, 0, 0, 63, 0]),
            vec![0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9],
        ]
        .concat()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_jpeg_loses_its_position_and_keeps_its_picture_and_orientation() {
        let original = photo(6);
        let stripped = strip("image/jpeg", &original).unwrap();
        for gone in [&b"GPS"[..], b"IPTC", b"warehouse", b"xap", &[0x25, 0x88], b"II\x2a\0"] {
            assert!(
                !contains(&stripped, gone),
                "{:?} is still there",
                String::from_utf8_lossy(gone)
            );
        }
        // the picture itself (tables, scan and its data) is untouched, byte for byte
        let scan = original.iter().position(|&b| b == 0xDB).unwrap() - 1;
        assert!(stripped.ends_with(&original[scan..]));
        assert!(contains(&stripped, b"ICC_PROFILE") && contains(&stripped, b"JFIF"));
        // the orientation survives, in a segment of its own right after JFIF
        let exif_at = 2 + 2 + 16;
        assert_eq!(&stripped[exif_at..exif_at + 2], &[0xFF, 0xE1]);
        assert_eq!(exif_orientation(&stripped[exif_at + 4..exif_at + 36]), Some(6));
        // and stripping again changes nothing
        assert_eq!(strip("image/jpeg", &stripped).unwrap(), stripped);
    }

    #[test]
    fn an_upright_jpeg_keeps_no_exif_at_all() {
        let stripped = strip("image/jpeg", &photo(1)).unwrap();
        assert!(!contains(&stripped, b"Exif"));
    }

    #[test]
    fn what_is_not_a_well_formed_file_is_refused() {
        assert_eq!(strip("image/jpeg", b"<html>"), None);
        assert_eq!(strip("image/jpeg", &photo(6)[..30]), None, "cut short inside a segment");
        assert_eq!(strip("image/png", b"GIF89a"), None);
        assert_eq!(strip("image/webp", b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(strip("application/pdf", b"%PDF-1.7").as_deref(), Some(&b"%PDF-1.7"[..]));
    }

    fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[1, 2, 3, 4]);
        c
    }

    #[test]
    fn a_png_loses_its_text_and_exif_chunks() {
        let png_bytes = [
            b"\x89PNG\r\n\x1a\n".to_vec(),
            chunk(b"IHDR", &[0; 13]),
            chunk(b"eXIf", b"MM\0\x2aGPS"),
            chunk(b"iTXt", b"XML:com.adobe.xmp\0GPSLatitude"),
            chunk(b"tEXt", b"Comment\0warehouse 4"),
            chunk(b"IDAT", b"pixels"),
            chunk(b"IEND", b""),
        ]
        .concat();
        let stripped = strip("image/png", &png_bytes).unwrap();
        assert!(!contains(&stripped, b"GPS") && !contains(&stripped, b"warehouse"));
        assert!(
            contains(&stripped, b"IHDR") && contains(&stripped, b"pixels") && stripped.ends_with(&chunk(b"IEND", b""))
        );
    }

    #[test]
    fn a_webp_loses_its_exif_and_xmp_chunks_and_flags() {
        let body = [
            b"WEBP".to_vec(),
            [
                b"VP8X".as_slice(),
                &10u32.to_le_bytes(),
                &[0x0C, 0, 0, 0, 1, 0, 0, 1, 0, 0],
            ]
            .concat(),
            [b"VP8L".as_slice(), &5u32.to_le_bytes(), b"pixel", &[0]].concat(),
            [b"EXIF".as_slice(), &3u32.to_le_bytes(), b"GPS", &[0]].concat(),
            [b"XMP ".as_slice(), &4u32.to_le_bytes(), b"GPS!"].concat(),
        ]
        .concat();
        let file = [
            b"RIFF".as_slice(),
            &u32::try_from(body.len()).unwrap().to_le_bytes(),
            &body,
        ]
        .concat();
        let stripped = strip("image/webp", &file).unwrap();
        assert!(!contains(&stripped, b"GPS") && contains(&stripped, b"pixel"));
        assert_eq!(stripped[20] & 0x0C, 0, "the VP8X flags say no Exif, no XMP");
        assert_eq!(u32_at(&stripped, 4, false).unwrap() as usize, stripped.len() - 8);
    }
}
