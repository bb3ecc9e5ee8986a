// @ts-check
// The window's IndexedDB store (`src/cache.rs` decides what goes in it): one
// database, `dachat`, in the host page's origin, with one object store of
// plain values under string keys. A thin promise wrapper, in JS because
// IndexedDB's request/event API costs the WASM far more glue through web-sys
// than these few lines. Every failure (private mode, storage refused or
// full) becomes a rejected promise; the window then simply works without
// its cache.

const DB = 'dachat';
const STORE = 'kv';

/** @type {Promise<IDBDatabase> | undefined} */
let opened;

/** @returns {Promise<IDBDatabase>} */
function database() {
  opened ||= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => { request.result.createObjectStore(STORE); };
    request.onsuccess = () => {
      const db = request.result;
      // another tab (or the host's logout) deletes the database: let it
      db.onversionchange = () => { db.close(); opened = undefined; };
      resolve(db);
    };
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error('the chat cache is blocked by another tab'));
  });
  opened.catch(() => { opened = undefined; });
  return opened;
}

/**
 * Runs `act` in one transaction; resolves when it is committed.
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T> | void} act
 * @returns {Promise<T | undefined>}
 */
async function run(mode, act) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = act(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request ? request.result : undefined);
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

/**
 * The values under `keys` (undefined where there is none).
 * @param {string[]} keys
 * @returns {Promise<unknown[]>}
 */
export async function read(keys) {
  /** @type {IDBRequest<unknown>[]} */
  const requests = [];
  await run('readonly', (store) => { for (const key of keys) requests.push(store.get(key)); });
  return requests.map((r) => r.result);
}

/**
 * Writes every `[key, value]` of `entries` in one transaction (a value of
 * `undefined` deletes its key); `clear` empties the store first.
 * @param {[string, unknown][]} entries
 * @param {boolean} clear
 * @returns {Promise<void>}
 */
export async function write(entries, clear) {
  await run('readwrite', (store) => {
    if (clear) store.clear();
    for (const [key, value] of entries) value === undefined ? store.delete(key) : store.put(value, key);
  });
}

/** Closes the database (so that a logout can delete it). */
export function close() {
  const was = opened;
  opened = undefined;
  was?.then((db) => db.close(), () => {});
}
