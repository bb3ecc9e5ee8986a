/* DAChat loader: a launcher button in a Shadow DOM; the chat window (WASM)
   is fetched only when first opened, or at once if it was open on the last
   page view. API: DAChat('open', {api, context, token, tokenProvider}),
   DAChat('setToken', jwt), DAChat('setLocale', lang), DAChat('close'),
   DAChat('logout') (closes the chat and deletes what it kept on this device:
   the IndexedDB database `dachat`, the remembered tabs); calls made before
   this loads are queued. Never throws into the host page. data-cache="off":
   the window keeps nothing on the device.
   The network path of a first open (issue #34): at the click the window's
   core and /v1/session start together (the window takes the answer, and
   starts a Twilio session's SDK once it runs). Intent prefetch: a pointer over,
   focus on or touch of the launcher starts the core, except when the
   connection asks to save data (Save-Data, 2G); nothing is fetched while
   the page is merely idle.
   The language: data-lang, else the page's <html lang>, else the browser's;
   L (filled in by `cargo xtask widget` from widget/locales) holds each
   locale's catalog file and the launcher's words. Theming: the host's CSS
   variables --dachat-accent, --dachat-accent-fg, --dachat-font, --dachat-bg,
   --dachat-fg. data-title-badge puts the unread count in the page title.
   Minified by `cargo xtask` (terser). */
((w, d) => {
  let s = d.currentScript, base = s.src.replace(/[^/]*$/, ''), cfg = { ...s.dataset };
  let q = w.DAChat?.q || [], ls = w.localStorage, L = "@LOCALES@", C = {}, mod, mounted, h, btn, label, badge, panel, note, lang, unread = 0, shown = 0;
  // the first of the page's and the browser's languages we speak
  let pick = a => [a].flat().map(x => (x || '').toLowerCase().split('-')[0]).find(x => L[x]) || 'en';
  let word = i => L[lang][i];
  let catalog = l => C[l] ||= L[l][0] ? fetch(base + L[l][0]).then(r => r.ok ? r.text() : '', () => '') : Promise.resolve('');
  let say = i => { shown = i; note.textContent = i ? word(i) : ''; note.hidden = !i };
  let count = n => {
    unread = n;
    badge.textContent = n; badge.hidden = !n;
    n ? btn.setAttribute('aria-label', `${word(1)} (${word(2)} ${n})`) : btn.removeAttribute('aria-label');
    if (cfg.titleBadge != null) d.title = (n ? `(${n}) ` : '') + d.title.replace(/^\(\d+\) /, '');
  };
  let locale = l => {
    lang = pick(l);
    h.lang = lang; h.dir = /^(ar|fa)$/.test(lang) ? 'rtl' : 'ltr';
    label.textContent = word(1); count(unread);
    say(shown);
  };
  let show = on => {
    panel.hidden = !on; btn.setAttribute('aria-expanded', !!on);
    try { ls.setItem('dachat:open', on ? 1 : '') } catch {}
  };
  // the window's core: its glue, which fetches the WASM and the JS it imports
  let core = () => mod ||= import(base + 'widget.js').then(m => m.default().then(() => m)).catch(e => { mod = 0; throw e });
  let c = navigator.connection, thrift = c?.saveData || /2g/.test(c?.effectiveType);
  // the first open's /v1/session, beside the core (the window asks again if this fails)
  let session = () => {
    let id;
    try { ls.setItem('dachat:device', id = ls.getItem('dachat:device') || Math.random().toString(36).slice(2)) } catch {}
    return fetch((cfg.api || '').replace(/\/$/, '') + '/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: cfg.token, context: cfg.context, deviceId: id }) }).then(r => r.ok ? r.text() : '', () => '');
  };
  let open = o => {
    Object.assign(cfg, o);
    if (!cfg.token || !cfg.context) return say(3);
    say(0); show(1);
    let s = !mounted && session(), l = lang;
    Promise.all([core(), catalog(l)])
      .then(([m, text]) => { mounted = 1; m.open(panel, { ...cfg, lang: l, catalog: text, session: s || undefined }) }, () => {
        show(0); say(4);
      });
  };
  let logout = () => {
    show(0); count(0); cfg.token = '';
    try { Object.keys(ls).map(k => /^dachat:(tabs|open)/.test(k) && ls.removeItem(k)) } catch {}
    // the window lets go of its database first, so that it can be deleted
    (mod || Promise.resolve()).then(m => m?.close()).finally(() => w.indexedDB?.deleteDatabase('dachat'));
  };
  let run = (c, a) => {
    try {
      c == 'logout' ? logout() : c == 'open' ? open(a) : c == 'close' ? show(0) : c == 'setToken' ? cfg.token = a : c == 'setLocale' && locale(a);
      let l = lang;
      mod?.then(m => c == 'close' ? m.close() : c == 'setToken' ? m.setToken(a)
        : c == 'setLocale' && catalog(l).then(text => l == lang && m.setLocale(l, text)));
    } catch { say(4) }
  };
  let init = () => {
    h = d.createElement('div');
    let r = h.attachShadow({ mode: 'open' });
    // The widget positions its own window (its styles join this shadow root).
    // Sizes are absolute, so the host page's inherited font cannot change them;
    // selectors are narrow, since the widget's elements join this shadow root.
    // Logical sides: the launcher sits at the end of the line (left in Arabic).
    // (one colour in light and dark: white on #0b5cad reads on either page)
    r.innerHTML = '<style>:host{all:initial;position:fixed;inset-inline-end:1em;bottom:1em;z-index:99999}' +
      '[aria-expanded]{cursor:pointer;padding:.7em 1.2em;border:0;border-radius:2em;background:var(--dachat-accent,#0b5cad);color:var(--dachat-accent-fg,#fff);font:600 16px var(--dachat-font,sans-serif)}' +
      'b{margin-inline-start:.4em;background:#b3261e;color:#fff;border-radius:1em;padding:0 .4em}' +
      'p[role]{position:absolute;inset-inline-end:0;bottom:3em;width:15em;margin:0;background:var(--dachat-bg,#fff);color:var(--dachat-fg,#222);padding:.5em;font:14px var(--dachat-font,sans-serif)}</style>' +
      '<div hidden></div><p role="status" hidden></p><button aria-expanded="false"><span></span><b hidden></b></button>';
    [panel, note, btn, label, badge] = ['div', 'p', 'button', 'span', 'b'].map(x => r.querySelector(x));
    locale([cfg.lang, d.documentElement.lang, ...navigator.languages]);
    btn.onclick = () => panel.hidden ? open() : show(0);
    // intent: the pointer over, focus on or a touch of the launcher starts the core
    thrift || ['pointerenter', 'focus', 'touchstart'].map(e => btn.addEventListener(e, () => core().catch(() => {}), { once: true, passive: true }));
    // (a handler that returned false would cancel Enter on the button)
    h.onkeydown = e => { e.key == 'Escape' && !panel.hidden && (show(0), btn.focus()) };
    w.addEventListener('dachat:unread', e => count(+e.detail));
    d.body.append(h);
    w.DAChat = run;
    q.map(a => run(...a));
    ls?.getItem('dachat:open') && open();
  };
  d.body ? init() : d.addEventListener('DOMContentLoaded', init);
})(window, document);
