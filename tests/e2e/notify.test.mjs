// Notification e-mail as people meet it (issue #14), in Chromium against
// `dachat serve` with a 1-second delay and the dev inbox as the test
// mailbox: alice turns e-mail on in the window and confirms the code she
// finds in her mail; bob writes while she is away; one digest arrives,
// naming rooms and counts and nothing of what was said; after she reads a
// room, the next digest names only what may be named; she answers it by
// e-mail and bob sees her reply; the one-click link unsubscribes on a
// POST, not on a GET.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { artifacts, browser, openChat, send, signIn, startServer } from './harness.mjs';

const require = createRequire(import.meta.url);
const axeSource = require('node:fs').readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let server;
before(async () => { server = await startServer({ env: { DACHAT_NOTIFY_DELAY: '1', RUST_LOG: 'info' } }); });
after(async () => { await server?.close(); });

/** The dev inbox, oldest first. */
async function inbox() {
  const response = await fetch(`${server.url}/dev/inbox.json`);
  return (await response.json()).reverse();
}

/** Waits until the inbox holds `n` e-mails (the sweep runs every second). */
async function inboxOf(n) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const mail = await inbox();
    if (mail.length >= n) return mail;
    if (Date.now() > deadline) throw new Error(`the inbox never reached ${n} e-mails: ${JSON.stringify(mail)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const header = (mail, name) => mail.headers.find(([n]) => n === name)?.[1];

const rooms = ['general', 'shipment-123'];

describe('notification e-mail', () => {
  test('subscribe with a code in the window, one digest while away, the next after a read, one-click unsubscribe', async () => {
    const alice = await browser();
    const bob = await browser();
    try {
      await signIn(alice.page, server, { sub: 'alice', contexts: rooms, context: 'shipment-123' });
      await openChat(alice.page);
      // she is in both rooms (opening one makes her a member)
      await alice.page.getByLabel('Open a room').selectOption('general');
      await alice.page.getByRole('tab', { name: 'general', selected: true }).waitFor();
      await alice.page.getByRole('tab', { name: 'shipment-123' }).click();
      await alice.page.getByRole('tab', { name: 'shipment-123', selected: true }).waitFor();
      const toggle = alice.page.getByRole('button', { name: 'E-mail me about messages I miss' });
      await toggle.click();
      const panel = alice.page.getByRole('region', { name: 'E-mail notifications' });
      await panel.getByText('All my rooms: Off').waitFor();
      await panel.getByLabel('Your e-mail address').fill('alice@example.org');
      await panel.locator('.row').filter({ hasText: 'All my rooms' }).getByRole('button', { name: 'Turn on' }).click();
      await panel.getByText('We sent a 6-digit code to alice@example.org. Type it below.').waitFor();
      await panel.getByText('All my rooms: Waiting for the code sent to alice@example.org').waitFor();

      const [codeMail] = await inboxOf(1);
      assert.equal(codeMail.to, 'alice@example.org');
      const code = /(\d{6})$/.exec(codeMail.subject)[1];
      // a wrong code first: the server's sentence, in the window
      await panel.getByLabel('Code').fill(code === '000000' ? '111111' : '000000');
      await panel.getByRole('button', { name: 'Confirm' }).click();
      await panel.getByText('That code is not right. 4 tries left.').waitFor();
      await panel.getByLabel('Code').fill(code);
      await panel.getByRole('button', { name: 'Confirm' }).click();
      await panel.getByText('E-mail is on. It goes to alice@example.org.').waitFor();
      await panel.getByText('All my rooms: On, to alice@example.org').waitFor();
      await panel.getByText('This room (shipment-123): On, to alice@example.org').waitFor();

      // the panel is reachable and named for assistive technology
      await alice.page.addScriptTag({ content: axeSource });
      const results = await alice.page.evaluate(async () => {
        const host = [...document.body.children].find((el) => el.shadowRoot);
        // eslint-disable-next-line no-undef
        return axe.run({ include: [[host]] }, { resultTypes: ['violations'] });
      });
      assert.deepEqual(results.violations.map((v) => `${v.id}: ${v.help}`), []);
      await alice.page.screenshot({ path: join(artifacts, 'notifications-panel.png') });

      // alice minimises; bob writes three messages in two rooms; she closes the tab
      await alice.page.keyboard.press('Escape');
      await signIn(bob.page, server, { sub: 'bob', contexts: rooms, context: 'shipment-123' });
      await openChat(bob.page);
      await send(bob.page, 'Pallet 4 is damaged');
      await send(bob.page, 'Customs stamp missing');
      await bob.page.getByLabel('Open a room').selectOption('general');
      await bob.page.getByRole('tab', { name: 'general', selected: true }).waitFor();
      await send(bob.page, 'Truck at 9');
      await bob.page.locator('.log .message:not(.pending)').getByText('Truck at 9').waitFor();
      await alice.page.close();

      const mail = await inboxOf(2);
      const digest = mail[1];
      assert.equal(digest.to, 'alice@example.org');
      assert.equal(digest.subject, 'DAChat: 3 new messages in 2 rooms');
      assert.match(digest.text, /- shipment-123: 2 new messages\n/);
      assert.match(digest.text, /- general: 1 new message\n/);
      for (const said of ['Pallet', 'Customs', 'Truck', 'bob']) {
        assert.ok(!digest.text.includes(said) && !digest.html.includes(said), `no content or author: ${said}`);
      }
      assert.equal(header(digest, 'List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click');

      // alice comes back to shipment-123 (reading it) and minimises; bob
      // writes in both rooms; she leaves again
      const back = await alice.context.newPage();
      await signIn(back, server, { sub: 'alice', contexts: rooms, context: 'shipment-123' });
      await openChat(back);
      await back.getByText('Pallet 4 is damaged').waitFor();
      await back.keyboard.press('Escape');
      await send(bob.page, 'And one more in general');
      await bob.page.getByRole('tab', { name: /^shipment-123/ }).click();
      await send(bob.page, 'Pallet 4 repacked');
      await bob.page.locator('.log .message:not(.pending)').getByText('Pallet 4 repacked').waitFor();
      await back.close();

      const later = await inboxOf(3);
      assert.equal(later[2].subject, 'DAChat: 1 new message in shipment-123',
        'shipment-123 was read since its e-mail; general waits an hour after its own');
      assert.equal(later.length, 3, 'one e-mail each time, never one per message');

      // alice answers that digest by e-mail (the dev inbox's reply form,
      // the path a real reply takes): it lands in bob's window as hers,
      // without her signature
      assert.match(header(later[2], 'Reply-To'), /^reply-[0-9a-f]{32}@reply\.localhost$/);
      const mailbox = await browser();
      try {
        await mailbox.page.goto(`${server.url}/dev/inbox`);
        const form = mailbox.page.getByRole('form', { name: 'Reply by e-mail' }).first();
        await form.getByLabel('Your reply (lands in the room as you)').fill('Coming to check pallet 4\n\n-- \nAlice, warehouse');
        await mailbox.page.screenshot({ path: join(artifacts, 'dev-inbox-reply.png') });
        await form.getByRole('button', { name: 'Send reply' }).click();
        await mailbox.page.getByRole('status').getByText('Posted in shipment-123.').waitFor();
        assert.deepEqual(mailbox.errors, []);
      } finally {
        await mailbox.close();
      }
      const reply = bob.page.locator('.log .message').filter({ hasText: 'Coming to check pallet 4' });
      await reply.waitFor();
      assert.match(await reply.innerText(), /alice/);
      assert.doesNotMatch(await reply.innerText(), /warehouse/);

      // the one-click link: a GET shows a page and unsubscribes nothing
      const link = header(later[2], 'List-Unsubscribe').replace(/^<|>$/g, '');
      const page = await fetch(link);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Stop these e-mails\?/);
      const check = await browser();
      try {
        await signIn(check.page, server, { sub: 'alice', contexts: rooms, context: 'shipment-123' });
        await openChat(check.page);
        await check.page.getByRole('button', { name: 'E-mail me about messages I miss' }).click();
        await check.page.getByText('All my rooms: On, to alice@example.org').waitFor();
        // RFC 8058's POST does
        const done = await fetch(link, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        });
        assert.equal(done.status, 200);
        assert.match(await done.text(), /You will get no more e-mail about any room/);
        // the window shows it when opened again
        await check.page.getByRole('button', { name: 'E-mail me about messages I miss' }).click();
        await check.page.getByRole('button', { name: 'E-mail me about messages I miss' }).click();
        await check.page.getByText('All my rooms: Off').waitFor();
        assert.deepEqual(check.errors, []);
      } finally {
        await check.close();
      }
      assert.deepEqual(alice.errors, []);
      assert.deepEqual(bob.errors, []);
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});
