// @ts-check
// The composer's file hooks (`src/view/pieces.rs`): the attach button (a
// native file input in a label, so the picker opens at once, whether the
// attachment piece has arrived or not), the microphone button (when the
// browser can record), the form's paste and the window's drop of files,
// each handed to `take`. A file dropped anywhere on the window is never
// opened by the browser in the host's tab. In JS because these few lines
// cost the core WASM 1 KB brotli through web-sys (measured).

/** The window's drop handler, by its root (the latest composer's). */
const drops = new WeakMap();

/**
 * Adds the attach button to the composer `form` and listens for files.
 * @param {HTMLFormElement} form the composer
 * @param {string} accept the allowed types, as the input's `accept`
 * @param {string} label the button's name
 * @param {(files: File[]) => void} take gets the files picked, pasted or
 *   dropped; none when the microphone button is pressed (record a voice message)
 * @param {string} micLabel the microphone button's name (empty: no button)
 */
export function hookFiles(form, accept, label, take, micLabel) {
  const button = document.createElement('label');
  button.className = 'attach';
  button.title = label;
  const input = button.appendChild(document.createElement('input'));
  input.type = 'file';
  input.multiple = true;
  input.accept = accept;
  input.setAttribute('aria-label', label);
  // a plus, not an emoji: every font has one
  button.append('+');
  form.prepend(button);
  if (micLabel && window.MediaRecorder && navigator.mediaDevices) {
    const mic = document.createElement('button');
    mic.type = 'button';
    mic.className = 'mic';
    mic.setAttribute('aria-label', micLabel);
    mic.title = micLabel;
    // the record sign (a microphone emoji needs a font many machines lack)
    mic.textContent = '●';
    mic.onclick = () => take([]);
    button.after(mic);
  }
  /** @param {Event} event */
  const hook = (event) => {
    // allows the drop, which then never opens a file in the tab (the files
    // themselves come with the drop)
    if (event.type === 'dragover') {
      event.preventDefault();
      return;
    }
    const files = [
      ...((event instanceof DragEvent && event.dataTransfer?.files)
        || (event instanceof ClipboardEvent && event.clipboardData?.files)
        || (event.target === input && input.files)
        || []),
    ];
    if (files.length) {
      // a pasted picture does not go into the text too
      event.preventDefault();
      take(files);
    }
    // the same file can be picked again
    if (event.target === input) input.value = '';
  };
  for (const type of ['change', 'paste']) form.addEventListener(type, hook);
  // drops anywhere on the window, once the form is in it (it is handed
  // over before it is placed); a window drawn again keeps one listener
  queueMicrotask(() => {
    const root = form.closest('.chat') || form;
    if (!drops.has(root)) {
      /** @param {Event} event */
      const dropped = (event) => drops.get(root)?.(event);
      for (const type of ['dragover', 'drop']) root.addEventListener(type, dropped);
    }
    drops.set(root, hook);
  });
}
