// Offline-first (issue #15): the window opens from the device's copy when
// the chat service cannot be reached, keeps what is typed offline across a
// reload, and delivers it exactly once, in order, when the link is back.
// The copy belongs to one identity, can be turned off, and is deleted by
// DAChat('logout').
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { artifacts, browser, composer, messages, openChat, send, signIn, startServer } from './harness.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.close(); });

/** What the window keeps in this origin's IndexedDB (`dachat`/`kv`), as an object; {} when there is none. */
function stored(page) {
  return page.evaluate(async () => {
    if (!(await indexedDB.databases()).some((d) => d.name === 'dachat')) return {};
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open('dachat');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    try {
      if (!db.objectStoreNames.contains('kv')) return {};
      const store = db.transaction('kv').objectStore('kv');
      const [keys, values] = await Promise.all([store.getAllKeys(), store.getAll()].map((r) => new Promise((resolve) => { r.onsuccess = () => resolve(r.result); })));
      return Object.fromEntries(keys.map((k, i) => [k, values[i]]));
    } finally {
      db.close();
    }
  });
}

/** Waits until what the window keeps satisfies `ok` (fails after 20 s, showing what is there). */
async function untilStored(page, ok) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const now = await stored(page);
    if (ok(now)) return now;
    if (Date.now() > deadline) throw new Error(`the device's copy never got there: ${JSON.stringify(now)}`);
    // the next check after the page has painted again (no sleeping)
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  }
}

const bodies = (list) => (list || []).map((m) => m.body);
const service = (url) => url.pathname.startsWith('/v1/');

/** Opens the window unless the loader reopened it (it was open on the last page view). */
async function reopen(page) {
  const launcher = page.getByRole('button', { name: /^Chat/ });
  if ((await launcher.getAttribute('aria-expanded')) !== 'true') await launcher.click();
  await composer(page).waitFor();
}

