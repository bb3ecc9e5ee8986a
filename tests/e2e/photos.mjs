// Test photos made in the browser (tests/e2e/attach.test.mjs, and the
// photo benchmark tests/perf/photo.mjs): a JPEG with texture, and the same
// with the Exif position block a phone writes.

/** A JPEG made by the browser (`width` × `height`, a gradient), as bytes. */
export async function jpeg(page, width, height, { quality = 0.95, shapes = 4000 } = {}) {
  const bytes = await page.evaluate(async ([w, h, q, n]) => {
    const canvas = new OffscreenCanvas(w, h);
    const context = canvas.getContext('2d');
    const gradient = context.createLinearGradient(0, 0, w, h);
    gradient.addColorStop(0, '#c33');
    gradient.addColorStop(1, '#33c');
    context.fillStyle = gradient;
    context.fillRect(0, 0, w, h);
    // texture (boxes, labels, a floor), so that the encoder has something to keep
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < n; i += 1) {
      context.fillStyle = `hsl(${random() * 60 + 10} ${random() * 40 + 20}% ${random() * 50 + 25}% / 0.5)`;
      context.fillRect(random() * w, random() * h, random() * 30 + 2, random() * 30 + 2);
    }
    const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: q });
    return [...new Uint8Array(await blob.arrayBuffer())];
  }, [width, height, quality, shapes]);
  return Buffer.from(bytes);
}

/**
 * An Exif segment (APP1, big-endian) with an orientation and a GPS IFD
 * holding a latitude: what a phone writes into a photo.
 */
function exifWithGps() {
  const tiff = Buffer.from([
    0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08,
    0x00, 0x02,
    // Orientation = 1
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
    // GPSInfo → offset 38
    0x88, 0x25, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x26,
    0x00, 0x00, 0x00, 0x00,
    // GPS IFD: GPSLatitudeRef "N"
    0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x4e, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
  ]);
  const data = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff, Buffer.from('GPSLatitude 51.5074', 'latin1')]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(data.length + 2);
  return Buffer.concat([Buffer.from([0xff, 0xe1]), length, data]);
}

/** `photo` with the Exif segment right after its SOI marker. */
export const withGps = (photo) => Buffer.concat([photo.subarray(0, 2), exifWithGps(), photo.subarray(2)]);
