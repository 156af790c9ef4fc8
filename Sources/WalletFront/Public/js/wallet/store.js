// Accounts in IndexedDB. Each record holds the public facts (address, key, network,
// name) and the keystore file object: the private key is stored only encrypted.
//
// record = { address, name, network, publicKey, keystore, createdAt, phrase?: {path, words}, imported?, exportedAt? }

const DB_NAME = "cairn-wallet";
const DB_VERSION = 1;
const STORE = "accounts";

let dbPromise = null;

function openDB() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      if (!globalThis.indexedDB) {
        reject(new Error("this browser offers no IndexedDB storage (private mode?): accounts cannot be kept"));
        return;
      }
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(STORE)) {
          const s = db.createObjectStore(STORE, { keyPath: "address" });
          s.createIndex("network", "network", { unique: false });
        }
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(new Error(`cannot open the wallet storage: ${req.error?.message ?? "unknown error"}`));
      req.onblocked = () => reject(new Error("the wallet storage is blocked by another tab: close other wallet tabs and reload"));
    });
    dbPromise.catch(() => { dbPromise = null; });
  }
  return dbPromise;
}

function tx(mode, fn) {
  return openDB().then((db) => new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const store = t.objectStore(STORE);
    let result;
    Promise.resolve(fn(store, (v) => { result = v; })).catch(reject);
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error ?? new Error("storage transaction aborted"));
  }));
}

/** Other tabs of this wallet hear about new accounts (cb(address)). */
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("cairn-wallet-accounts") : null;
export function onAccountsChanged(cb) {
  if (channel) channel.addEventListener("message", (ev) => cb(ev.data?.address ?? null));
}

export class AccountExistsError extends Error {
  constructor(address, name) {
    super(`this wallet already holds ${address}${name ? ` (as "${name}")` : ""}: nothing was changed`);
    this.name = "AccountExistsError";
  }
}

/** All accounts, oldest first. */
export async function listAccounts() {
  const all = await tx("readonly", (store, done) => {
    const req = store.getAll();
    req.onsuccess = () => done(req.result);
  });
  return (all ?? []).sort((a, b) => a.createdAt - b.createdAt);
}

export async function getAccount(address) {
  return tx("readonly", (store, done) => {
    const req = store.get(address);
    req.onsuccess = () => done(req.result ?? null);
  });
}

/** Adds an account; never replaces one (an existing address → AccountExistsError, nothing written). */
export async function addAccount(record) {
  const existing = await getAccount(record.address);
  if (existing) throw new AccountExistsError(record.address, existing.name);
  try {
    await tx("readwrite", (store) => { store.add(record); });
  } catch (e) {
    if (e?.name === "ConstraintError") throw new AccountExistsError(record.address);
    throw e;
  }
  channel?.postMessage({ address: record.address });
  return record;
}

/** Notes that the account's keystore file was saved (its backup: see needsBackup in model.js). */
export async function markExported(address) {
  return tx("readwrite", (store, done) => {
    const req = store.get(address);
    req.onsuccess = () => {
      if (!req.result) return done(null);
      const r = { ...req.result, exportedAt: Date.now() };
      store.put(r);
      done(r);
    };
  });
}

export async function renameAccount(address, name) {
  return tx("readwrite", (store, done) => {
    const req = store.get(address);
    req.onsuccess = () => {
      if (!req.result) return done(null);
      const r = { ...req.result, name };
      store.put(r);
      done(r);
    };
  });
}
