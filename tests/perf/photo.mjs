// A 3 MB phone photo sent on a weak link (issue #31), in headless Chromium
// (a benchmark, not a test: it reports numbers and asserts nothing): the
// sender's link is 50 kbps both ways with 800 ms round trips (DevTools
// emulation, from after the window opened); the time runs from picking the
// photo to its message being acknowledged (the log shows it sent, with its
// thumbnail), and the bytes are what the server stored. Re-encoded (the
// default: 1600 px, JPEG 0.8) RUNS times, and sent as it is once (it takes
// minutes). The photo is made by the browser: 4000 × 3000 px with texture,
// ~3 MB at JPEG 0.9, with a phone's Exif position block; a real photo has
// smoother areas and re-encodes smaller. Run by `cargo xtask bench-widget`;
// prints `WIDGET …` lines.
import { browser, composer, openChat, signIn, startServer } from '../e2e/harness.mjs';
import { jpeg, withGps } from '../e2e/photos.mjs';

const runs = Number(process.env.RUNS || 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function send(server, photo, original, i) {
  const user = await browser();
  try {
    // a room each: the log shows only this run's photo
    const room = `photos-${original ? 'o' : 'r'}${i}`;
    await signIn(user.page, server, { sub: `photographer-${room}`, contexts: [room], context: room });
    await openChat(user.page);
    const cdp = await user.context.newCDPSession(user.page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 800, downloadThroughput: 50_000 / 8, uploadThroughput: 50_000 / 8,
    });
    const t0 = Date.now();
    await user.page.getByLabel('Attach photos or files').setInputFiles({ name: 'IMG_2041.jpg', mimeType: 'image/jpeg', buffer: photo });
    const tray = user.page.getByRole('region', { name: 'Files to send' });
    // in the tray (checked, its preview drawn) before Enter can send it
    await tray.getByText(/^IMG_2041\.jpg · /).waitFor();
    if (original) await tray.getByLabel(/^Send photos as they are/).check();
    await composer(user.page).press('Enter');
    const sent = user.page.locator('.log .message:not(.pending) .thumb img');
    await sent.waitFor({ timeout: 900_000 });
    const seconds = (Date.now() - t0) / 1000;
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const bytes = await sent.evaluate(async (img) => (await (await fetch(img.src)).arrayBuffer()).byteLength);
    return { seconds, bytes };
  } finally {
    await user.close();
  }
}

const server = await startServer();
const maker = await browser();
const photo = withGps(await jpeg(maker.page, 4000, 3000, { quality: 0.9, shapes: 40_000 }));
await maker.close();
const reencoded = [];
for (let i = 0; i < runs; i++) reencoded.push(await send(server, photo, false, i));
console.log(
  `WIDGET photo_3mb_weak_reencoded_s median=${median(reencoded.map((r) => r.seconds)).toFixed(1)} all=${reencoded.map((r) => r.seconds.toFixed(1)).join(',')} bytes_sent=${reencoded[0].bytes} photo_bytes=${photo.length}`,
);
const original = await send(server, photo, true, 0);
console.log(`WIDGET photo_3mb_weak_original_s once=${original.seconds.toFixed(1)} bytes_sent=${original.bytes} photo_bytes=${photo.length}`);
await server.close();
