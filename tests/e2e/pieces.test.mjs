// The window in pieces (issue #34): a first open fetches only the core;
// each piece arrives on first use (or in the background); a piece that
// cannot be fetched is tried again and the window says what is missing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browser, composer, messages, openActions, openChat, pieceFile, send, signIn, startServer, widgetFile } from './harness.mjs';

const manifest = JSON.parse(readFileSync(join(process.env.DACHAT_WIDGET_DIR, 'manifest.json'), 'utf8'));
const allPieceFiles = new Set(Object.values(manifest.pieces).flat());

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.close(); });

/** Every widget file the page requests, in order, with its answer's status. */
function recordWidgetRequests(page) {
  const requested = [];
  page.on('requestfinished', async (request) => {
    const url = request.url();
    if (!url.includes('/widget/')) return;
    // (a background piece may finish as the test closes the page: its answer is then not ours to read)
    const response = await request.response().catch(() => null);
    requested.push({ file: url.split('/widget/')[1], status: response?.status() });
  });
  page.on('requestfailed', (request) => {
    if (request.url().includes('/widget/')) requested.push({ file: request.url().split('/widget/')[1], status: 0 });
  });
  return requested;
}

/** Answers requests for `file` from the widget folder with a 500 while `failing()` says so. */
async function failWhile(page, file, failing) {
  let refused = 0;
  await page.route(`**/widget/${file}`, async (route) => {
    if (failing()) {
      refused += 1;
      await route.fulfill({ status: 500, body: 'down' });
    } else {
      await route.continue();
    }
  });
  return () => refused;
}

describe('the window in pieces', () => {
  test('a first open on a connection that saves data fetches only the core, then each piece on first use', async () => {
    const una = await browser();
    try {
      // Save-Data: nothing is fetched before it is needed
      await una.page.addInitScript(() => {
        Object.defineProperty(navigator, 'connection', { value: { saveData: true, effectiveType: '4g' } });
      });
      const requested = recordWidgetRequests(una.page);
      await signIn(una.page, server, { sub: 'una', contexts: ['general', 'pieces-1'], context: 'pieces-1' });
      await openChat(una.page);
      const first = requested.map((r) => r.file);
      assert.deepEqual(new Set(first), new Set(['dachat.js', ...manifest.core]), `a first open fetched: ${first.join(', ')}`);
      assert.equal(first.length, manifest.core.length + 1, 'each file once');
      await send(una.page, 'plain words first');
      // the message arrived as markdown: the piece comes with it
      await una.page.locator('.log .message .body p', { hasText: 'plain words first' }).waitFor();
      assert.ok(requested.some((r) => r.file === pieceFile('markdown')), 'markdown fetched for the first message');
      for (const piece of ['notify', 'commands', 'twilio', 'actions']) {
        assert.ok(!requested.some((r) => r.file === pieceFile(piece)), `${piece} not fetched yet`);
      }
      // a message's actions: the menu opens once its piece is here
      await openActions(una.page, 'plain words first');
      assert.ok(requested.some((r) => r.file === pieceFile('actions')));
      await una.page.keyboard.press('Escape');
      // the notification panel: on the first click
      await una.page.getByRole('button', { name: 'E-mail me about messages I miss' }).click();
      await una.page.getByRole('region', { name: 'E-mail notifications' }).waitFor();
      assert.ok(requested.some((r) => r.file === pieceFile('notify')));
      // the slash commands: fetched as soon as a line starts with `/`
      await composer(una.page).fill('/help');
      await una.page.waitForFunction((file) => performance.getEntriesByType('resource')
        .some((e) => e.name.endsWith(`/widget/${file}`) && e.responseEnd > 0), pieceFile('commands'));
      await composer(una.page).press('Enter');
      await una.page.locator('.notice', { hasText: 'Commands: /join' }).waitFor();
      // neither the Twilio piece nor the shim it comes with (the chunks it
      // shares with the pieces used here are theirs too)
      const twilioOnly = manifest.pieces.twilio.filter((file) => !Object.entries(manifest.pieces)
        .some(([piece, files]) => piece !== 'twilio' && files.includes(file)));
      assert.ok(twilioOnly.includes(pieceFile('twilio')) && twilioOnly.some((f) => f.startsWith('twilio.')));
      for (const file of twilioOnly) {
        assert.ok(!requested.some((r) => r.file === file), `a local session never fetches ${file}`);
      }
      assert.deepEqual(una.errors, []);
    } finally {
      await una.close();
    }
  });

  test('without Save-Data the pieces come in the background once the window is usable', async () => {
    const vic = await browser();
    try {
      const requested = recordWidgetRequests(vic.page);
      await signIn(vic.page, server, { sub: 'vic', contexts: ['general'], context: 'general' });
      await openChat(vic.page);
      await vic.page.waitForFunction(
        (files) => files.every((f) => performance.getEntriesByType('resource').some((e) => e.name.endsWith(`/widget/${f}`))),
        [pieceFile('markdown'), pieceFile('commands'), pieceFile('actions'), pieceFile('notify')],
      );
      assert.ok(!requested.some((r) => r.file === pieceFile('twilio')));
      for (const r of requested) assert.ok(!allPieceFiles.has(r.file) || r.status === 200, JSON.stringify(r));
    } finally {
      await vic.close();
    }
  });

  test('markdown that fails to load once: plain text and a word about it, then formatting without losing anything', async () => {
    const wes = await browser();
    try {
      let down = true;
      const refused = await failWhile(wes.page, pieceFile('markdown'), () => down);
      await signIn(wes.page, server, { sub: 'wes', contexts: ['general', 'pieces-2'], context: 'pieces-2' });
      await openChat(wes.page);
      await send(wes.page, 'see **this** now');
      const body = wes.page.locator('.log .message:not(.pending) .body', { hasText: 'see' });
      await body.waitFor();
      await wes.page.getByText('Formatting will appear when the connection allows.').waitFor();
      assert.equal(await body.textContent(), 'see **this** now', 'the text as it was typed, meanwhile');
      assert.ok(refused() >= 1);
      down = false;
      // tried again (backoff, or sooner when the browser is back online): formatted, the note gone
      await body.locator('strong', { hasText: 'this' }).waitFor({ timeout: 30_000 });
      await wes.page.getByText('Formatting will appear when the connection allows.').waitFor({ state: 'detached' });
      assert.deepEqual(await messages(wes.page), ['wes: see this now']);
      assert.deepEqual(wes.errors, []);
    } finally {
      await wes.close();
    }
  });

  test('offline once the core runs: the window works, says what is missing, and catches up', async () => {
    const xia = await browser();
    try {
      await xia.page.addInitScript(() => {
        Object.defineProperty(navigator, 'connection', { value: { saveData: true, effectiveType: '4g' } });
      });
      await signIn(xia.page, server, { sub: 'xia', contexts: ['general', 'pieces-3'], context: 'pieces-3' });
      await openChat(xia.page);
      await xia.context.setOffline(true);
      // the commands piece cannot come: the line stays in the box, and the window says why
      await send(xia.page, '/nick Xia');
      await xia.page.getByText('Commands will work when the connection allows.').first().waitFor();
      assert.equal(await composer(xia.page).inputValue(), '/nick Xia');
      // a message still goes to the outbox
      await send(xia.page, 'written offline');
      await xia.page.locator('.log .message.pending', { hasText: 'written offline' }).waitFor();
      await xia.context.setOffline(false);
      await xia.page.locator('.log .message:not(.pending) .body', { hasText: 'written offline' }).waitFor();
      await xia.page.getByText('Commands will work when the connection allows.').first().waitFor({ state: 'detached' });
      await composer(xia.page).press('Enter');
      await xia.page.locator('.log .message:not(.pending) .author', { hasText: 'Xia' }).first().waitFor();
      assert.deepEqual(xia.errors, []);
    } finally {
      await xia.close();
    }
  });
});

