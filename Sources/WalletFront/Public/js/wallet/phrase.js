// The recovery phrase: a new account's phrase shown once, some of its words asked back before the
// account exists, and "restore from phrase". Words: BIP-39 (lib/bip39.js, the English list served by
// the wallet front from Debian's python3-mnemonic); keys: SLIP-0010 Ed25519 (lib/slip10.js),
// account n at m/44'/7369'/0'/0'/n' (docs/PROTOCOL.md, "Recovery phrase"), as `cairn wallet`.
// The account's key is then sealed in a keystore (IndexedDB) exactly as any other account's.

import { importSigningKey } from "../lib/keys.js";
import * as keystore from "../lib/keystore.js";
import { loadWordList, generatePhrase, splitPhrase } from "../lib/bip39.js";
import { phraseAccounts } from "../lib/slip10.js";
import * as store from "./store.js";
import { el, show, setMessage } from "../ui/dom.js";
import { ui, cap } from "./ui.js";
import { state, MIN_PASSWORD, touch, phrasePositions, phraseCheckMisses } from "./state.js";
import { render } from "./views.js";
import { loadAccounts } from "./auth.js";

/** How many words of a new phrase are asked back. */
export const ASKED_WORDS = 3;
export const MAX_RESTORE = 20;

/** Step 1 of a new account (called by auth.js once the password is chosen): make and show a phrase. */
export async function beginPhrase({ name, password, wordCount }) {
  const list = await loadWordList();
  const words = await generatePhrase(wordCount, list);
  state.phrase = { step: "show", words, asked: phrasePositions(wordCount, ASKED_WORDS), name, password, wordCount };
  state.authMode = null;
  render();
  ui["phrase-written"].focus?.();
}

function cancelPhrase() {
  if (state.phrase) state.phrase.password = "";
  state.phrase = null;
  setMessage(ui["phrase-error"]);
  ui["phrase-list"].replaceChildren();
  ui["phrase-asked"].replaceChildren();
  if (!state.current) state.authMode = "create";
  render();
}

/** The phrase panel from state.phrase (views.js calls it on every render). */
export function renderPhrase() {
  const p = state.phrase;
  show(ui["phrase-panel"], !!p);
  if (!p) return;
  show(ui["phrase-show"], p.step === "show");
  show(ui["phrase-check"], p.step === "check");
  if (p.step === "show" && ui["phrase-list"].childElementCount !== p.words.length) {
    ui["phrase-list"].replaceChildren(...p.words.map((w, i) => el("li", { testid: `phrase-word-${i + 1}` }, w)));
  }
  if (p.step === "check" && ui["phrase-asked"].childElementCount === 0) {
    ui["phrase-asked"].replaceChildren(...p.asked.map((pos) => el("div", { class: "field" },
      el("label", { for: `phrase-check-${pos}` }, `Word ${pos}`),
      el("input", { type: "text", id: `phrase-check-${pos}`, testid: `phrase-check-${pos}`, autocomplete: "off",
        autocapitalize: "none", spellcheck: "false", dataset: { position: String(pos) } }))));
  }
}

function toCheck() {
  const p = state.phrase;
  if (!p) return;
  p.step = "check";
  // The words leave the page while they are asked back.
  ui["phrase-list"].replaceChildren();
  ui["phrase-asked"].replaceChildren();
  setMessage(ui["phrase-error"]);
  render();
  ui["phrase-asked"].querySelector("input")?.focus();
}

function backToWords() {
  const p = state.phrase;
  if (!p) return;
  p.step = "show";
  setMessage(ui["phrase-error"]);
  render();
}

function phraseBusy(on) {
  state.busy = on;
  ui["phrase-confirm"].disabled = on;
  ui["phrase-back"].disabled = on;
  show(ui["phrase-busy"], on);
}

/** Step 2: the asked words match → the account (phrase account 0) is made, sealed, stored and unlocked. */
async function onPhraseCheck(ev) {
  ev.preventDefault();
  const p = state.phrase;
  if (!p || p.step !== "check" || state.busy) return;
  setMessage(ui["phrase-error"]);
  const typed = {};
  for (const input of ui["phrase-asked"].querySelectorAll("input")) typed[Number(input.dataset.position)] = input.value;
  const misses = phraseCheckMisses(p.words, p.asked, typed);
  if (misses.length > 0) {
    const which = misses.map((m) => `word ${m}`).join(", ");
    setMessage(ui["phrase-error"], `${cap(which)} ${misses.length === 1 ? "does" : "do"} not match the phrase: check what you wrote down (or show the words again). No account was made.`);
    ui["phrase-asked"].querySelector(`[data-position="${misses[0]}"]`)?.select?.();
    return;
  }
  phraseBusy(true);
  try {
    const list = await loadWordList();
    const [acc] = await phraseAccounts(p.words, list, state.network, { count: 1 });
    const record = await sealAccount(acc, p.password, p.name || `Account ${state.accounts.length + 1}`, p.wordCount);
    const key = await importSigningKey(acc.seed);
    acc.seed.fill(0);
    p.password = "";
    state.phrase = null;
    ui["phrase-asked"].replaceChildren();
    state.unlocked = { address: record.address, key, publicKey: acc.publicKey };
    touch();
    await loadAccounts(record.address);
  } catch (e) {
    setMessage(ui["phrase-error"], `Could not create the account: ${e.message}`);
  } finally {
    phraseBusy(false);
    render();
  }
}

