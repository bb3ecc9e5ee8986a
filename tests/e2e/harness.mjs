// The end-to-end harness: starts the real local server (`dachat serve`,
// built by `cargo xtask test`) on a free loopback port with fresh data, and
// drives Debian's Chromium through playwright-core. Stops what it started
// by PID. Never sleeps to synchronise: it waits on what a user would see.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const bin = process.env.DACHAT_BIN;
const widgetDir = process.env.DACHAT_WIDGET_DIR;
export const artifacts = process.env.DACHAT_E2E_ARTIFACTS || join(tmpdir(), 'dachat-e2e');
mkdirSync(artifacts, { recursive: true });

/** The built file of a logical widget name (`widget.js` → `widget.<hash>.js`), from the build's manifest. */
export function widgetFile(logical) {
  const { files } = JSON.parse(readFileSync(join(widgetDir, 'manifest.json'), 'utf8'));
  if (!files[logical]) throw new Error(`manifest.json names no ${logical}`);
  return files[logical];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function untilHealthy(url, child) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dachat serve exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('dachat serve did not become healthy within 30 s');
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Our stateful Twilio stand-in (REST only) on a free loopback port, for a
 * server with Twilio settings: provisioning works, the SDK's own connection
 * (to Twilio's real hosts) cannot.
 */
export async function startStandin() {
  const standin = process.env.DACHAT_STANDIN_BIN;
  if (!standin) throw new Error('DACHAT_STANDIN_BIN must be set (run `cargo xtask test`)');
  const child = spawn(standin, ['127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const found = /listening (http:\/\/\S+)/.exec(seen);
      if (found) resolve(found[1]);
    });
    child.on('exit', (code) => reject(new Error(`twilio-standin exited with ${code}`)));
  });
  return {
    url,
    close: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    }),
  };
}

/** Twilio settings for `dachat serve`, with the REST API at `baseUrl`. */
export function twilioSettings(baseUrl) {
  const sid = (prefix) => prefix + '0123456789abcdef0123456789abcdef';
  return {
    DACHAT_TWILIO_ACCOUNT_SID: sid('AC'),
    DACHAT_TWILIO_API_KEY: sid('SK'),
    DACHAT_TWILIO_API_SECRET: 'e2e-api-secret-not-a-real-one',
    DACHAT_TWILIO_AUTH_TOKEN: 'e2e-auth-token-not-a-real-one',
    DACHAT_TWILIO_CHAT_SERVICE_SID: sid('IS'),
    DACHAT_TWILIO_BASE_URL: baseUrl,
  };
}

/**
 * A local server with its own keys and data; `restart()` keeps both.
 * `env` adds settings (e.g. `twilioSettings(…)`); `widgets` is the widget
 * folder it serves (the build under test unless said otherwise).
 */
export async function startServer({ env = {}, widgets = widgetDir } = {}) {
  if (!bin || !widgets) throw new Error('DACHAT_BIN and DACHAT_WIDGET_DIR must be set (run `cargo xtask test`)');
  const dir = mkdtempSync(join(tmpdir(), 'dachat-e2e-'));
  const keys = join(dir, 'keys');
  await new Promise((resolve, reject) => {
    const keygen = spawn(bin, ['keygen', '--out-dir', keys], { stdio: 'ignore' });
    keygen.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`keygen exited ${code}`))));
  });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child;
  const start = async () => {
    child = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--dev-keys', keys, '--data-dir', join(dir, 'data'),
      '--widget-dir', widgets], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: 'warn', ...env } });
    await untilHealthy(url, child);
  };
  const stop = (signal) => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill(signal);
  });
  await start();
  return {
    url,
    dataDir: join(dir, 'data'),
    restart: async () => { await stop('SIGKILL'); await start(); },
    close: async () => { await stop('SIGTERM'); rmSync(dir, { recursive: true, force: true }); },
  };
}

// Only loopback resolves: nothing a test does can leave this machine.
const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'];

/**
 * A browser profile of its own (one user); collects uncaught page errors
 * (`errors`) and what the page logs as console errors (`consoleErrors`:
 * some tests cause them on purpose, e.g. with the API unreachable).
 * `extraArgs` are Chromium switches beside the harness's own (e.g. a fake
 * microphone).
 */
