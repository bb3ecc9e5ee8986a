/* DAChat loader: a launcher button in a Shadow DOM; the chat window (WASM)
   is fetched only when first opened, or at once if it was open on the last
   page view. API: DAChat('open', {api, context, token, tokenProvider}),
   DAChat('setToken', jwt), DAChat('close'); calls made before this loads
   are queued. Never
   throws into the host page. Minified by `cargo xtask` (terser). */
((w, d) => {
  let s = d.currentScript, base = s.src.replace(/[^/]*$/, ''), cfg = { ...s.dataset };
  let q = w.DAChat?.q || [], ls = w.localStorage, mod, btn, badge, panel, note;
  let say = t => { note.textContent = t; note.hidden = !t };
  let show = on => {
    panel.hidden = !on; btn.setAttribute('aria-expanded', !!on);
    try { ls.setItem('dachat:open', on ? 1 : '') } catch {}
  };
  let open = o => {
    Object.assign(cfg, o);
    if (!cfg.token || !cfg.context) return say('Sign in to use the chat.');
    say(''); show(1);
    (mod ||= import(base + 'widget.js').then(m => m.default().then(() => m)))
      .then(m => m.open(panel, cfg.api || '', cfg.context, cfg.token, cfg.tokenProvider), () => {
        mod = 0; show(0); say('Chat could not load.');
      });
  };
  let run = (c, a) => {
    try {
      c == 'open' ? open(a) : c == 'close' ? show(0) : c == 'setToken' && (cfg.token = a);
      mod?.then(m => c == 'close' ? m.close() : c == 'setToken' && m.setToken(a));
    } catch { say('Chat failed. Reload.') }
  };
  let init = () => {
    let h = d.createElement('div'), r = h.attachShadow({ mode: 'open' });
    // The widget positions its own window (its styles join this shadow root).
    // Sizes are absolute, so the host page's inherited font cannot change them;
    // selectors are narrow, since the widget's elements join this shadow root.
    r.innerHTML = '<style>:host{all:initial;position:fixed;right:1em;bottom:1em;z-index:99999}' +
      '[aria-expanded]{cursor:pointer;padding:.7em 1.2em;border:0;border-radius:2em;background:#0b5cad;color:#fff;font:600 16px sans-serif}' +
      'b{margin-left:.4em;background:#b3261e;border-radius:1em;padding:0 .4em}' +
      'p[role]{position:absolute;right:0;bottom:3em;width:15em;margin:0;background:#fff;color:#222;padding:.5em;font:14px sans-serif}</style>' +
      '<div hidden></div><p role="status" hidden></p><button aria-expanded="false">Chat <b hidden></b></button>';
    [panel, note, btn, badge] = ['div', 'p', 'button', 'b'].map(x => r.querySelector(x));
    btn.onclick = () => panel.hidden ? open() : show(0);
    // (a handler that returned false would cancel Enter on the button)
    h.onkeydown = e => { e.key == 'Escape' && !panel.hidden && (show(0), btn.focus()) };
    w.addEventListener('dachat:unread', e => {
      badge.textContent = +e.detail + ' unread'; badge.hidden = !+e.detail;
    });
    d.body.append(h);
    w.DAChat = run;
    q.map(a => run(...a));
    ls?.getItem('dachat:open') && open();
  };
  d.body ? init() : d.addEventListener('DOMContentLoaded', init);
})(window, document);
