// Widget performance in headless Chromium (a benchmark, not a test: it
// reports numbers and asserts nothing):
// - click on the launcher → chat interactive (composer shown, connected),
//   cold (fresh profile, empty cache) and warm (same profile, reloaded);
// - paging 1,000 messages into the open window: the longest main-thread
//   task (Long Tasks API) and the time taken;
// - a weak link (DevTools emulation: 50 kbps both ways, 800 ms round
//   trips): a first visit, time and bytes to the launcher and to a usable
//   window (the field issue's goal: 25 s), then a repeat visit: time to the
//   launcher (goal 1 s) and to the room's last 50 messages from the
//   device's copy (goal 3 s after the click); the first open after the
//   pointer rested 2 s on the launcher (intent prefetch); and the Twilio
//   path's first visit (the server's REST through the Twilio stand-in):
//   shell and composer, then the SDK loaded and its client built;
// - with DACHAT_BASE_WIDGET_DIR (an earlier build, e.g. of 25393c8 in a
//   worktree), click → interactive cold and warm for that build too, in
//   the same run, against the same server binary;
// - a soak: 500 varied hostile messages typed and sent one after another
//   through the window (and a 100 KB fill, which the box cuts to 1,600
//   characters since issue #32; it refused it before sending until then): the
//   longest main-thread task (goal: none over 200 ms) and the time taken.
// Run by `cargo xtask bench-widget`; prints `WIDGET …` lines.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { browser, composer, hostile, openChat, signIn, startServer, startStandin, twilioSettings, untilSettled } from '../e2e/harness.mjs';

/** Records the page's main-thread tasks over 50 ms (Long Tasks API) in `window.__tasks`. */
async function observeLongTasks(page) {
  await page.evaluate(() => {
    window.__tasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__tasks.push({ start: entry.startTime, ms: entry.duration });
    }).observe({ type: 'longtask', buffered: false });
  });
}

const server = await startServer();
const runs = Number(process.env.RUNS || 5);

