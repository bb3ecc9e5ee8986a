// The widget's Twilio path against the real, shipped `@twilio/conversations`
// build. The local server runs with Twilio settings whose REST API is our
// stand-in (so provisioning works and sessions say `provider: "twilio"`);
// Twilio's own realtime service is unreachable, as it is from here (and the
// browser resolves nothing but loopback).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifacts, browser, openActions, openChat, send, sendCommand, signIn, startServer, startStandin, twilioSettings, widgetFile } from './harness.mjs';

const widgetDir = process.env.DACHAT_WIDGET_DIR;
const SDK = widgetFile('twilio-conversations.min.js');
const shimPath = () => widgetFile('twilio.js');

let standin;
let server;
before(async () => {
  standin = await startStandin();
  server = await startServer({ env: twilioSettings(standin.url) });
});
after(async () => {
  await server?.close();
  await standin?.close();
});

/** A dev host JWT and a Twilio session for it, fetched from the page's origin. */
async function session(page, sub, context) {
  return page.evaluate(async ({ sub, context }) => {
    const post = async (path, body) => {
      const response = await fetch(path, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json();
    };
    const { token } = await post('/dev/token', { sub, contexts: [context] });
    return post('/v1/session', { token, context });
  }, { sub, context });
}

describe('the Twilio path', () => {
  test('the shipped SDK is the npm-locked build', () => {
    const lock = JSON.parse(readFileSync('widget/package-lock.json', 'utf8'));
    const locked = lock.packages['node_modules/@twilio/conversations'].version;
    const installed = JSON.parse(readFileSync('widget/node_modules/@twilio/conversations/package.json', 'utf8'));
    assert.equal(installed.version, locked);
    const hash = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
    assert.equal(hash(join(widgetDir, SDK)), hash('widget/node_modules/@twilio/conversations/builds/twilio-conversations.min.js'));
  });

  test('the shipped SDK has every class, method, getter, field and event the bridge uses', async () => {
    const user = await browser();
    try {
      await user.page.goto(`${server.url}/`);
      const twilio = await session(user.page, 'sam', 'shipment-1');
      assert.equal(twilio.provider, 'twilio');
      const found = await user.page.evaluate(async ({ shim, token }) => {
        const bridge = await import(shim);
        const sdk = await bridge.loadSdk(bridge.sdkUrl());
        const getter = (proto, name) => {
          for (let p = proto; p; p = Object.getPrototypeOf(p)) {
            const d = Object.getOwnPropertyDescriptor(p, name);
            if (d) return typeof d.get === 'function';
          }
          return false;
        };
        const missing = [];
        let checked = 0;
        for (const [name, uses] of Object.entries(bridge.USES)) {
          const cls = sdk[name];
          if (typeof cls !== 'function') {
            missing.push(`class ${name}`);
            continue;
          }
          for (const m of uses.methods) if (typeof cls.prototype[m] !== 'function') missing.push(`${name}.${m}()`);
          for (const g of uses.getters) if (!getter(cls.prototype, g)) missing.push(`${name}.${g}`);
          for (const e of uses.events) if (cls[e] !== e) missing.push(`${name} event ${e}`);
          checked += uses.methods.length + uses.getters.length + uses.events.length + 1;
        }
        // fields exist on instances only: a real client (it cannot connect from here)
        const client = new sdk.Client(token);
        for (const f of bridge.USES.Client.fields) if (!(f in client)) missing.push(`Client.${f} (field)`);
        checked += bridge.USES.Client.fields.length;
        await client.shutdown();
        return { missing, checked, version: sdk.Client.version, sdkUrl: bridge.sdkUrl() };
      }, { shim: `${server.url}/widget/${shimPath()}`, token: twilio.accessToken });
      assert.deepEqual(found.missing, []);
      console.log(`checked ${found.checked} SDK names used by the bridge against SDK ${found.version}`);
      assert.ok(found.checked > 30, `checked ${found.checked} names`);
      assert.equal(found.sdkUrl, `${server.url}/widget/${SDK}`);
      const locked = JSON.parse(readFileSync('widget/package-lock.json', 'utf8'))
        .packages['node_modules/@twilio/conversations'].version;
      assert.equal(found.version, locked);
      assert.deepEqual(user.errors, []);
    } finally {
      await user.close();
    }
  });

  test('Twilio unreachable: a clear "retrying" state, retry on demand, and the host page keeps working', async () => {
    const user = await browser();
    const requests = [];
    user.page.on('request', (r) => requests.push(r.url()));
    try {
      await signIn(user.page, server, { sub: 'tina', contexts: ['shipment-9', 'general'], context: 'shipment-9' });
      await user.page.getByRole('button', { name: /^Chat/ }).click();
      // the SDK came from beside the widget, and only now
      const banner = user.page.locator('.banner');
      await banner.getByText('Cannot reach the chat service. Retrying…').waitFor();
      assert.ok(requests.includes(`${server.url}/widget/${SDK}`), requests.join('\n'));
      // the rest of the window is there: tabs and a composer that keeps what is typed
      await user.page.getByRole('tab', { name: /shipment-9/ }).waitFor();
      await user.page.getByRole('textbox', { name: 'Message' }).fill('kept for later');
      await user.page.screenshot({ path: join(artifacts, 'twilio-unreachable.png') });

      // told to retry, it starts over and says so again (no hot loop: one SDK load)
      await banner.getByRole('button', { name: 'Retry now' }).click();
      await banner.getByText('Cannot reach the chat service. Retrying…').waitFor();
      assert.equal(requests.filter((u) => u.endsWith(SDK)).length, 1, 'the SDK is loaded once');

      // the host page is untouched: its own script still runs and its DOM still answers
      assert.equal(await user.page.evaluate(() => 1 + 1), 2);
      assert.equal(await user.page.getByRole('button', { name: /^Chat/ }).count(), 1);
      assert.equal(await user.page.getByRole('textbox', { name: 'Message' }).inputValue(), 'kept for later');
      // minimise and reopen: still the same state, nothing thrown
      await user.page.keyboard.press('Escape');
      await user.page.getByRole('button', { name: /^Chat/ }).click();
      await banner.getByText('Cannot reach the chat service. Retrying…').waitFor();
      assert.deepEqual(user.errors, []);
    } finally {
      await user.close();
    }
  });

  test('the window, its tabs and its composer come before the SDK, and what is typed meanwhile waits in the outbox', async () => {
    const user = await browser();
    try {
      // the SDK is held back until the window has shown what it can without it
      let release;
      const released = new Promise((resolve) => { release = resolve; });
      let asked;
      const sdkAsked = new Promise((resolve) => { asked = resolve; });
      await user.page.route(`**/widget/${SDK}`, async (route) => {
        asked();
        await released;
        await route.continue();
      });
      await signIn(user.page, server, { sub: 'ugo', contexts: ['shipment-4'], context: 'shipment-4' });
      await user.page.getByRole('button', { name: /^Chat/ }).click();
      await user.page.getByRole('tab', { name: /shipment-4/ }).waitFor();
      await send(user.page, 'typed before the SDK');
      await user.page.locator('.log .message.pending', { hasText: 'typed before the SDK' }).waitFor();
      // the SDK was asked for as soon as the session said Twilio, and is still on its way
      await sdkAsked;
      assert.equal(await user.page.evaluate(() => typeof globalThis.Twilio), 'undefined');
      release();
      // loaded now; Twilio itself is out of reach from here, and the message still waits to go
      await user.page.locator('.banner').getByText('Cannot reach the chat service. Retrying…').waitFor();
      assert.equal(await user.page.evaluate(() => typeof globalThis.Twilio?.Conversations?.Client), 'function');
      await user.page.locator('.log .message.pending', { hasText: 'typed before the SDK' }).waitFor();
      assert.deepEqual(user.errors, []);
    } finally {
      await user.close();
    }
  });

  test('the SDK cannot be fetched: a plain message, and "Try again" loads it once it can be', async () => {
    const user = await browser();
    try {
      let blocked = true;
      await user.page.route(`**/widget/${SDK}`, (route) => (blocked ? route.abort('connectionfailed') : route.continue()));
      await signIn(user.page, server, { sub: 'vic', contexts: ['shipment-7'], context: 'shipment-7' });
      await user.page.getByRole('button', { name: /^Chat/ }).click();
      const alert = user.page.getByRole('alert');
      await alert.getByText('The chat could not be loaded. Check your connection and try again.').waitFor();
      blocked = false;
      await alert.getByRole('button', { name: 'Try again' }).click();
      // loaded now; Twilio itself is still out of reach from here
      await user.page.locator('.banner').getByText('Cannot reach the chat service. Retrying…').waitFor();
      assert.deepEqual(user.errors, []);
    } finally {
      await user.close();
    }
  });

  test('the shim comes with the SDK, not with the window: cannot be fetched, a plain message, and "Try again" loads it', async () => {
    const user = await browser();
    try {
      const shim = widgetFile('twilio.js');
      let blocked = true;
      let asked = 0;
      await user.page.route(`**/widget/${shim}`, (route) => {
        asked += 1;
        return blocked ? route.abort('connectionfailed') : route.continue();
      });
      await signIn(user.page, server, { sub: 'wes', contexts: ['shipment-8'], context: 'shipment-8' });
      await user.page.getByRole('button', { name: /^Chat/ }).click();
      const alert = user.page.getByRole('alert');
      await alert.getByText('The chat could not be loaded. Check your connection and try again.').waitFor();
      assert.ok(asked >= 1, 'asked for once the session said Twilio');
      blocked = false;
      await alert.getByRole('button', { name: 'Try again' }).click();
      // the failed import was forgotten: this time the shim and the SDK load
      await user.page.locator('.banner').getByText('Cannot reach the chat service. Retrying…').waitFor();
      assert.equal(await user.page.evaluate(() => typeof globalThis.Twilio?.Conversations?.Client), 'function');
      assert.deepEqual(user.errors, []);
    } finally {
      await user.close();
    }
  });

  // The widget's own behaviour on the Twilio path, as the user sees it, with
  // the SDK replaced by the chat-client suite's scripted stand-in (real
  // sessions and token renewals from the server; Twilio itself scripted).
  test('with the SDK stand-in: chatting, renewal after expiry, revocation and a revoked API key, as the user sees them', async () => {
    const user = await browser();
    const renewals = [];
    user.page.on('request', (r) => { if (r.url().endsWith('/v1/token')) renewals.push(r.url()); });
    try {
      await user.page.route('**/__fake_twilio.js', (route) =>
        route.fulfill({ path: 'widget/tests/fake_twilio.js', contentType: 'text/javascript' }));
      await signIn(user.page, server, { sub: 'una', contexts: ['shipment-5', 'general'], context: 'shipment-5' });
      await user.page.evaluate(async () => {
        const fake = await import('/__fake_twilio.js');
        fake.install();
        fake.trustServer();
        window.__fake = fake;
      });
      await openChat(user.page);
      await send(user.page, 'hello over twilio');
      await user.page.locator('.log .message:not(.pending)', { hasText: 'hello over twilio' }).waitFor();
      // a message's menu on Twilio: what the SDK carries; moderation and
      // reports are not offered until DAChat's API carries them there
      const offered = await openActions(user.page, 'hello over twilio');
      assert.deepEqual(await offered.allTextContents(), ['Edit', 'Delete', 'Copy text']);
      await user.page.keyboard.press('Escape');
      await offered.first().waitFor({ state: 'detached' });

      // the token expired while the tab slept: renewed through /v1/token, handed to the SDK, online again
      const tokens = await user.page.evaluate(() => window.__fake.tokensSeen().split(' ').length);
      await user.page.evaluate(() => window.__fake.expire('una'));
      await user.page.waitForFunction((n) => window.__fake.tokensSeen().split(' ').length > n, tokens);
      assert.ok(renewals.length >= 1, 'a renewal through POST /v1/token');
      await user.page.locator('.banner').waitFor({ state: 'detached' });

      // access to a room is revoked: its tab closes with a plain notice
      await sendCommand(user.page, '/join general');
      await user.page.getByRole('tab', { name: /general/ }).waitFor();
      await user.page.waitForFunction(() => window.__fake.openedBy('una').length === 2);
      await user.page.evaluate(() => window.__fake.revoke(window.__fake.openedBy('una')[1], 'una'));
      await user.page.getByText('You no longer have access to general.').waitFor();
      assert.equal(await user.page.getByRole('tab', { name: /general/ }).count(), 0);

      // the API key is revoked: one renewal is tried, then the user is told plainly
      await user.page.evaluate(() => {
        window.__fake.refuseEverything();
        window.__fake.expire('una');
      });
      await user.page.locator('.banner').getByText('The chat service refused this chat session', { exact: false }).waitFor();
      await user.page.screenshot({ path: join(artifacts, 'twilio-refused.png') });

      // DAChat('close') shuts the SDK client down
      assert.equal(await user.page.evaluate(() => window.__fake.openClientsOf('una')), 1);
      await user.page.evaluate(() => window.DAChat('close'));
      await user.page.waitForFunction(() => window.__fake.openClientsOf('una') === 0);
      assert.deepEqual(user.errors, []);
    } finally {
      await user.close();
    }
  });

  test('moderation on Twilio: a moderator removes, mutes and unmutes through DAChat\'s API, Twilio refuses the muted member, reports reach the moderator', async () => {
    const service = twilioSettings(standin.url).DACHAT_TWILIO_CHAT_SERVICE_SID;
    const rest = (path, init = {}) => fetch(`${standin.url}/v1/Services/${service}${path}`, {
      ...init, headers: { authorization: `Basic ${Buffer.from('SK:secret').toString('base64')}`, ...init.headers },
    });
    // what `dachat configure` makes: the muted members' role
    const made = await rest('/Roles', { method: 'POST', body: new URLSearchParams([['FriendlyName', 'dachat muted'], ['Type', 'conversation'], ['Permission', 'deleteOwnMessage']]) });
    assert.equal(made.status, 201, await made.text());
    const api = async (path, body) => {
      const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, json: await response.json() };
    };
    // bob, a member: a session of his own (he takes part on Twilio) and a message
    const bobHost = (await api('/dev/token', { sub: 'bob', contexts: ['shipment-7'] })).json.token;
    const bobTwilio = (await api('/v1/session', { token: bobHost, context: 'shipment-7' })).json.accessToken;
    const posted = await (await fetch(`${standin.url}/_standin/message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ conversation: 'shipment-7', author: 'bob', body: 'buy now' }) })).json();
    const may = async (action) => {
      const answer = await fetch(`${standin.url}/_standin/as-user`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ service, token: bobTwilio, action, conversation: 'shipment-7' }),
      });
      return answer.status === 204;
    };

    const mia = await browser();
    const notice = (text) => mia.page.locator('.notice', { hasText: text }).waitFor();
    try {
      await mia.page.route('**/__fake_twilio.js', (route) =>
        route.fulfill({ path: 'widget/tests/fake_twilio.js', contentType: 'text/javascript' }));
      await signIn(mia.page, server, { sub: 'mia', contexts: ['shipment-7'], moderates: ['shipment-7'], context: 'shipment-7' });
      await mia.page.evaluate(async () => {
        const fake = await import('/__fake_twilio.js');
        fake.install();
        fake.trustServer();
        window.__fake = fake;
      });
      await openChat(mia.page);
      await mia.page.waitForFunction(() => window.__fake.openedBy('mia').length === 1);
      // the message Twilio holds, as mia's SDK hears of it (the same index)
      const index = await mia.page.evaluate(() => window.__fake.postText(window.__fake.openedBy('mia')[0], 'bob', 'buy now'));
      assert.equal(index, posted.index);
      const offered = await openActions(mia.page, 'buy now');
      assert.deepEqual(await offered.allTextContents(), [
        'Copy text', 'Report to the moderators', 'Remove for everyone', 'Mute bob for 1 hour',
        'Mute bob for 1 day', 'Let bob write again', 'Reports in this room',
      ]);

      // muted: Twilio itself refuses bob's messages and edits, whatever his client
      assert.ok(await may('sendMessage'));
      await offered.filter({ hasText: 'Mute bob for 1 hour' }).click();
      await notice('Muted: they can read, not write.');
      assert.equal(await may('sendMessage'), false);
      assert.equal(await may('editOwnMessage'), false);
      // and bob's window says why when Twilio refuses his send (his SDK
      // stand-in refuses as Twilio does for his role now), in Arabic too
      const bob = await browser();
      try {
        await bob.page.route('**/__fake_twilio.js', (route) =>
          route.fulfill({ path: 'widget/tests/fake_twilio.js', contentType: 'text/javascript' }));
        await signIn(bob.page, server, { sub: 'bob', contexts: ['shipment-7'], context: 'shipment-7', lang: 'ar', launcher: /^الدردشة/ });
        await bob.page.evaluate(async () => {
          const fake = await import('/__fake_twilio.js');
          fake.install();
          fake.trustServer();
          fake.refuseSendsOf('bob');
          window.__fake = fake;
        });
        await bob.page.getByRole('button', { name: /^الدردشة/ }).click();
        await bob.page.locator('.log').waitFor();
        await bob.page.locator('.banner').waitFor({ state: 'detached' });
        const box = bob.page.locator('.composer textarea');
        await box.fill('let me talk');
        await box.press('Enter');
        await bob.page.locator('.log .message.pending', { hasText: 'let me talk' })
          .getByText(/كتمك أحد المشرفين في هذه الغرفة/).waitFor();
        assert.deepEqual(bob.errors, []);
      } finally {
        await bob.close();
      }
      const items = await openActions(mia.page, 'buy now');
      await items.filter({ hasText: 'Let bob write again' }).click();
      await notice('They can write again.');
      assert.ok(await may('sendMessage'));

      // a member's report reaches the room's reports; a member cannot act as a moderator
      const report = await api('/v1/moderation', { token: bobHost, frame: { type: 'report', room: 'shipment-7', id: index, reason: 'spam' } });
      assert.equal(report.status, 200, JSON.stringify(report.json));
      const refused = await api('/v1/moderation', { token: bobHost, frame: { type: 'remove', room: 'shipment-7', id: index } });
      assert.equal(refused.status, 403);
      assert.equal(refused.json.error, 'not_moderator');
      await (await openActions(mia.page, 'buy now')).filter({ hasText: 'Reports in this room' }).click();
      const reports = mia.page.getByRole('dialog', { name: 'Reports in this room' });
      await reports.getByText(/^bob reported a message by bob \(.+\): spam$/).waitFor();
      await reports.getByRole('button', { name: 'Close' }).click();

      // removed: gone from Twilio; every SDK client hears it, and the window drops it
      mia.page.once('dialog', (dialog) => dialog.accept());
      await (await openActions(mia.page, 'buy now')).filter({ hasText: 'Remove for everyone' }).click();
      await notice('The message was removed.');
      const left = await (await rest('/Conversations/shipment-7/Messages')).json();
      assert.deepEqual(left.messages.map((m) => m.body), []);
      await mia.page.evaluate((i) => window.__fake.removeMessage(window.__fake.openedBy('mia')[0], i), index);
      await mia.page.getByText('buy now').waitFor({ state: 'detached' });

      // the operator's record of it
      const log = spawnSync(process.env.DACHAT_BIN, ['moderation-log', '--data-dir', server.dataDir], { encoding: 'utf8' });
      assert.equal(log.status, 0, log.stderr);
      const lines = log.stdout.trim().split('\n').map((line) => line.split(/\s{2,}/).slice(1).join(' | '));
      assert.deepEqual(lines.map((l) => l.replace(/until \S+/, 'until …')), [
        'shipment-7 | mia | muted bob until …',
        'shipment-7 | mia | unmuted bob',
        'shipment-7 | mia | removed message 0 by bob',
      ]);
      assert.deepEqual(mia.errors, []);
    } finally {
      await mia.close();
    }
  });
});