describe('the network path of a first open', () => {
  test('at the click the core and /v1/session start together, and the window uses the loader\'s answer', async () => {
    const yan = await browser();
    try {
      const sessions = [];
      yan.page.on('request', (r) => { if (r.url().endsWith('/v1/session')) sessions.push(r.url()); });
      // the core's WASM is held back until /v1/session has been asked: a
      // loader that waited for the window's files before asking never opens
      let asked;
      const sessionAsked = new Promise((resolve) => { asked = resolve; });
      yan.page.on('request', (r) => { if (r.url().endsWith('/v1/session')) asked(); });
      await yan.page.route(`**/widget/${widgetFile('widget_bg.wasm')}`, async (route) => {
        await sessionAsked;
        await route.continue();
      });
      await signIn(yan.page, server, { sub: 'yan', contexts: ['general'], context: 'general' });
      await openChat(yan.page);
      assert.equal(sessions.length, 1, 'one /v1/session: the loader\'s, taken by the window');
      assert.deepEqual(yan.errors, []);
    } finally {
      await yan.close();
    }
  });

  test('a pointer over the launcher starts the core; not when the connection asks to save data', async () => {
    for (const saveData of [false, true]) {
      const zed = await browser();
      try {
        if (saveData) {
          await zed.page.addInitScript(() => {
            Object.defineProperty(navigator, 'connection', { value: { saveData: true, effectiveType: '4g' } });
          });
        }
        const requested = recordWidgetRequests(zed.page);
        await signIn(zed.page, server, { sub: 'zed', contexts: ['general'], context: 'general' });
        const core = widgetFile('widget_bg.wasm');
        await zed.page.getByRole('button', { name: /^Chat/ }).hover();
        if (saveData) {
          // the launcher's own focus and a second hover change nothing either
          await zed.page.getByRole('button', { name: /^Chat/ }).focus();
          await zed.page.mouse.move(0, 0);
          await zed.page.getByRole('button', { name: /^Chat/ }).hover();
          assert.ok(!requested.some((r) => r.file !== 'dachat.js'), JSON.stringify(requested));
          assert.equal(await zed.page.evaluate(() => performance.getEntriesByType('resource')
            .filter((e) => e.name.includes('/widget/') && !e.name.endsWith('/dachat.js')).length), 0);
        } else {
          await zed.page.waitForFunction((file) => performance.getEntriesByType('resource')
            .some((e) => e.name.endsWith(`/widget/${file}`)), core);
          // the window itself stays closed until the click
          assert.equal(await zed.page.getByRole('textbox', { name: 'Message' }).count(), 0);
        }
        await openChat(zed.page);
        assert.deepEqual(zed.errors, []);
      } finally {
        await zed.close();
      }
    }
  });
});
