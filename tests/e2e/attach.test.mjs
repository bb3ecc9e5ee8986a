// Attachments on the local provider (issue #31): photos and documents
// picked, pasted or dropped, checked before a byte is sent, re-encoded or
// stripped of their location, uploaded with progress and Cancel, and shown
// to the room: a photo as a thumbnail that opens large, anything else as a
// chip to download. The server's own refusals (the client is not trusted)
// are covered by local-chat/tests/files.rs.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifacts, browser, composer, openChat, pieceFile, signIn, startServer } from './harness.mjs';
import { jpeg, withGps } from './photos.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.close(); });

/** The attach button's file input (the piece is not needed to pick). */
const picker = (page) => page.getByLabel('Attach photos or files');

/** The bytes the server serves for the attachment drawn in `row` (fetched by the page, with its token). */
async function served(row) {
  const url = await row.locator('img, a.chip, audio').first().evaluate((el) => el.getAttribute('src') || el.getAttribute('href'));
  return row.page().evaluate(async (u) => {
    const response = await fetch(u);
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      disposition: response.headers.get('content-disposition'),
      nosniff: response.headers.get('x-content-type-options'),
      csp: response.headers.get('content-security-policy'),
      bytes: [...new Uint8Array(await response.arrayBuffer())],
    };
  }, url);
}

const has = (bytes, text) => Buffer.from(bytes).includes(Buffer.from(text, 'latin1'));

/** Two people in `room`, each with the window open (`options` for both browsers). */
async function pair(room, options = {}) {
  const amal = await browser(options);
  const bilal = await browser(options);
  for (const [who, sub] of [[amal, `amal-${room}`], [bilal, `bilal-${room}`]]) {
    await signIn(who.page, server, { sub, contexts: [room], context: room });
    await openChat(who.page);
  }
  return [amal, bilal];
}