describe('offline-first', () => {
  test('typed offline, reloaded while the service is unreachable, delivered once each and in order', async () => {
    const nour = await browser();
    const bob = await browser();
    try {
      const room = 'dock-7';
      await signIn(nour.page, server, { sub: 'nour', contexts: [room], context: room });
      await openChat(nour.page);
      await send(nour.page, 'before the storm');
      await nour.page.locator('.log .message:not(.pending)').getByText('before the storm').waitFor();
      await untilStored(nour.page, (s) => s.owner === 'nour' && bodies(s[`h/${room}`]).includes('before the storm'));

      // the link goes: three messages wait, and are on the device at once
      await nour.context.setOffline(true);
      await nour.page.getByText(/You are offline/).waitFor();
      for (const text of ['one', 'two', 'three']) await send(nour.page, text);
      await nour.page.getByText('3 messages are waiting to send.', { exact: false }).waitFor();
      assert.equal(await nour.page.locator('.pending').getByText('Waiting to send').count(), 3);
      await untilStored(nour.page, (s) => (s.outbox || []).length === 3);

      // the tab is closed while offline; a new one opens with the page
      // reachable but the chat service not (a weak link): the saved copy
      // shows at once, marked, with the three waiting
      const url = nour.page.url();
      await nour.context.route(service, (route) => route.abort('internetdisconnected'));
      await nour.page.close();
      await nour.context.setOffline(false);
      const page = await nour.context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      await reopen(page);
      await page.getByText('Saved messages: not up to date yet.').waitFor();
      await page.locator('.log .message:not(.pending)').getByText('before the storm').waitFor();
      assert.deepEqual(await page.locator('.pending .body').allTextContents(), ['one', 'two', 'three']);
      await page.getByText(/Cannot reach the chat service/).waitFor();
      await page.screenshot({ path: join(artifacts, 'offline-saved.png') });

      // the service is back: each goes once, in order
      await nour.context.unroute(service);
      await page.getByRole('button', { name: 'Retry now' }).click();
      await page.locator('.pending').first().waitFor({ state: 'detached' });
      await page.getByText('Saved messages: not up to date yet.').waitFor({ state: 'detached' });
      assert.deepEqual(await messages(page), ['nour: before the storm', 'nour: one', 'nour: two', 'nour: three']);
      await untilStored(page, (s) => (s.outbox || []).length === 0);
      assert.deepEqual(errors, []);

      // what another person sees: each once, in order
      await signIn(bob.page, server, { sub: 'bob-7', contexts: [room], context: room });
      await openChat(bob.page);
      await bob.page.getByText('three').waitFor();
      assert.deepEqual(await messages(bob.page), ['nour: before the storm', 'nour: one', 'nour: two', 'nour: three']);
    } finally {
      await nour.close();
      await bob.close();
    }
  });

  test('a waiting message can be cancelled, and then never goes', async () => {
    const user = await browser();
    try {
      await signIn(user.page, server, { sub: 'lina', contexts: ['dock-8'], context: 'dock-8' });
      await openChat(user.page);
      await user.context.setOffline(true);
      await user.page.getByText(/You are offline/).waitFor();
      await send(user.page, 'not this one');
      await send(user.page, 'but this');
      await user.page.getByRole('button', { name: 'Cancel this message' }).first().click();
      assert.deepEqual(await user.page.locator('.pending .body').allTextContents(), ['but this']);
      await untilStored(user.page, (s) => bodies(s.outbox).join() === 'but this');
      await user.context.setOffline(false);
      await user.page.locator('.log .message:not(.pending)').getByText('but this').waitFor();
      assert.deepEqual(await messages(user.page), ['lina: but this']);
    } finally {
      await user.close();
    }
  });

  test('the copy is one identity\'s: another person on this browser starts from nothing; logout deletes it', async () => {
    const device = await browser();
    try {
      await signIn(device.page, server, { sub: 'omar', contexts: ['omar-private'], context: 'omar-private' });
      await openChat(device.page);
      await send(device.page, 'for omar only');
      await untilStored(device.page, (s) => bodies(s['h/omar-private']).includes('for omar only'));

      // someone else signs in on the same browser (no logout): omar's copy is emptied first
      await signIn(device.page, server, { sub: 'sara', contexts: ['sara-room'], context: 'sara-room' });
      await reopen(device.page);
      await device.page.locator('.banner').waitFor({ state: 'detached' });
      const seen = await untilStored(device.page, (s) => s.owner === 'sara');
      assert.deepEqual(Object.keys(seen).filter((k) => k.startsWith('h/omar')), []);
      assert.equal(JSON.stringify(seen).includes('for omar only'), false);

      // the host signs sara out
      await send(device.page, 'sara was here');
      await untilStored(device.page, (s) => bodies(s['h/sara-room']).includes('sara was here'));
      await device.page.evaluate(() => window.DAChat('logout'));
      await composer(device.page).waitFor({ state: 'hidden' });
      // (checked after each animation frame: waitForFunction does not await a promise)
      await device.page.evaluate(async () => {
        const deadline = Date.now() + 20_000;
        while ((await indexedDB.databases()).some((d) => d.name === 'dachat')) {
          if (Date.now() > deadline) throw new Error('the database was not deleted');
          await new Promise((r) => requestAnimationFrame(r));
        }
      });
      assert.equal(await device.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('dachat:tabs')).length), 0);
    } finally {
      await device.close();
    }
  });

  test('data-cache="off": nothing is kept on the device', async () => {
    const user = await browser();
    try {
      await signIn(user.page, server, { sub: 'tarek', contexts: ['dock-9'], context: 'dock-9', cache: 'off' });
      await openChat(user.page);
      await send(user.page, 'not kept');
      await user.page.locator('.log .message:not(.pending)').getByText('not kept').waitFor();
      // and a second page view keeps nothing either
      await user.page.reload();
      await reopen(user.page);
      await user.page.locator('.log .message:not(.pending)').getByText('not kept').waitFor();
      assert.deepEqual(await stored(user.page), {});
    } finally {
      await user.close();
    }
  });
});