export async function browser({ extraArgs = [], ...options } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dachat-browser-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium', headless: true, args: [...chromiumArgs, ...extraArgs], ...options,
  });
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  const consoleErrors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  return {
    context, page, errors, consoleErrors,
    close: async () => { await context.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/**
 * Signs in as a person does on the demo host page: the form, filled in and
 * submitted; the page then embeds the loader.
 */
export async function signInWithForm(page, server, { sub, contexts, context }) {
  await page.goto(server.url);
  await page.getByLabel('Identity').fill(sub);
  await page.getByLabel('Contexts you may enter').fill(contexts.join(', '));
  await page.getByLabel("This page's context").fill(context);
  await page.getByRole('button', { name: 'Sign in and embed the chat' }).click();
  await page.getByRole('button', { name: /^Chat/ }).waitFor();
}

/** Signs in on the demo host page and lets it embed the loader. */
export async function signIn(page, server, { sub, contexts, context, moderates = [], ttl = 3600, lang = '', cache = '', launcher = /^Chat/ }) {
  const query = new URLSearchParams({ sub, contexts: contexts.join(','), context, moderates: moderates.join(','), ttl: String(ttl), lang, cache });
  await page.goto(`${server.url}/?${query}`);
  await page.getByRole('button', { name: launcher }).waitFor();
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations inside the widget's shadow host, one line each (none: []). */
export async function axeViolations(page) {
  await page.addScriptTag({ content: axeSource });
  const results = await page.evaluate(async () => {
    const host = [...document.body.children].find((el) => el.shadowRoot);
    // eslint-disable-next-line no-undef
    return axe.run({ include: [[host]] }, { resultTypes: ['violations'] });
  });
  return results.violations.map((v) =>
    `${v.id}: ${v.help} at ${v.nodes.map((n) => `${n.target.join(' ')} (${n.failureSummary})`).join('; ')}`);
}

export const composer = (page) => page.getByRole('textbox', { name: 'Message' });

/** Opens the chat from the launcher and waits until it is connected. */
export async function openChat(page) {
  await page.getByRole('button', { name: /^Chat/ }).click();
  await composer(page).waitFor();
  await page.locator('.log').waitFor();
  // "Connecting…" is gone once the chat is online
  await page.locator('.banner').waitFor({ state: 'detached' });
}

export async function send(page, text) {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}

/** The file of `piece` (its own module, the last of its files in manifest.json). */
export function pieceFile(piece) {
  const { pieces } = JSON.parse(readFileSync(join(widgetDir, 'manifest.json'), 'utf8'));
  return pieces[piece].at(-1);
}

/**
 * Sends a slash command once the commands piece is here (typing `/` fetches
 * it, and the window fetches it in the background too). Enter before it
 * arrives keeps the line in the box and says so (pieces.test.mjs covers
 * that); the tests of what a command does wait for it instead.
 */
export async function sendCommand(page, text) {
  await composer(page).fill(text);
  await page.waitForFunction((file) => performance.getEntriesByType('resource')
    .some((e) => e.name.endsWith(`/widget/${file}`) && e.responseEnd > 0), pieceFile('commands'));
  await composer(page).press('Enter');
}

/** The row of the message whose text has `text`. */
export const row = (page, text) => page.locator('.log .message:not(.pending)', { hasText: text });

/**
 * The items of the actions menu of the message with `text`, once open
 * (its button fetches the actions piece the first time).
 */
export async function openActions(page, text) {
  await row(page, text).getByRole('button', { name: 'Message actions' }).click();
  const items = row(page, text).getByRole('menu', { name: 'Message actions' }).getByRole('menuitem');
  await items.first().waitFor();
  return items;
}

/** Chooses `item` in the actions menu of the message with `text`. */
export async function messageAction(page, text, item) {
  const items = await openActions(page, text);
  await items.filter({ hasText: item }).click();
}

/** The log's messages as the user reads them: "author: text". */
export function messages(page) {
  return page.locator('.log .message:not(.pending)').evaluateAll((rows) =>
    rows.map((r) => `${r.querySelector('.author').textContent}: ${r.querySelector('.body').textContent}`));
}

/** Waits until no message is still waiting to go: each was acknowledged, or refused with a reason. */
export async function untilSettled(page, timeout) {
  await page.waitForFunction(() => {
    const root = [...document.body.children].find((el) => el.shadowRoot).shadowRoot;
    return [...root.querySelectorAll('.log .message.pending .status')].every((s) => s.textContent.startsWith('Not sent: '));
  }, null, { timeout });
}

/**
 * Message bodies that have troubled chat windows (quoted link titles,
 * runaway emphasis and brackets, deep quotes, HTML, bidi overrides, control
 * characters, long code blocks), each ending with `marker`: the soak test
 * and the widget benchmark send them one after another.
 */
export const hostile = [
  (m) => `[x](https://a.example/ "x\\" y") ${m}`,
  (m) => `**bold** _it_ \`code\` ~~no~~ ${m}`,
  (m) => `<script>alert(1)</script><img src=x onerror=alert(1)> ${m}`,
  (m) => `${'*'.repeat(300)} ${m}`,
  (m) => `${'[a]('.repeat(200)} ${m}`,
  (m) => `${'> '.repeat(60)}deep ${m}`,
  (m) => `${'_a '.repeat(400)}${m}`,
  (m) => `<https://a.example/${'<'.repeat(100)}> &#x0; &amp; ${m}`,
  (m) => `\u202eevil\u202c \u0000 \t ${'👍'.repeat(50)} ${m}`,
  (m) => `\`\`\`\n${'code\n'.repeat(50)}\`\`\`\n${m}`,
  (m) => `- a\n  - b\n    - c\n${'1. x\n'.repeat(40)}${m}`,
  (m) => `plain ${m}`,
];
