//! A photo made light for a weak link before it is sent: decoded by the
//! browser (upright, by its orientation), scaled to at most [`MAX_EDGE`]
//! pixels on its longest edge and encoded again as JPEG. Nothing but the
//! pixels survives, so its location and every other metadata are gone.
//! When that is not smaller than the original (a small, already light
//! picture) the original goes instead, without its metadata
//! ([`super::strip`]).

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::js::{self, call, number, set};

/// The longest edge of a re-encoded photo, in pixels: enough to read a
/// label or a customs stamp on a phone or a laptop; a 12-megapixel phone
/// photo becomes ~2 megapixels (BENCHMARKS.md has its bytes and time on
/// a 50 kbps link).
pub const MAX_EDGE: u32 = 1600;

/// JPEG quality of a re-encoded photo.
const QUALITY: f64 = 0.8;

/// A prepared file: its bytes (a `Blob`), type and name as they will be
/// sent.
pub struct Prepared {
    pub blob: JsValue,
    pub content_type: String,
    pub name: String,
}

/// Whether files of `content_type` are re-encoded unless the user asks
/// for the original (a GIF may move: it goes as it is).
pub fn reencoded(content_type: &str) -> bool {
    matches!(content_type, "image/jpeg" | "image/png" | "image/webp")
}

/// The size of a picture `width` × `height` scaled to fit [`MAX_EDGE`].
pub fn fitted(width: u32, height: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= MAX_EDGE {
        return (width, height);
    }
    let scale = |side: u32| {
        ((u64::from(side) * u64::from(MAX_EDGE) + u64::from(longest) / 2) / u64::from(longest)).max(1) as u32
    };
    (scale(width), scale(height))
}

/// `name` with the extension of a JPEG.
fn jpeg_name(name: &str) -> String {
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    format!("{stem}.jpg")
}

/// The file's bytes without their metadata, as a blob of `content_type`.
async fn stripped(file: &JsValue, content_type: &str) -> Option<JsValue> {
    let bytes = js::bytes(file, None).await?;
    js::blob(&super::strip::strip(content_type, &bytes)?, content_type)
}

/// The photo re-encoded ([`MAX_EDGE`], JPEG), and whether it was scaled.
async fn reencode(file: &JsValue) -> Option<(JsValue, bool)> {
    let window = JsValue::from(web_sys::window()?);
    let bitmap = js::wait(&window, "createImageBitmap", &[file]).await.ok()?;
    let (width, height) = (number(&bitmap, "width") as u32, number(&bitmap, "height") as u32);
    let (w, h) = fitted(width, height);
    let canvas = JsValue::from(web_sys::window()?.document()?.create_element("canvas").ok()?);
    set(&canvas, "width", &w.into());
    set(&canvas, "height", &h.into());
    let context = call(&canvas, "getContext", &[&"2d".into()]).ok()?;
    // a transparent PNG on white, not on black
    set(&context, "fillStyle", &"#fff".into());
    let (zero, w, h) = (JsValue::from(0), JsValue::from(w), JsValue::from(h));
    call(&context, "fillRect", &[&zero, &zero, &w, &h]).ok()?;
    call(&context, "drawImage", &[&bitmap, &zero, &zero, &w, &h]).ok()?;
    let _ = call(&bitmap, "close", &[]);
    let encoded = js_sys::Promise::new(&mut |resolve, _| {
        let _ = call(&canvas, "toBlob", &[&resolve, &"image/jpeg".into(), &QUALITY.into()]);
    });
    let blob = JsFuture::from(encoded).await.ok().filter(JsValue::is_object)?;
    Some((blob, (w, h) != (JsValue::from(width), JsValue::from(height))))
}

/// `file` as it will be sent: a photo re-encoded (unless `original`), an
/// original photo without its metadata, anything else as it is. `None`
/// when a photo's bytes are not a well-formed file of its type.
pub async fn prepare(file: &JsValue, content_type: &str, name: &str, original: bool) -> Option<Prepared> {
    let as_is = || Prepared {
        blob: file.clone(),
        content_type: content_type.to_owned(),
        name: name.to_owned(),
    };
    if !reencoded(content_type) {
        return Some(as_is());
    }
    let clean = stripped(file, content_type).await?;
    if !original
        && let Some((blob, scaled)) = reencode(file).await
        && (scaled || number(&blob, "size") < number(&clean, "size"))
    {
        return Some(Prepared {
            blob,
            content_type: "image/jpeg".into(),
            name: jpeg_name(name),
        });
    }
    Some(Prepared { blob: clean, ..as_is() })
}

/// How many bytes a prepared file is.
pub fn size(prepared: &Prepared) -> u64 {
    number(&prepared.blob, "size") as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_scaled_to_fit_and_small_ones_kept() {
        assert_eq!(fitted(4000, 3000), (1600, 1200));
        assert_eq!(fitted(3000, 4000), (1200, 1600));
        assert_eq!(fitted(1600, 900), (1600, 900));
        assert_eq!(fitted(640, 480), (640, 480));
        assert_eq!(fitted(20_000, 10), (1600, 1), "never a side of 0");
        assert_eq!(jpeg_name("pallet.png"), "pallet.jpg");
        assert_eq!(jpeg_name("IMG_2041"), "IMG_2041.jpg");
        assert!(reencoded("image/png") && !reencoded("image/gif") && !reencoded("application/pdf"));
    }
}
