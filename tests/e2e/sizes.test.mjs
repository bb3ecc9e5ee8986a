// Sizes are deterministic, so they are checked here: the loader every page
// pays for, and the widget fetched on first open.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CORE_BUDGET, LOADER_BUDGET_GZIP, PIECE_BUDGETS } from './budgets.mjs';
import { widgetFile } from './harness.mjs';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';

const dist = process.env.DACHAT_WIDGET_DIR;
const gzip = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const brotli = (file) => brotliCompressSync(readFileSync(join(dist, file)), {
  params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
}).length;

test(`the loader is at most ${LOADER_BUDGET_GZIP} bytes gzipped`, () => {
  const size = gzip('dachat.js');
  console.log(`dachat.js: ${size} B gzip, ${brotli('dachat.js')} B brotli`);
  assert.ok(size <= LOADER_BUDGET_GZIP, `dachat.js is ${size} B gzip`);
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

const { core, pieces } = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));

test(`the core (glue, WASM, store, composer file hooks) stays within ${CORE_BUDGET} bytes brotli`, () => {
  const sizes = core.map((file) => [file, brotli(file)]);
  const total = sizes.reduce((sum, [, size]) => sum + size, 0);
  console.log(`core: ${sizes.map(([file, size]) => `${file} ${size} B`).join(' + ')} = ${total} B brotli (budget ${CORE_BUDGET})`);
  assert.deepEqual(core.map((f) => f.replace(/\.[0-9a-f]{16}\./, '.')).sort(),
    ['files.js', 'store.js', 'widget.js', 'widget_bg.wasm']);
  assert.ok(total <= CORE_BUDGET, `the core is ${total} B brotli`);
});

test('each piece of the window stays within its own budget', () => {
  // the Twilio shim comes with the Twilio piece, imported when the SDK is loaded
  assert.match(pieces.twilio[0], /^twilio\.[0-9a-f]{16}\.js$/);
  assert.deepEqual(Object.keys(pieces).sort(), Object.keys(PIECE_BUDGETS).sort(), 'every piece has a budget');
  for (const [piece, files] of Object.entries(pieces)) {
    const total = files.reduce((sum, file) => sum + brotli(file), 0);
    console.log(`piece ${piece}: ${files.join(' + ')} = ${total} B brotli (budget ${PIECE_BUDGETS[piece]})`);
    assert.ok(total <= PIECE_BUDGETS[piece], `${piece} is ${total} B brotli`);
  }
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