/** Seals one derived account into a keystore and stores it (an address already here → AccountExistsError). */
async function sealAccount(acc, password, name, wordCount) {
  const file = await keystore.seal(acc.seed, password, state.network, { publicKey: acc.publicKey });
  const record = {
    address: file.address, name, network: state.network, publicKey: file.public_key, keystore: file,
    createdAt: Date.now(), phrase: { path: acc.path, words: wordCount },
  };
  await store.addAccount(record);
  return record;
}

// Restore ------------------------------------------------------------------------------------------

function restoreBusy(on) {
  state.busy = on;
  for (const id of ["restore-submit", "restore-phrase", "restore-count", "restore-password", "restore-password-confirm"]) ui[id].disabled = on;
  show(ui["restore-busy"], on);
}

function clearRestore() {
  ui["restore-phrase"].value = "";
  ui["restore-password"].value = "";
  ui["restore-password-confirm"].value = "";
  ui["restore-name"].value = "";
  ui["restore-count"].value = "1";
}

async function onRestore(ev) {
  ev.preventDefault();
  if (state.busy) return;
  setMessage(ui["restore-error"]);
  if (!state.network) return setMessage(ui["restore-error"], "The node's network is not known yet (the node is not reachable): addresses cannot be made until it answers.");
  const words = splitPhrase(ui["restore-phrase"].value);
  if (words.length === 0) return setMessage(ui["restore-error"], "Type the words of the recovery phrase, separated by spaces.");
  const count = Number(ui["restore-count"].value);
  if (!Number.isInteger(count) || count < 1 || count > MAX_RESTORE) return setMessage(ui["restore-error"], `Accounts to restore: a whole number from 1 to ${MAX_RESTORE}.`);
  const password = ui["restore-password"].value;
  if (password.length < MIN_PASSWORD) return setMessage(ui["restore-error"], `Choose a password of at least ${MIN_PASSWORD} characters.`);
  if (password !== ui["restore-password-confirm"].value) return setMessage(ui["restore-error"], "The two passwords differ: type the same password twice.");
  restoreBusy(true);
  try {
    const list = await loadWordList();
    // A bad word or checksum is refused here, naming the word, before anything is stored.
    const accounts = await phraseAccounts(words, list, state.network, { count });
    const base = ui["restore-name"].value.trim() || "Restored";
    let first = null;
    let firstKey = null;
    let skipped = 0;
    for (const acc of accounts) {
      if (state.accounts.some((a) => a.address === acc.address)) { skipped++; acc.seed.fill(0); continue; }
      const name = count === 1 ? base : `${base} ${acc.account + 1}`;
      const record = await sealAccount(acc, password, name, words.length);
      if (!first) { first = record; firstKey = { key: await importSigningKey(acc.seed), publicKey: acc.publicKey }; }
      acc.seed.fill(0);
    }
    if (!first) throw new Error(`${count === 1 ? "This account is" : "These accounts are"} already in this wallet: nothing was restored.`);
    state.unlocked = { address: first.address, key: firstKey.key, publicKey: firstKey.publicKey };
    state.restoreOpen = false;
    clearRestore();
    touch();
    await loadAccounts(first.address);
    if (skipped > 0) ui["copy-status"].textContent = `${skipped} of the accounts were already here and were left as they are.`;
  } catch (e) {
    const msg = e.name === "PhraseError" ? `${cap(e.message)}. Nothing was restored.` : cap(e.message);
    setMessage(ui["restore-error"], msg);
  } finally {
    restoreBusy(false);
    render();
  }
}

export function renderRestore() {
  show(ui["restore-panel"], state.restoreOpen && !state.phrase);
}

export function wirePhrase() {
  ui["phrase-written"].addEventListener("click", toCheck);
  ui["phrase-cancel"].addEventListener("click", cancelPhrase);
  ui["phrase-back"].addEventListener("click", backToWords);
  ui["phrase-check"].addEventListener("submit", onPhraseCheck);
  ui["show-restore"].addEventListener("click", () => {
    state.restoreOpen = true;
    state.importOpen = false;
    render();
    ui["restore-phrase"].focus();
  });
  ui["restore-cancel"].addEventListener("click", () => {
    state.restoreOpen = false;
    setMessage(ui["restore-error"]);
    clearRestore();
    render();
  });
  ui["restore-form"].addEventListener("submit", onRestore);
}
