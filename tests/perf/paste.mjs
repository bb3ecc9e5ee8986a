// The composer under a 100 KB paste (issue #32: one long word of capitals
// froze a tab for ~11 s in Chromium's layout), in headless Chromium (a
// benchmark, not a test: it reports numbers and asserts nothing). For this
// build, and with DACHAT_BASE_WIDGET_DIR for an earlier one beside it:
// the time from the paste's key press to the second animation frame after
// it (the page painted again), the longest main-thread task (Long Tasks
// API), and how much the box kept. Run by `cargo xtask bench-widget`;
// prints `WIDGET …` lines.
import { browser, composer, openChat, signIn, startServer } from '../e2e/harness.mjs';

const runs = Number(process.env.RUNS || 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function paste(target, label) {
  const times = [];
  const longest = [];
  let kept = 0;
  for (let i = 0; i < runs; i++) {
    const user = await browser();
    try {
      await user.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: target.url });
      await signIn(user.page, target, { sub: `paster-${label}${i}`, contexts: ['general'], context: 'general' });
      await openChat(user.page);
      await user.page.evaluate((text) => navigator.clipboard.writeText(text), 'A'.repeat(100_000));
      await user.page.evaluate(() => {
        window.__tasks = [];
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) window.__tasks.push(entry.duration);
        }).observe({ type: 'longtask', buffered: false });
      });
      await composer(user.page).focus();
      const t0 = await user.page.evaluate(() => performance.now());
      await user.page.keyboard.press('ControlOrMeta+V');
      const painted = await user.page.evaluate(
        () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now())))),
      );
      times.push(painted - t0);
      longest.push(Math.max(0, ...(await user.page.evaluate(() => window.__tasks))));
      kept = (await composer(user.page).inputValue()).length;
    } finally {
      await user.close();
    }
  }
  console.log(
    `WIDGET ${label}paste_100kb_to_paint_ms median=${median(times).toFixed(0)} all=${times.map((x) => x.toFixed(0)).join(',')} longest_task_ms=${median(longest).toFixed(0)} box_kept=${kept}`,
  );
}

const server = await startServer();
await paste(server, '');
await server.close();
if (process.env.DACHAT_BASE_WIDGET_DIR) {
  const base = await startServer({ widgets: process.env.DACHAT_BASE_WIDGET_DIR });
  await paste(base, 'base_');
  await base.close();
}
