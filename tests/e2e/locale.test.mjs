// The user's language (issue #15): the window and the launcher in eight
// languages, chosen by data-lang, the page's <html lang> or the browser's,
// switched live; Arabic and Farsi right to left; CLDR plurals and Intl
// dates; the launcher's theme and the unread count in the page title.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { artifacts, axeViolations, browser, signIn, startServer } from './harness.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.close(); });

const textbox = (page, name) => page.getByRole('textbox', { name });
/** The loader's shadow host. */
const host = (page) => page.locator('body > div').last();

/** Opens the chat from a launcher named `launcher`; waits for the box named `box` and the connection. */
async function open(page, launcher, box) {
  await page.getByRole('button', { name: launcher }).click();
  await textbox(page, box).waitFor();
  await page.locator('.banner').waitFor({ state: 'detached' });
}

/** Sends `text` from the message box named `box`. */
async function say(page, box, text) {
  await textbox(page, box).fill(text);
  await textbox(page, box).press('Enter');
}

describe("the user's language", () => {
  for (const scheme of ['light', 'dark']) {
    test(`Arabic lays the window out right to left, in Arabic, with Intl dates; axe stays clean (${scheme})`, async () => {
      const user = await browser({ colorScheme: scheme });
      try {
        const room = `souk-${scheme}`;
        await signIn(user.page, server, { sub: `Sam-${scheme}`, contexts: [room], context: room, lang: 'ar', launcher: /^الدردشة/ });
        assert.deepEqual(await host(user.page).evaluate((el) => [el.dir, el.lang]), ['rtl', 'ar']);
        // the launcher sits at the end of the line: bottom left in Arabic
        const launcher = await user.page.getByRole('button', { name: /^الدردشة/ }).boundingBox();
        assert.ok(launcher.x < 200, `launcher at x=${launcher.x}`);
        await open(user.page, /^الدردشة/, 'الرسالة');
        const chat = user.page.locator('.chat');
        assert.deepEqual(await chat.evaluate((el) => [el.dir, el.lang, getComputedStyle(el).direction]), ['rtl', 'ar', 'rtl']);
        assert.equal(await user.page.getByRole('button', { name: 'إرسال' }).count(), 1);

        await say(user.page, 'الرسالة', 'Pallet 7 arrived — وصلت');
        const row = user.page.locator('.log .message:not(.pending)').first();
        await row.waitFor();
        // a Latin name in an Arabic window stays one isolated run
        assert.equal(await row.locator('bdi.author').textContent(), `Sam-${scheme}`);
        assert.equal(await row.locator('.body').getAttribute('dir'), 'auto');
        // the time and the day separator are the browser's Intl for Arabic
        const [shown, expected] = await row.evaluate((el) => {
          const time = el.querySelector('time');
          const at = new Date(time.dateTime);
          const day = el.previousElementSibling?.classList.contains('day') ? el.previousElementSibling : el.parentElement.querySelector('.day');
          return [
            [time.textContent, day.textContent],
            [at.toLocaleTimeString('ar', { hour: '2-digit', minute: '2-digit' }),
              at.toLocaleDateString('ar', { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' })],
          ];
        });
        assert.deepEqual(shown, expected);

        assert.deepEqual(await axeViolations(user.page), []);
        await user.page.screenshot({ path: join(artifacts, `widget-ar-${scheme}.png`) });
        assert.deepEqual(user.errors, []);
      } finally {
        await user.close();
      }
    });
  }

  test('Greek from data-lang, switched live to German and to Farsi; the draft stays', async () => {
    const user = await browser();
    try {
      await signIn(user.page, server, { sub: 'eleni', contexts: ['limani'], context: 'limani', lang: 'el', launcher: /^Συνομιλία/ });
      await open(user.page, /^Συνομιλία/, 'Μήνυμα');
      await say(user.page, 'Μήνυμα', 'Το φορτηγό έφτασε');
      await user.page.locator('.log .message:not(.pending)').first().waitFor();
      assert.match(await textbox(user.page, 'Μήνυμα').getAttribute('placeholder'), /^Γράψτε ένα μήνυμα/);
      await user.page.screenshot({ path: join(artifacts, 'widget-el.png') });

      await textbox(user.page, 'Μήνυμα').fill('half a sentence');
      await user.page.evaluate(() => window.DAChat('setLocale', 'de-AT'));
      await textbox(user.page, 'Nachricht').waitFor();
      assert.equal(await textbox(user.page, 'Nachricht').inputValue(), 'half a sentence');
      await user.page.getByRole('button', { name: /^Chat/ }).waitFor();
      assert.deepEqual(await user.page.locator('.chat').evaluate((el) => [el.dir, el.lang]), ['ltr', 'de']);

      await user.page.evaluate(() => window.DAChat('setLocale', 'fa'));
      await textbox(user.page, 'پیام').waitFor();
      assert.equal(await textbox(user.page, 'پیام').inputValue(), 'half a sentence');
      assert.deepEqual(await user.page.locator('.chat').evaluate((el) => [el.dir, el.lang]), ['rtl', 'fa']);
      assert.equal(await host(user.page).getAttribute('dir'), 'rtl');
      await user.page.getByRole('button', { name: /^گفتگو/ }).waitFor();
      assert.deepEqual(user.errors, []);
    } finally {
      await user.close();
    }
  });

  test("without data-lang: the page's <html lang>, else the browser's languages, else English", async () => {
    // host pages of our own, served at the server's origin, embedding the loader as the toolbox would
    const hostPage = (lang) => async (route) => {
      const attr = lang ? ` lang="${lang}"` : '';
      await route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><html${attr}><head><title>host</title></head><body><script>
          fetch('/dev/token', { method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ sub: 'ola', contexts: ['kai'] }) })
            .then((r) => r.json()).then(({ token }) => {
              const s = document.createElement('script');
              s.src = '/widget/dachat.js'; s.dataset.api = location.origin; s.dataset.context = 'kai'; s.dataset.token = token;
              document.body.append(s);
            });
        </script></body></html>`,
      });
    };
    for (const [browserLocale, pageLang, launcher] of [['uk-UA', '', 'Чат'], ['uk-UA', 'fr-CA', 'Discussion'], ['sw-KE', '', 'Chat']]) {
      const user = await browser({ locale: browserLocale });
      try {
        await user.page.route(`${server.url}/host-page`, hostPage(pageLang));
        await user.page.goto(`${server.url}/host-page`);
        await user.page.getByRole('button', { name: launcher, exact: true }).waitFor();
      } finally {
        await user.close();
      }
    }
  });

  test('plural forms follow the locale: Arabic has a form for two', async () => {
    const amal = await browser();
    const omar = await browser();
    try {
      await signIn(amal.page, server, { sub: 'amal', contexts: ['ma', 'mb'], context: 'ma', lang: 'ar', launcher: /^الدردشة/ });
      await signIn(omar.page, server, { sub: 'omar', contexts: ['ma', 'mb'], context: 'mb', lang: 'ar', launcher: /^الدردشة/ });
      await open(amal.page, /^الدردشة/, 'الرسالة');
      await open(omar.page, /^الدردشة/, 'الرسالة');
      await say(amal.page, 'الرسالة', '/join mb');
      await amal.page.getByRole('tab', { name: 'mb', selected: true }).waitFor();
      await amal.page.getByRole('tab', { name: 'ma' }).click();
      await say(omar.page, 'الرسالة', 'واحد');
      await amal.page.getByRole('tab', { name: 'mb، رسالة واحدة غير مقروءة' }).waitFor();
      await say(omar.page, 'الرسالة', 'اثنان');
      await amal.page.getByRole('tab', { name: 'mb، رسالتان غير مقروءتين' }).waitFor();
      await say(omar.page, 'الرسالة', 'ثلاثة');
      await amal.page.getByRole('tab', { name: 'mb، 3 رسائل غير مقروءة' }).waitFor();
    } finally {
      await amal.close();
      await omar.close();
    }
  });
});

describe('theming', () => {
  test("the launcher follows the host's colours, and data-title-badge puts the unread count in the title", async () => {
    const rana = await browser();
    const sami = await browser();
    try {
      await signIn(rana.page, server, { sub: 'rana', contexts: ['depot'], context: 'depot' });
      await rana.page.evaluate(() => {
        document.documentElement.style.setProperty('--dachat-accent', 'rgb(120, 30, 90)');
        document.documentElement.style.setProperty('--dachat-accent-fg', 'rgb(250, 250, 210)');
      });
      const launcher = rana.page.getByRole('button', { name: /^Chat/ });
      assert.deepEqual(await launcher.evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]),
        ['rgb(120, 30, 90)', 'rgb(250, 250, 210)']);
      await open(rana.page, /^Chat/, 'Message');
      await rana.page.keyboard.press('Escape');
      const title = await rana.page.title();

      await signIn(sami.page, server, { sub: 'sami', contexts: ['depot'], context: 'depot' });
      await open(sami.page, /^Chat/, 'Message');
      await say(sami.page, 'Message', 'one');
      await rana.page.waitForFunction((t) => document.title === `(1) ${t}`, title);
      await say(sami.page, 'Message', 'two');
      await rana.page.waitForFunction((t) => document.title === `(2) ${t}`, title);
      // reading them clears the count
      await open(rana.page, /^Chat/, 'Message');
      await rana.page.waitForFunction((t) => document.title === t, title);
    } finally {
      await rana.close();
      await sami.close();
    }
  });
});