async function clickToInteractive(page) {
  const t0 = await page.evaluate(() => performance.now());
  await page.getByRole('button', { name: /^Chat/ }).click();
  await composer(page).waitFor();
  await page.locator('.banner').waitFor({ state: 'detached' });
  return (await page.evaluate(() => performance.now())) - t0;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Click → interactive, cold and warm, `runs` times each, against `target`; printed with `label`. */
async function coldAndWarm(target, label) {
  const cold = [];
  const warm = [];
  for (let i = 0; i < runs; i++) {
    const user = await browser();
    try {
      await signIn(user.page, target, { sub: `perf-${label}-${i}`, contexts: ['general'], context: 'general' });
      cold.push(await clickToInteractive(user.page));
      // minimise, forget the open state, reload: the code is in the HTTP cache now
      await user.page.keyboard.press('Escape');
      await signIn(user.page, target, { sub: `perf-${label}-${i}`, contexts: ['general'], context: 'general' });
      warm.push(await clickToInteractive(user.page));
    } finally {
      await user.close();
    }
  }
  console.log(`WIDGET ${label}click_to_interactive_cold_ms median=${median(cold).toFixed(0)} all=${cold.map((x) => x.toFixed(0)).join(',')}`);
  console.log(`WIDGET ${label}click_to_interactive_warm_ms median=${median(warm).toFixed(0)} all=${warm.map((x) => x.toFixed(0)).join(',')}`);
}
// the earlier build (its own server: same binary, its widget folder) beside this one
const base = process.env.DACHAT_BASE_WIDGET_DIR
  ? await startServer({ widgets: process.env.DACHAT_BASE_WIDGET_DIR })
  : undefined;
if (base) await coldAndWarm(base, 'base_');
await coldAndWarm(server, '');

// 1,000 messages, posted over the local provider's socket by the page itself.
async function paging(target, label) {
  const writer = await browser();
  const reader = await browser();
  try {
    await signIn(writer.page, target, { sub: 'writer', contexts: ['group-perf'], context: 'group-perf' });
    await writer.page.evaluate(async () => {
      const session = await (await fetch('/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: window.dachatDemo.token, context: 'group-perf' }) })).json();
      const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/v1/local/ws?token=${session.accessToken}`);
      await new Promise((resolve) => { ws.onopen = resolve; });
      let acks = 0;
      const done = new Promise((resolve) => {
        ws.onmessage = (e) => { if (JSON.parse(e.data).type === 'ack' && ++acks === 1000) resolve(); };
      });
      ws.send(JSON.stringify({ type: 'join', room: 'group-perf' }));
      for (let i = 0; i < 1000; i++) {
        ws.send(JSON.stringify({ type: 'send', room: 'group-perf', clientId: `p${i}`, body: `message **${i}** with a [link](https://example.org/${i})` }));
      }
      await done;
      ws.close();
    });
    await signIn(reader.page, target, { sub: 'reader', contexts: ['group-perf'], context: 'group-perf' });
    await observeLongTasks(reader.page);
    await openChat(reader.page);
    await reader.page.getByText('message 999 with a link').waitFor();
    const t0 = await reader.page.evaluate(() => performance.now());
    // found by its class, not by role: Playwright's role engine computes the
    // accessible name of every button in the window on each query (one per
    // message since each has an actions button), on the page's main thread,
    // which made paging 1,000 messages measure 21 s instead of 4.4 s
    const older = reader.page.locator('.log > button.older');
    while (await older.count()) {
      const before = await reader.page.locator('.log .message').count();
      await older.click();
      await reader.page.waitForFunction((n) => {
        const host = [...document.body.children].find((el) => el.shadowRoot);
        return host.shadowRoot.querySelectorAll('.log .message').length > n;
      }, before);
    }
    const total = await reader.page.locator('.log .message').count();
    const ms = (await reader.page.evaluate(() => performance.now())) - t0;
    // only the tasks of paging: opening the window (fetching and compiling the
    // WASM, the first page) is measured by the click-to-interactive numbers
    const tasks = await reader.page.evaluate((t0) => window.__tasks.filter((t) => t.start >= t0).map((t) => t.ms), t0);
    const longest = Math.max(0, ...tasks);
    const opening = await reader.page.evaluate((t0) => Math.max(0, ...window.__tasks.filter((t) => t.start < t0).map((t) => t.ms)), t0);
    console.log(`WIDGET ${label}paging messages=${total} pages=${Math.ceil(total / 20)} total_ms=${ms.toFixed(0)} longest_task_ms=${longest.toFixed(0)} long_tasks=${tasks.length} longest_task_while_opening_ms=${opening.toFixed(0)}`);
  } finally {
    await writer.close();
    await reader.close();
  }
}

await paging(server, '');
if (base) await paging(base, 'base_');

// A weak link: 50 kbps both ways, 800 ms round trips (DevTools emulation).
// The first visit (empty cache), then a repeat visit (the window's files
// in the HTTP cache, the room's last 50 messages in the device's copy).
// The host page is a file the server serves beside the widget for the
// run (playwright's request routing would turn the HTTP cache off).
const weak = await browser();
const hostFile = join(process.env.DACHAT_WIDGET_DIR, 'weak-host.html');
try {
  const room = 'weak-room';
  await signIn(weak.page, server, { sub: 'weak-user', contexts: [room], context: room });
  // 60 messages in the room (over the local provider's socket), before the visit
  await weak.page.evaluate(async (room) => {
    const session = await (await fetch('/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: window.dachatDemo.token, context: room }) })).json();
    const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/v1/local/ws?token=${session.accessToken}`);
    await new Promise((resolve) => { ws.onopen = resolve; });
    let acks = 0;
    const done = new Promise((resolve) => { ws.onmessage = (e) => { if (JSON.parse(e.data).type === 'ack' && ++acks === 60) resolve(); }; });
    ws.send(JSON.stringify({ type: 'join', room }));
    for (let i = 0; i < 60; i++) ws.send(JSON.stringify({ type: 'send', room, clientId: `w${i}`, body: `weak ${i}` }));
    await done;
    ws.close();
  }, room);
  // the sign-in above is the host's business; the visits start from here, cache empty
  const token = await weak.page.evaluate(() => window.dachatDemo.token);
  const host = `<!doctype html><html lang="en"><head><link rel="icon" href="data:,"><title>weak link</title></head>
    <body><p>host page</p><script src="${server.url}/widget/dachat.js" data-api="${server.url}"
    data-context="${room}" data-token="${token}"></script></body></html>`;
  writeFileSync(hostFile, host);
  await weak.page.evaluate(() => localStorage.removeItem('dachat:open'));
  const cdp = await weak.context.newCDPSession(weak.page);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 800, downloadThroughput: 50_000 / 8, uploadThroughput: 50_000 / 8,
  });
  let bytes = 0;
  const files = new Map();
  cdp.on('Network.responseReceived', (e) => { files.set(e.requestId, e.response.url.split('/').pop()); });
  const fetched = [];
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; fetched.push(`${files.get(e.requestId)}:${e.encodedDataLength}`); });
  const launcher = weak.page.getByRole('button', { name: /^Chat/ });

  const t0 = Date.now();
  await weak.page.goto(`${server.url}/widget/weak-host.html`, { waitUntil: 'commit' });
  await launcher.waitFor({ timeout: 120_000 });
  const launcherMs = Date.now() - t0;
  const launcherBytes = bytes;
  const t1 = Date.now();
  await launcher.click();
  await composer(weak.page).waitFor({ timeout: 120_000 });
  await weak.page.locator('.banner').waitFor({ state: 'detached', timeout: 120_000 });
  const windowMs = Date.now() - t1;
  console.log(`WIDGET weak_link_first_visit launcher_ms=${launcherMs} launcher_bytes=${launcherBytes} click_to_usable_ms=${windowMs} total_bytes=${bytes}`);

  // the device's copy is written a moment after the history arrives; then minimise and come back
  // (checked again after each animation frame: waitForFunction does not await a promise)
  await weak.page.evaluate(async (key) => {
    for (;;) {
      const db = await new Promise((resolve) => { const r = indexedDB.open('dachat'); r.onsuccess = () => resolve(r.result); });
      const got = await new Promise((resolve) => { const r = db.transaction('kv').objectStore('kv').get(key); r.onsuccess = () => resolve(r.result); });
      db.close();
      if ((got || []).length === 50) return;
      await new Promise((r) => requestAnimationFrame(r));
    }
  }, `h/${room}`);
  // the pieces the first visit fetches in the background: all in, so that
  // none is still arriving during the repeat visit (a real one comes later)
  const { pieces } = JSON.parse(readFileSync(join(process.env.DACHAT_WIDGET_DIR, 'manifest.json'), 'utf8'));
  await weak.page.waitForFunction((files) => files.every((f) => performance.getEntriesByType('resource')
    .some((e) => e.name.endsWith(`/widget/${f}`) && e.responseEnd > 0)), [...pieces.markdown, ...pieces.commands, ...pieces.notify, ...pieces.attach], { timeout: 120_000 });
  await weak.page.keyboard.press('Escape');
  bytes = 0;
  fetched.length = 0;
  const t2 = Date.now();
  await weak.page.reload({ waitUntil: 'commit' });
  await launcher.waitFor({ timeout: 120_000 });
  const repeatLauncherMs = Date.now() - t2;
  const repeatLauncherBytes = bytes;
  const repeatLauncherFiles = fetched.join(',');
  const t3 = Date.now();
  await launcher.click();
  // the newest and the 50th newest, from the device's copy
  await weak.page.locator('.log .message').getByText('weak 59', { exact: true }).waitFor({ timeout: 120_000 });
  // (in the log, above the fold: off-screen rows are not painted, content-visibility)
  await weak.page.locator('.log .message').getByText('weak 10', { exact: true }).waitFor({ state: 'attached', timeout: 120_000 });
  const cachedMs = Date.now() - t3;
  const fromCache = await weak.page.getByText('Saved messages: not up to date yet.').count();
  await weak.page.locator('.banner').waitFor({ state: 'detached', timeout: 120_000 });
  const repeatUsableMs = Date.now() - t3;
  console.log(`WIDGET weak_link_repeat_visit launcher_ms=${repeatLauncherMs} launcher_bytes=${repeatLauncherBytes} launcher_files=${repeatLauncherFiles} click_to_50_messages_ms=${cachedMs} shown_from_cache=${fromCache} click_to_usable_ms=${repeatUsableMs} total_bytes=${bytes}`);
} finally {
  rmSync(hostFile, { force: true });
  await weak.close();
}

/** A fresh browser on the weak link (50 kbps, 800 ms), cache empty, with a byte counter. */
async function onWeakLink() {
  const user = await browser();
  const cdp = await user.context.newCDPSession(user.page);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 800, downloadThroughput: 50_000 / 8, uploadThroughput: 50_000 / 8,
  });
  const counter = { bytes: 0 };
  cdp.on('Network.loadingFinished', (e) => { counter.bytes += e.encodedDataLength; });
  return { ...user, counter };
}

/** A host page embedding the loader for `target`, served beside the widget; its URL. */
async function weakHost(target, name, sub, room) {
  const signer = await browser();
  try {
    await signIn(signer.page, target, { sub, contexts: [room], context: room });
    const token = await signer.page.evaluate(() => window.dachatDemo.token);
    writeFileSync(join(process.env.DACHAT_WIDGET_DIR, name), `<!doctype html><html lang="en"><head><link rel="icon" href="data:,">
      <title>weak link</title></head><body><p>host page</p><script src="${target.url}/widget/dachat.js" data-api="${target.url}"
      data-context="${room}" data-token="${token}"></script></body></html>`);
    return `${target.url}/widget/${name}`;
  } finally {
    await signer.close();
  }
}

// First open after intent: the pointer rests on the launcher 2 s before the click.
{
  const hostName = 'weak-intent.html';
  const url = await weakHost(server, hostName, 'intent-user', 'intent-room');
  const user = await onWeakLink();
  try {
    await user.page.goto(url, { waitUntil: 'commit' });
    const launcher = user.page.getByRole('button', { name: /^Chat/ });
    await launcher.waitFor({ timeout: 120_000 });
    await launcher.hover();
    await new Promise((r) => setTimeout(r, 2000)); // the benchmark's scenario: a 2 s rest, not a synchronisation
    const t0 = Date.now();
    await launcher.click();
    await composer(user.page).waitFor({ timeout: 120_000 });
    await user.page.locator('.banner').waitFor({ state: 'detached', timeout: 120_000 });
    console.log(`WIDGET weak_link_after_intent click_to_usable_ms=${Date.now() - t0} total_bytes=${user.counter.bytes}`);
  } finally {
    rmSync(join(process.env.DACHAT_WIDGET_DIR, hostName), { force: true });
    await user.close();
  }
}

// The Twilio path's first visit: the server provisions through the
// Twilio stand-in and answers provider "twilio"; the window shows its
// shell and composer, then fetches the SDK and builds its client (which
// cannot reach Twilio from here: "Retrying…" is the sign it was built).
{
  const standin = await startStandin();
  const twilio = await startServer({ env: twilioSettings(standin.url) });
  const hostName = 'weak-twilio.html';
  try {
    const url = await weakHost(twilio, hostName, 'twilio-user', 'shipment-1');
    const user = await onWeakLink();
    try {
      await user.page.goto(url, { waitUntil: 'commit' });
      const launcher = user.page.getByRole('button', { name: /^Chat/ });
      await launcher.waitFor({ timeout: 120_000 });
      user.counter.bytes = 0;
      const t0 = Date.now();
      await launcher.click();
      await composer(user.page).waitFor({ timeout: 120_000 });
      await user.page.getByRole('tab', { name: /shipment-1/ }).waitFor({ timeout: 120_000 });
      const shellMs = Date.now() - t0;
      const shellBytes = user.counter.bytes;
      await user.page.waitForFunction(() => typeof globalThis.Twilio?.Conversations?.Client === 'function', null, { timeout: 180_000 });
      const sdkMs = Date.now() - t0;
      await user.page.locator('.banner').getByText('Cannot reach the chat service. Retrying…').waitFor({ timeout: 180_000 });
      console.log(`WIDGET weak_link_twilio_first_visit click_to_shell_and_composer_ms=${shellMs} shell_bytes=${shellBytes} click_to_sdk_loaded_ms=${sdkMs} click_to_client_built_ms=${Date.now() - t0} total_bytes=${user.counter.bytes}`);
    } finally {
      await user.close();
    }
  } finally {
    rmSync(join(process.env.DACHAT_WIDGET_DIR, hostName), { force: true });
    await twilio.close();
    await standin.close();
  }
}

async function soak(target, label) {
  const soak = await browser();
  try {
    await signIn(soak.page, target, { sub: 'soak', contexts: ['group-soak'], context: 'group-soak' });
    await observeLongTasks(soak.page);
    await openChat(soak.page);
    const t0 = await soak.page.evaluate(() => performance.now());
    for (let i = 0; i < 500; i++) {
      const text = i === 250 ? 'x'.repeat(100_000) : hostile[i % hostile.length](`m${i}z`);
      await composer(soak.page).fill(text);
      await composer(soak.page).press('Enter');
      if (i === 250) await composer(soak.page).fill('');
    }
    await untilSettled(soak.page, 120_000);
    const ms = (await soak.page.evaluate(() => performance.now())) - t0;
    const tasks = await soak.page.evaluate((t0) => window.__tasks.filter((t) => t.start >= t0).map((t) => t.ms), t0);
    const shown = await soak.page.locator('.log .message:not(.pending)').count();
    console.log(`WIDGET ${label}soak messages=500 shown=${shown} total_ms=${ms.toFixed(0)} longest_task_ms=${Math.max(0, ...tasks).toFixed(0)} long_tasks=${tasks.length} over_200ms=${tasks.filter((t) => t > 200).length}`);
  } finally {
    await soak.close();
  }
}

await soak(server, '');
if (base) {
  await soak(base, 'base_');
  await base.close();
}
await server.close();
