// Accounts and their keys: the account list and selection, create, unlock, lock and auto-lock, import and
// export of keystore files. Keys are made, encrypted, decrypted and used only in this page.

import { toHex } from "../lib/encoding.js";
import { importSigningKey } from "../lib/keys.js";
import * as keystore from "../lib/keystore.js";
import * as store from "./store.js";
import { show, setMessage } from "../ui/dom.js";
import { ui, cap, download } from "./ui.js";
import { state, MIN_PASSWORD, LS_SELECTED, LS_AUTOLOCK, touch, autoLockDue, autoLockMinutesFrom, pickAccount,
  authModeAfterSelect, clearAccountData } from "./state.js";
import { render } from "./views.js";
import { scheduleRefresh } from "./refresh.js";
import { closeReview } from "./send.js";
import { resetFaucetStatus } from "./faucet.js";
import { beginPhrase } from "./phrase.js";

/** Reads this network's accounts from IndexedDB and selects one (the given address, the current one, or the last used). */
export async function loadAccounts(selectAddress) {
  let all;
  try {
    all = await store.listAccounts();
  } catch (e) {
    setMessage(ui["no-accounts"], e.message);
    ui["no-accounts"].classList.add("notice-error");
    show(ui["no-accounts"], true);
    return;
  }
  state.accounts = all.filter((a) => a.network === state.network);
  const wanted = selectAddress ?? state.current?.address ?? localStorage.getItem(LS_SELECTED);
  selectAccount(pickAccount(state.accounts, wanted), { force: true });
}

export function selectAccount(account, { force = false } = {}) {
  const prev = state.current?.address;
  if (!force && prev === account?.address) return;
  if (prev && prev !== account?.address) {
    state.feed?.untrack(prev);
    if (state.unlocked && state.unlocked.address !== account?.address) lock("switched account");
    clearAccountData();
    closeReview();
    setMessage(ui["send-result"]);
    setMessage(ui["send-error"]);
    resetFaucetStatus();
  }
  state.current = account;
  state.authMode = authModeAfterSelect(state, account);
  if (account) {
    localStorage.setItem(LS_SELECTED, account.address);
    state.feed?.track(account.address);
    scheduleRefresh(0);
  }
  render();
}

async function onAuthSubmit(ev) {
  ev.preventDefault();
  // Decided by the form's current mode, not by the submitter (Enter picks the first submit button).
  if (state.renderedAuthMode === "create") return createAccount();
  if (state.renderedAuthMode === "unlock") return unlockAccount();
}

function authBusy(on, text) {
  state.busy = on;
  for (const id of ["create-account", "unlock", "password", "password-confirm", "account-name", "phrase-words"]) ui[id].disabled = on;
  ui["auth-busy"].textContent = text ?? "";
  show(ui["auth-busy"], on);
}

async function createAccount() {
  setMessage(ui["auth-error"]);
  const password = ui.password.value;
  if (!state.network) return setMessage(ui["auth-error"], "The node's network is not known yet (the node is not reachable): an address cannot be made until it answers.");
  if (password.length < MIN_PASSWORD) return setMessage(ui["auth-error"], `Choose a password of at least ${MIN_PASSWORD} characters.`);
  if (password !== ui["password-confirm"].value) return setMessage(ui["auth-error"], "The two passwords differ: type the same password twice.");
  const wordCount = Number(ui["phrase-words"].value) === 24 ? 24 : 12;
  const name = ui["account-name"].value.trim();
  authBusy(true, "Making a recovery phrase…");
  try {
    // The account is made once the phrase's words are asked back (phrase.js).
    await beginPhrase({ name, password, wordCount });
    clearAuthFields();
    ui["account-name"].value = "";
  } catch (e) {
    setMessage(ui["auth-error"], `Could not create the account: ${e.message}`);
  } finally {
    authBusy(false);
    render();
  }
}

async function unlockAccount() {
  setMessage(ui["auth-error"]);
  const a = state.current;
  if (!a) return;
  const password = ui.password.value;
  if (!password) return setMessage(ui["auth-error"], "Enter the account's password.");
  authBusy(true, "Deriving the key from the password…");
  try {
    const opened = await keystore.open(a.keystore, password);
    const key = await importSigningKey(opened.seed);
    opened.seed.fill(0);
    state.unlocked = { address: a.address, key, publicKey: opened.publicKey };
    state.authMode = null;
    clearAuthFields();
    touch();
  } catch (e) {
    const msg = e.kind === "wrong-password" ? "Wrong password: the key could not be decrypted with it." : `Cannot unlock: ${e.message}`;
    setMessage(ui["auth-error"], msg);
    ui.password.select();
  } finally {
    authBusy(false);
    render();
  }
}

function clearAuthFields() {
  ui.password.value = "";
  ui["password-confirm"].value = "";
}

/** Forgets the unlocked key (the reason, if any, shows next to the lock state). */
export function lock(reason) {
  if (!state.unlocked) return;
  state.unlocked = null;
  if (state.current) state.authMode = "unlock";
  clearAuthFields();
  render();
  if (reason) ui["lock-state"].textContent = `locked (${reason})`;
}