describe('attachments (local provider)', () => {
  test('a photo goes re-encoded, without its GPS position, and opens large for the other person', async () => {
    const [amal, bilal] = await pair('photos-1');
    try {
      const original = withGps(await jpeg(amal.page, 3000, 2000));
      assert.ok(has(original, 'GPSLatitude'), 'the test photo carries a position');
      await picker(amal.page).setInputFiles({ name: 'pallet.jpg', mimeType: 'image/jpeg', buffer: original });
      const tray = amal.page.getByRole('region', { name: 'Files to send' });
      await tray.getByText(/^pallet\.jpg · /).waitFor();
      await composer(amal.page).fill('damaged pallet, bay 4');
      await composer(amal.page).press('Enter');
      await tray.waitFor({ state: 'detached' });

      const row = bilal.page.locator('.log .message:not(.pending)').filter({ hasText: 'damaged pallet, bay 4' });
      const thumb = row.getByRole('button', { name: 'Open the photo pallet.jpg' });
      await thumb.waitFor();
      await row.locator('img').evaluate((img) => img.decode());
      const file = await served(row);
      assert.equal(file.status, 200);
      assert.equal(file.type, 'image/jpeg');
      assert.equal(file.nosniff, 'nosniff');
      assert.match(file.csp, /default-src 'none'; sandbox/);
      assert.ok(!has(file.bytes, 'GPS') && !has(file.bytes, 'Exif'), 'a re-encoded photo keeps no metadata');
      assert.ok(file.bytes.length < original.length, `re-encoded: ${file.bytes.length} B, sent ${original.length} B`);
      const size = await row.locator('img').evaluate((img) => [img.naturalWidth, img.naturalHeight]);
      assert.deepEqual(size, [1600, 1067], 'scaled to 1600 px on its longest edge');

      await thumb.click();
      const viewer = bilal.page.getByRole('dialog', { name: 'pallet.jpg' });
      await viewer.locator('img').evaluate((img) => img.decode());
      await bilal.page.screenshot({ path: join(artifacts, 'attach-viewer.png') });
      await bilal.page.keyboard.press('Escape');
      await viewer.waitFor({ state: 'detached' });
      assert.equal(await thumb.evaluate((el) => el.getRootNode().activeElement === el), true, 'focus goes back to the photo');
      // the sender sees it too, once sent
      await amal.page.locator('.log .message:not(.pending)').filter({ hasText: 'damaged pallet, bay 4' })
        .getByRole('button', { name: 'Open the photo pallet.jpg' }).locator('img').evaluate((img) => img.decode());
      await amal.page.screenshot({ path: join(artifacts, 'attach-sent.png') });
      assert.deepEqual([...amal.errors, ...bilal.errors], []);
    } finally {
      await amal.close();
      await bilal.close();
    }
  });

  test('an original keeps its pixels and loses its position; a PDF is a chip to download', async () => {
    const [amal, bilal] = await pair('docs-1');
    try {
      const original = withGps(await jpeg(amal.page, 400, 300));
      const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n', 'latin1');
      await picker(amal.page).setInputFiles([
        { name: 'stamp.jpg', mimeType: 'image/jpeg', buffer: original },
        { name: 'packing list.pdf', mimeType: 'application/pdf', buffer: pdf },
      ]);
      const tray = amal.page.getByRole('region', { name: 'Files to send' });
      await tray.getByText(/^packing list\.pdf · /).waitFor();
      await tray.getByLabel(/^Send photos as they are/).check();
      await amal.page.screenshot({ path: join(artifacts, 'attach-tray.png') });
      await tray.getByRole('button', { name: 'Send files' }).click();
      await tray.waitFor({ state: 'detached' });

      const photo = bilal.page.locator('.log .message:not(.pending)').filter({ has: bilal.page.getByRole('button', { name: 'Open the photo stamp.jpg' }) });
      await photo.waitFor();
      const file = await served(photo);
      assert.ok(!has(file.bytes, 'GPS'), 'the position is gone');
      // the picture itself is the original's, byte for byte from its first table on
      const tables = original.indexOf(Buffer.from([0xff, 0xdb]));
      assert.ok(Buffer.from(file.bytes).includes(original.subarray(tables)), 'not re-encoded');

      const chip = bilal.page.getByRole('link', { name: /^Download packing list\.pdf · PDF · / });
      await chip.waitFor();
      const row = bilal.page.locator('.log .message:not(.pending)').filter({ has: chip });
      const document = await served(row);
      assert.equal(document.type, 'application/pdf');
      assert.match(document.disposition, /^attachment/);
      assert.deepEqual(Buffer.from(document.bytes), pdf);
    } finally {
      await amal.close();
      await bilal.close();
    }
  });

  test('a wrong type, a type mismatch, an empty or oversized file and a hostile name are refused or neutralised before anything is sent', async () => {
    const [amal, bilal] = await pair('refusals-1');
    try {
      await picker(amal.page).setInputFiles([
        { name: 'tool.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ\x90\0', 'latin1') },
        { name: 'logo.svg', mimeType: 'image/svg+xml', buffer: Buffer.from('<svg onload="alert(1)"/>') },
        { name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from('<!doctype html><script>alert(1)</script>') },
        { name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.alloc(0) },
        // over the default 10 MiB
        { name: 'scan.pdf', mimeType: 'application/pdf', buffer: Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(11_000_000 - 9)]) },
      ]);
      const notice = amal.page.locator('.notice');
      await notice.getByText(/photo\.png is not the kind of file its name says/).waitFor();
      const said = await notice.textContent();
      assert.match(said, /tool\.exe cannot be sent: only JPEG, PNG, WebP, GIF, PDF, TXT, CSV, voice message files/);
      assert.match(said, /logo\.svg cannot be sent/);
      assert.match(said, /empty\.txt is empty/);
      assert.match(said, /scan\.pdf is 11\.0 MB: files can be at most 10\.5 MB\./);
      assert.equal(await amal.page.getByRole('region', { name: 'Files to send' }).count(), 0, 'nothing waits to go');

      // a name that would read as another type, with path separators
      const hostile = 'a/../..\\evil\u202Egpj.exe.txt';
      await picker(amal.page).setInputFiles({ name: hostile, mimeType: 'text/plain', buffer: Buffer.from('stock: 40 pallets\n') });
      await amal.page.getByRole('button', { name: 'Send files' }).click();
      const chip = bilal.page.getByRole('link', { name: /^Download / });
      await chip.waitFor();
      const text = await chip.textContent();
      assert.ok(!text.includes('\u202E') && !text.includes('/') && !text.includes('\\'), `shown as ${JSON.stringify(text)}`);
      assert.match(text, /evilgpj\.exe\.txt · TXT · 18 B$/);
      assert.equal(await bilal.page.locator('.log').evaluate((log) => log.querySelectorAll('script, svg').length), 0);
    } finally {
      await amal.close();
      await bilal.close();
    }
  });

  test('a cancelled upload leaves nothing behind and sends nothing', async () => {
    const [amal, bilal] = await pair('cancel-1');
    try {
      // the upload is held on its way (never answered): the window shows it
      // in progress for as long as the test needs, whatever the machine's
      // load (the server's side of a cut-off upload, its bytes dropped, is
      // local-chat/tests/files.rs's)
      let held = 0;
      await amal.page.route('**/v1/local/files?**', () => { held += 1; });
      const files = join(server.dataDir, 'files');
      const kept = () => (existsSync(files) ? readdirSync(files, { recursive: true }).map(String).sort() : []);
      const before = kept();
      const big = Buffer.alloc(300_000, 'pallets, boxes, crates\n');
      await picker(amal.page).setInputFiles({ name: 'manifest.csv', mimeType: 'text/csv', buffer: big });
      await amal.page.getByRole('button', { name: 'Send files' }).click();
      const item = amal.page.getByRole('region', { name: 'Files to send' }).locator('li');
      await item.locator('progress').waitFor();
      assert.equal(held, 1, 'the upload is on its way');
      await amal.page.screenshot({ path: join(artifacts, 'attach-uploading.png') });
      await item.getByRole('button', { name: 'Cancel sending manifest.csv' }).click();
      await amal.page.getByRole('region', { name: 'Files to send' }).waitFor({ state: 'detached' });
      // (the held request stays held: the page closes with it)
      assert.deepEqual(kept(), before, 'no file is left');
      // and the room got no message: a text sent after it is the room's only message
      await composer(amal.page).fill('after the cancel');
      await composer(amal.page).press('Enter');
      const rows = bilal.page.locator('.log .message:not(.pending)');
      await rows.filter({ hasText: 'after the cancel' }).waitFor();
      assert.equal(await rows.count(), 1);
    } finally {
      await amal.close();
      await bilal.close();
    }
  });

  test('a voice message is recorded, heard back, sent, and played by the other person', async () => {
    // Chromium's fake microphone (a beep), its permission granted; playback without a gesture
    const [amal, bilal] = await pair('voice-1', {
      extraArgs: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
    });
    try {
      await amal.page.getByRole('button', { name: 'Record a voice message' }).click();
      const recorder = amal.page.getByRole('timer').filter({ hasText: /^Recording / });
      await recorder.getByText('Recording 0:02').waitFor();
      await amal.page.screenshot({ path: join(artifacts, 'attach-recording.png') });
      await amal.page.getByRole('button', { name: 'Stop and listen' }).click();
      const tray = amal.page.getByRole('region', { name: 'Files to send' });
      const item = tray.locator('li');
      await item.getByText(/^voice 0:0\d\.webm · \d+ (B|KB)$/).waitFor();
      // heard back before it goes
      assert.equal(await item.locator('audio').evaluate((a) => a.src.startsWith('blob:')), true);
      await composer(amal.page).press('Enter');
      await tray.waitFor({ state: 'detached' });

      const player = bilal.page.locator('.log .voice');
      await player.waitFor();
      const audio = player.locator('audio');
      assert.match(await audio.getAttribute('aria-label'), /^voice message · voice 0:0\d\.webm$/);
      const row = bilal.page.locator('.log .message:not(.pending)').filter({ has: bilal.page.locator('.voice') });
      const file = await served(row);
      assert.equal(file.type, 'audio/webm');
      assert.deepEqual(file.bytes.slice(0, 4), [0x1a, 0x45, 0xdf, 0xa3], 'a WebM file');
      const speed = player.getByRole('button', { name: 'Playback speed' });
      await speed.click();
      assert.equal(await speed.textContent(), '×1.5');
      assert.equal(await audio.evaluate((a) => a.playbackRate), 1.5);
      const played = await audio.evaluate((a) => new Promise((resolve, reject) => {
        a.ontimeupdate = () => { if (a.currentTime > 0.3) resolve(a.currentTime); };
        a.onerror = () => reject(new Error(`cannot play: ${a.error?.message}`));
        a.play().catch(reject);
      }));
      assert.ok(played > 0.3);
      assert.deepEqual([...amal.errors, ...bilal.errors], []);
    } finally {
      await amal.close();
      await bilal.close();
    }
  });

  test('a file dropped anywhere on the window joins the tray, and the host page stays', async () => {
    const nour = await browser();
    try {
      await signIn(nour.page, server, { sub: 'nour-drop', contexts: ['drop-1'], context: 'drop-1' });
      await openChat(nour.page);
      const before = nour.page.url();
      // what a drag from the desktop delivers: dragover, then drop, on the message log
      await nour.page.locator('.log').evaluate((log) => {
        const data = new DataTransfer();
        data.items.add(new File(['rice,40\nflour,12\n'], 'stock.csv', { type: 'text/csv' }));
        const over = new DragEvent('dragover', { bubbles: true, cancelable: true, composed: true, dataTransfer: data });
        log.dispatchEvent(over);
        if (!over.defaultPrevented) throw new Error('the window did not take the drag');
        const drop = new DragEvent('drop', { bubbles: true, cancelable: true, composed: true, dataTransfer: data });
        log.dispatchEvent(drop);
        if (!drop.defaultPrevented) throw new Error('the browser would have opened the file');
      });
      const tray = nour.page.getByRole('region', { name: 'Files to send' });
      await tray.getByText(/^stock\.csv · 17 B$/).waitFor();
      assert.equal(await tray.locator('li').count(), 1, 'taken once');
      assert.equal(nour.page.url(), before);
    } finally {
      await nour.close();
    }
  });

  test('a file is served only to the people of its room', async () => {
    const [amal, bilal] = await pair('private-1');
    const eve = await browser();
    try {
      await picker(amal.page).setInputFiles({ name: 'invoice.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%%EOF\n') });
      await amal.page.getByRole('button', { name: 'Send files' }).click();
      const chip = bilal.page.getByRole('link', { name: /^Download invoice\.pdf/ });
      await chip.waitFor();
      const href = new URL(await chip.getAttribute('href'));
      // Eve is in another room, where she sends a file of her own: her token is in its address
      await signIn(eve.page, server, { sub: 'eve-private', contexts: ['elsewhere-1'], context: 'elsewhere-1' });
      await openChat(eve.page);
      await picker(eve.page).setInputFiles({ name: 'mine.txt', mimeType: 'text/plain', buffer: Buffer.from('hello\n') });
      await eve.page.getByRole('button', { name: 'Send files' }).click();
      const own = eve.page.getByRole('link', { name: /^Download mine\.txt/ });
      await own.waitFor();
      const evesToken = new URL(await own.getAttribute('href')).searchParams.get('token');
      const status = (url) => eve.page.evaluate(async (u) => (await fetch(u)).status, url);
      assert.equal(await status(href.href), 200, "the room's own address works");
      href.searchParams.set('token', evesToken);
      assert.equal(await status(href.href), 404, "with Eve's token, Amal's file does not exist");
      href.searchParams.delete('token');
      assert.equal(await status(href.href), 401, 'without a token, nothing');
    } finally {
      await amal.close();
      await bilal.close();
      await eve.close();
    }
  });

  test('the attachment code is a piece: fetched when first needed, not with the core', async () => {
    const nour = await browser();
    try {
      const fetched = [];
      nour.page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
      await signIn(nour.page, server, { sub: 'nour-piece', contexts: ['piece-1'], context: 'piece-1' });
      await nour.page.getByRole('button', { name: /^Chat/ }).click();
      await composer(nour.page).waitFor();
      const file = pieceFile('attach');
      // the window is usable before the piece; the background fetch brings it after
      await nour.page.waitForFunction((f) => performance.getEntriesByType('resource')
        .some((e) => e.name.endsWith(`/widget/${f}`) && e.responseEnd > 0), file);
      const core = fetched.indexOf(fetched.find((p) => /widget_bg\./.test(p)));
      const piece = fetched.indexOf(`/widget/${file}`);
      assert.ok(core >= 0 && piece > core, 'fetched after the core');
    } finally {
      await nour.close();
    }
  });
});
