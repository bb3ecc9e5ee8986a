// Moderation in the window (issue #30), on the local provider: moderators
// named by the host token's `moderates`, and every member's Report, through
// the message actions menu (the actions piece).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { axeViolations, browser, messageAction, openActions, openChat, row, send, signIn, startServer } from './harness.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.close(); });

/** What the element with focus in the window says (its label, or its text). */
function focused(page) {
  return page.evaluate(() => {
    const el = [...document.body.children].find((e) => e.shadowRoot).shadowRoot.activeElement;
    return el?.getAttribute('aria-label') || el?.textContent;
  });
}

const notice = (page, text) => page.locator('.notice', { hasText: text }).waitFor();

describe('moderation in the window', () => {
  test('a member reports, the moderator sees it, removes the message, mutes and unmutes its author', async () => {
    const room = 'group-public-7';
    const mia = await browser();
    const bob = await browser();
    const cat = await browser();
    try {
      await signIn(mia.page, server, { sub: 'mia', contexts: [room], context: room, moderates: [room] });
      await signIn(bob.page, server, { sub: 'bob-m', contexts: [room], context: room });
      await signIn(cat.page, server, { sub: 'cat', contexts: [room], context: room });
      for (const user of [mia, bob, cat]) await openChat(user.page);
      await send(bob.page, 'cheap watches here');
      await cat.page.getByText('cheap watches here').waitFor();
      await mia.page.getByText('cheap watches here').waitFor();

      // a member (no `moderates`) is offered Copy and Report, nothing of a moderator's
      const offered = await openActions(cat.page, 'cheap watches here');
      assert.deepEqual(await offered.allTextContents(), ['Copy text', 'Report to the moderators']);
      cat.page.once('dialog', (dialog) => dialog.accept('  spam  '));
      await offered.filter({ hasText: 'Report' }).click();
      await notice(cat.page, "Thank you. The room's moderators will look at it.");
      // the moderator hears of it at once
      await notice(mia.page, 'cat reported a message in group-public-7: spam');

      // the moderator's menu, by keyboard: focus on its first item, arrows
      // move (and wrap), Escape closes it and gives focus back to the button
      await row(mia.page, 'cheap watches here').getByRole('button', { name: 'Message actions' }).focus();
      await mia.page.keyboard.press('Enter');
      const items = row(mia.page, 'cheap watches here').getByRole('menuitem');
      await items.first().waitFor();
      assert.deepEqual(await items.allTextContents(), [
        'Copy text', 'Report to the moderators', 'Remove for everyone', 'Mute bob-m for 1 hour',
        'Mute bob-m for 1 day', 'Let bob-m write again', 'Reports in this room',
      ]);
      assert.equal(await focused(mia.page), 'Copy text');
      await mia.page.keyboard.press('ArrowDown');
      assert.equal(await focused(mia.page), 'Report to the moderators');
      await mia.page.keyboard.press('End');
      assert.equal(await focused(mia.page), 'Reports in this room');
      await mia.page.keyboard.press('ArrowDown');
      assert.equal(await focused(mia.page), 'Copy text');
      assert.equal(await row(mia.page, 'cheap watches here').getByRole('button', { name: 'Message actions' }).getAttribute('aria-expanded'), 'true');
      assert.deepEqual(await axeViolations(mia.page), [], 'the open menu');
      await mia.page.keyboard.press('Escape');
      await items.first().waitFor({ state: 'detached' });
      assert.equal(await focused(mia.page), 'Message actions');
      // the button toggles: a second click closes what the first opened
      const button = row(mia.page, 'cheap watches here').getByRole('button', { name: 'Message actions' });
      await button.click();
      await items.first().waitFor();
      await button.click();
      await items.first().waitFor({ state: 'detached' });
      assert.equal(await button.getAttribute('aria-expanded'), null);
      // a click elsewhere closes it too
      await button.click();
      await items.first().waitFor();
      await mia.page.locator('.log').click({ position: { x: 5, y: 5 } });
      await items.first().waitFor({ state: 'detached' });

      // the room's reports
      await messageAction(mia.page, 'cheap watches here', 'Reports in this room');
      const reports = mia.page.getByRole('dialog', { name: 'Reports in this room' });
      await reports.getByText(/^cat reported a message by bob-m \(.+\): spam$/).waitFor();
      assert.deepEqual(await axeViolations(mia.page), [], 'the reports list');
      await reports.getByRole('button', { name: 'Close' }).click();
      await reports.waitFor({ state: 'detached' });

      // removed: every window drops its text
      mia.page.once('dialog', (dialog) => dialog.accept());
      await messageAction(mia.page, 'cheap watches here', 'Remove for everyone');
      await notice(mia.page, 'The message was removed.');
      for (const user of [bob, cat, mia]) {
        await user.page.locator('.log .body.deleted').waitFor();
        assert.equal(await user.page.getByText('cheap watches here').count(), 0);
      }

      // muted: bob reads, and what he sends is refused
      await send(bob.page, 'before the mute');
      await mia.page.getByText('before the mute').waitFor();
      await messageAction(mia.page, 'before the mute', 'Mute bob-m for 1 hour');
      await notice(mia.page, 'Muted: they can read, not write.');
      await send(bob.page, 'am I muted?');
      await bob.page.locator('.log .message.pending', { hasText: 'am I muted?' }).getByText(/^Not sent: .*muted/).waitFor();
      await send(cat.page, 'bob still reads this');
      await bob.page.getByText('bob still reads this').waitFor();
      assert.equal(await mia.page.getByText('am I muted?').count(), 0);

      // unmuted: he writes again
      await messageAction(mia.page, 'before the mute', 'Let bob-m write again');
      await notice(mia.page, 'They can write again.');
      await send(bob.page, 'back again');
      await mia.page.getByText('back again').waitFor();

      for (const user of [mia, bob, cat]) assert.deepEqual(user.errors, []);
    } finally {
      await mia.close();
      await bob.close();
      await cat.close();
    }
  });

  test('the menu and the reports list in Arabic (right to left) and in dark mode: axe finds nothing', async () => {
    const room = 'group-public-9';
    const noor = await browser();
    const sam = await browser();
    try {
      await noor.page.emulateMedia({ colorScheme: 'dark' });
      await signIn(noor.page, server, { sub: 'noor', contexts: [room], context: room, moderates: [room], lang: 'ar', launcher: /^الدردشة/ });
      await signIn(sam.page, server, { sub: 'sam', contexts: [room], context: room, lang: 'ar', launcher: /^الدردشة/ });
      await noor.page.getByRole('button', { name: /^الدردشة/ }).click();
      await noor.page.locator('.log').waitFor();
      await noor.page.locator('.banner').waitFor({ state: 'detached' });
      await sam.page.getByRole('button', { name: /^الدردشة/ }).click();
      await sam.page.locator('.log').waitFor();
      await sam.page.locator('.banner').waitFor({ state: 'detached' });
      await sam.page.locator('.composer textarea').fill('marhaba');
      await sam.page.locator('.composer textarea').press('Enter');
      await row(noor.page, 'marhaba').getByRole('button', { name: 'إجراءات الرسالة' }).click();
      const items = row(noor.page, 'marhaba').getByRole('menu', { name: 'إجراءات الرسالة' }).getByRole('menuitem');
      await items.first().waitFor();
      assert.equal(await items.count(), 7, 'a moderator\'s seven items');
      assert.equal(await items.nth(2).textContent(), 'إزالة للجميع');
      assert.equal(await noor.page.locator('.chat').evaluate((el) => getComputedStyle(el).direction), 'rtl');
      assert.deepEqual(await axeViolations(noor.page), [], 'the open menu, RTL, dark');
      await items.last().click();
      await noor.page.getByRole('dialog', { name: 'البلاغات في هذه الغرفة' }).getByText('لا توجد بلاغات في هذه الغرفة.').waitFor();
      assert.deepEqual(await axeViolations(noor.page), [], 'the reports list, RTL, dark');
      // a muted member who reads Arabic is told so in Arabic
      await row(noor.page, 'marhaba').getByRole('button', { name: 'إجراءات الرسالة' }).click();
      await items.nth(3).click();
      await sam.page.locator('.composer textarea').fill('hal ana maktum?');
      await sam.page.locator('.composer textarea').press('Enter');
      await sam.page.locator('.log .message.pending', { hasText: 'hal ana maktum?' })
        .getByText('كتمك أحد المشرفين في هذه الغرفة لبعض الوقت: يمكنك القراءة لا الإرسال.', { exact: false }).waitFor();
      assert.deepEqual(noor.errors, []);
    } finally {
      await noor.close();
      await sam.close();
    }
  });

  test('Copy puts the text on the clipboard', async () => {
    const dee = await browser();
    try {
      await dee.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      await signIn(dee.page, server, { sub: 'dee', contexts: ['general'], context: 'general' });
      await openChat(dee.page);
      await send(dee.page, 'container MSKU 123456-7');
      await messageAction(dee.page, 'container MSKU 123456-7', 'Copy text');
      await notice(dee.page, 'Copied.');
      assert.equal(await dee.page.evaluate(() => navigator.clipboard.readText()), 'container MSKU 123456-7');
      assert.deepEqual(dee.errors, []);
    } finally {
      await dee.close();
    }
  });
});
