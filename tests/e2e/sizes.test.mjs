// Sizes are deterministic, so they are checked here: the loader every page
// pays for, and the widget fetched on first open.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { widgetFile } from './harness.mjs';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';

const dist = process.env.DACHAT_WIDGET_DIR;
const gzip = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const brotli = (file) => brotliCompressSync(readFileSync(join(dist, file)), {
  params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
}).length;

// Every page pays for the loader. 1,000 B until issue #15 gave it the
// launcher's words in all eight languages (so the launcher needs no
// request of its own: ~980 B of it, with the catalogs' names), the choice
// of language, the theme variables and the title badge (~420 B).
const LOADER_BUDGET = 2_560;

test(`the loader is at most ${LOADER_BUDGET} bytes gzipped`, () => {
  const size = gzip('dachat.js');
  console.log(`dachat.js: ${size} B gzip, ${brotli('dachat.js')} B brotli`);
  assert.ok(size <= LOADER_BUDGET, `dachat.js is ${size} B gzip`);
});

// A locale's catalog is fetched beside the widget on first open in that
// language; English is compiled in.
test('each catalog other than English is a hashed file of at most 4 KB brotli', () => {
  const { files } = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));
  const catalogs = Object.keys(files).filter((logical) => /^[a-z]{2}\.txt$/.test(logical));
  assert.deepEqual(catalogs.sort(), ['ar', 'de', 'el', 'es', 'fa', 'fr', 'uk'].map((l) => `${l}.txt`));
  const loader = readFileSync(join(dist, 'dachat.js'), 'utf8');
  for (const logical of catalogs) {
    const size = brotli(files[logical]);
    console.log(`${files[logical]}: ${size} B brotli`);
    assert.ok(size <= 4096, `${logical} is ${size} B brotli`);
    assert.ok(loader.includes(`"${files[logical]}"`), `the loader names ${files[logical]}`);
  }
});

// The budget for what every open downloads in English: 140,000 B brotli
// (issue #15 raised it from 120,000 for the field features; the
// notification panel of #14 is the first to use it). History (see
// BENCHMARKS.md): 203 KB with pulldown-cmark and serde; 134 KB with the
// widget's own markdown parser and serde-free JSON; under 120 KB since the
// replacement wasm-streams, hand-built message bodies and wasm-opt's short
// import names; 124.6 KB with the notification panel; 130.2 KB with the
// message catalogs (#15); 138.1 KB with the offline-first cache and outbox.
const WIDGET_BUDGET = 140_000;


test(`the widget (WASM + JS glue + shim + store) stays within ${WIDGET_BUDGET} bytes brotli`, () => {
  const wasm = brotli(widgetFile('widget_bg.wasm'));
  const glue = brotli(widgetFile('widget.js'));
  const shim = brotli(widgetFile('twilio.js'));
  const store = brotli(widgetFile('store.js'));
  const total = wasm + glue + shim + store;
  console.log(`widget: wasm ${wasm} B + glue ${glue} B + shim ${shim} B + store ${store} B = ${total} B brotli (budget ${WIDGET_BUDGET})`);
  assert.ok(total <= WIDGET_BUDGET, `widget is ${total} B brotli`);
});

// Reported apart from the widget's size; fetched only for Twilio sessions.
test('the Twilio SDK build is shipped beside the widget', () => {
  const file = widgetFile('twilio-conversations.min.js');
  const raw = readFileSync(join(dist, file)).length;
  console.log(`${file}: ${raw} B raw, ${gzip(file)} B gzip, ${brotli(file)} B brotli`);
  assert.ok(raw > 100_000, 'the real SDK build, not a placeholder');
});

// `dachat serve` sends these to browsers that accept them (ServeDir's
// precompressed files): each must be exactly its original.
test('every shipped file has brotli and gzip forms that decompress to it', () => {
  const { files } = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));
  for (const file of ['dachat.js', ...Object.values(files)]) {
    const original = readFileSync(join(dist, file));
    assert.ok(brotliDecompressSync(readFileSync(join(dist, `${file}.br`))).equals(original), `${file}.br`);
    assert.ok(gunzipSync(readFileSync(join(dist, `${file}.gz`))).equals(original), `${file}.gz`);
  }
});