/** Run every few seconds: locks a key left unused for the auto-lock time. */
export function autoLockTick() {
  if (autoLockDue(state)) lock(`after ${state.autoLockMinutes} min without activity`);
}

async function onImport(ev) {
  ev.preventDefault();
  setMessage(ui["import-error"]);
  const file = ui["import-file"].files?.[0];
  if (!file) return setMessage(ui["import-error"], "Choose a keystore file first.");
  if (file.size > 65536) return setMessage(ui["import-error"], "That file is too large to be a keystore file (they are under 1 kB). Nothing was imported.");
  const password = ui["import-password"].value;
  if (!password) return setMessage(ui["import-error"], "Enter the password the file was encrypted with.");
  ui["import-submit"].disabled = true;
  show(ui["import-busy"], true);
  try {
    const text = await file.text();
    const checked = keystore.check(text); // damaged or unsupported files fail here, before any key derivation
    if (state.network && checked.network !== state.network) {
      throw new Error(`This keystore is for ${checked.network} (${checked.address.slice(0, 6)}…), but this node runs ${state.network}. Nothing was imported.`);
    }
    const existing = state.accounts.find((a) => a.address === checked.address);
    if (existing) throw new store.AccountExistsError(checked.address, existing.name);
    const opened = await keystore.open(checked.file, password);
    const key = await importSigningKey(opened.seed);
    opened.seed.fill(0);
    const name = ui["import-name"].value.trim() || `Imported ${state.accounts.length + 1}`;
    const record = { address: opened.address, name, network: opened.network, publicKey: toHex(opened.publicKey), keystore: checked.file, createdAt: Date.now(), imported: true };
    await store.addAccount(record);
    state.unlocked = { address: record.address, key, publicKey: opened.publicKey };
    state.authMode = null;
    state.importOpen = false;
    ui["import-password"].value = "";
    ui["import-name"].value = "";
    ui["import-file"].value = "";
    touch();
    await loadAccounts(record.address);
  } catch (e) {
    let msg;
    if (e.kind === "wrong-password") msg = "Wrong password for this file (or the file was altered): nothing was imported.";
    else if (e.kind === "damaged" || e.kind === "unsupported") msg = `${cap(e.message)}. Nothing was imported.`;
    else msg = cap(e.message);
    setMessage(ui["import-error"], msg);
  } finally {
    ui["import-submit"].disabled = false;
    show(ui["import-busy"], false);
    render();
  }
}

function onExport() {
  const a = state.current;
  if (!a) return;
  const safeName = (a.name || "account").replace(/[^A-Za-z0-9_-]+/g, "-").slice(0, 30);
  download(keystore.serialize(a.keystore), "application/json", `cairn-${a.network}-${safeName}-${a.address.slice(-8)}.json`);
  ui["copy-status"].textContent = "Keystore file saved (encrypted; keep it and its password safe).";
  if (!a.exportedAt) {
    store.markExported(a.address).then((r) => {
      if (r && state.current?.address === r.address) { state.current = { ...state.current, exportedAt: r.exportedAt }; render(); }
    }).catch(() => {});
  }
}

/** The auth and account controls' events, and the activity that postpones auto-lock. */
export function wireAuth() {
  state.autoLockMinutes = autoLockMinutesFrom(localStorage.getItem(LS_AUTOLOCK));
  ui.autolock.value = String(state.autoLockMinutes);
  ui["auth-form"].addEventListener("submit", onAuthSubmit);
  ui["show-create"].addEventListener("click", () => {
    state.authMode = "create";
    state.importOpen = false;
    state.restoreOpen = false;
    render();
    ui["account-name"].focus();
  });
  ui["show-import"].addEventListener("click", () => {
    state.importOpen = true;
    state.restoreOpen = false;
    render();
    ui["import-file"].focus();
  });
  ui["auth-cancel"].addEventListener("click", () => {
    state.authMode = state.current && state.unlocked?.address !== state.current.address ? "unlock" : null;
    setMessage(ui["auth-error"]);
    clearAuthFields();
    render();
  });
  ui["import-cancel"].addEventListener("click", () => {
    state.importOpen = false;
    setMessage(ui["import-error"]);
    ui["import-password"].value = "";
    render();
  });
  ui["import-form"].addEventListener("submit", onImport);
  ui["account-select"].addEventListener("change", () => {
    const a = state.accounts.find((x) => x.address === ui["account-select"].value);
    state.authMode = null;
    selectAccount(a ?? null);
  });
  ui.lock.addEventListener("click", () => lock());
  ui["export-keystore"].addEventListener("click", onExport);
  // An account made or imported in another tab of this wallet appears here too.
  store.onAccountsChanged(() => { if (state.network) loadAccounts(); });
  ui.autolock.addEventListener("change", () => {
    state.autoLockMinutes = autoLockMinutesFrom(ui.autolock.value);
    localStorage.setItem(LS_AUTOLOCK, String(state.autoLockMinutes));
    touch();
  });
  for (const t of ["pointerdown", "keydown", "input", "focusin"]) document.addEventListener(t, () => touch(), { passive: true });
}
