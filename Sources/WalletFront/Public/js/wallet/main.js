// The wallet page. Keys are made, encrypted, decrypted and used only here: requests carry
// addresses, signed transactions and the faucet's {address}, never a key or a password.

import { loadConfig, ApiError, Feed, restStatus, pingURLFor } from "../api.js";
import { routes } from "../routes.js";
import { Liveness, staleText } from "../lib/liveness.js";
import { decodeAddress, encodeAddress } from "../lib/bech32m.js";
import { networkParams, formatAmount, toHex, signedTxSize } from "../lib/encoding.js";
import { generateKeyPair, importSigningKey, ed25519Supported } from "../lib/keys.js";
import * as keystore from "../lib/keystore.js";
import { plan, signPlan, partitionCoins, blocksToMaturity, SendError, POLICY, feeFor } from "../lib/coinselect.js";
import * as store from "./store.js";
import { qrSVG } from "../lib/qr.js";
import { $, el, show, setMessage, txLink, addressLink } from "../ui/dom.js";
import { shortHash } from "../ui/format.js";
import { balancesFrom, txNet, confirmationsOf, isCoinbaseEsplora, addressMessage, feePresets, amountInput, formatCoins, historyCSV,
  addContact, removeContact, contactFor } from "./model.js";

const MIN_PASSWORD = 8;
const LS_SELECTED = "cairn.wallet.selected";
const LS_NETWORK = "cairn.wallet.network";
const LS_AUTOLOCK = "cairn.wallet.autolock";
const LS_CONTACTS = "cairn.wallet.contacts.";   // + network

const state = {
  cfg: null,
  network: null,
  params: null,
  tipHeight: null,
  accounts: [],
  current: null,          // account record
  unlocked: null,         // { address, key: CryptoKey (non-extractable), publicKey }
  authMode: null,         // "create" | "unlock" | null
  importOpen: false,
  feeEstimates: null,
  feeTouched: false,
  faucet: null,           // { available, amount } or null
  coinbase: new Map(),    // txid → is coinbase
  data: null,             // { address, utxos, txs, stats, tipHeight }
  lastSend: null,         // { txid, amount, to, fee, size, rate }
  review: null,           // { plan, to, amount, rate, own }: shown for confirmation, not signed yet
  older: null,            // { address, txs, done }: confirmed history pages past the first 25
  feed: null,
  lastActivity: Date.now(),
  autoLockMinutes: 5,
  busy: false,
};

const ui = {};

/** First letter upper-cased (library messages are lower-case, as the CLI's). */
const cap = (t) => (t ? t[0].toUpperCase() + t.slice(1) : t);

// ---------------------------------------------------------------------------
// Boot

async function boot() {
  for (const id of ["boot-notice", "wallet-root", "secure-context-warning", "secure-context-text", "connection-status",
    "network-badge", "offline-banner", "offline-text", "offline-retry", "show-create", "show-import", "account-picker",
    "account-select", "lock-state", "no-accounts", "auth-panel", "auth-title", "auth-form", "name-field", "account-name",
    "password", "confirm-field", "password-confirm", "auth-hint", "auth-error", "create-account", "unlock", "auth-cancel",
    "auth-busy", "auth-username", "import-panel", "import-form", "import-file", "import-name", "import-password", "import-error",
    "import-submit", "import-cancel", "import-busy", "account-view", "export-keystore", "lock", "address", "copy-address",
    "copy-status", "address-link", "address-qr", "faucet-row", "faucet", "faucet-status", "balance-confirmed", "balance-pending",
    "balance-note", "send-form", "send-locked", "send-to", "send-to-error", "send-amount", "send-max", "send-fee",
    "fee-picks", "history-more", "history-csv", "contacts", "contacts-list", "contact-form", "contact-name", "contact-address",
    "contact-error", "send-preview", "send-review", "review-warning", "review-to", "review-to-name", "review-amount", "review-fee",
    "review-fee-detail", "review-total", "review-change", "review-coins", "send-confirm", "send-back", "send-error", "send-submit", "send-result", "history", "history-empty", "autolock",
    "edge-info"]) {
    ui[id] = $(id);
  }

  if (!globalThis.isSecureContext || !globalThis.crypto?.subtle) {
    return disableWallet(`This page (${location.origin}) is not a secure context, so the browser withholds WebCrypto: `
      + "keys cannot be generated, encrypted or used here. Open the wallet over https, or on http://localhost / 127.0.0.1. "
      + "(The explorer works anywhere.)");
  }
  if (!(await ed25519Supported())) {
    return disableWallet("This browser's WebCrypto has no Ed25519 signatures, which Cairn keys need. Use a current Chromium, Firefox or Safari.");
  }

  wireEvents();
  state.autoLockMinutes = Number(localStorage.getItem(LS_AUTOLOCK)) || 5;
  ui.autolock.value = String(state.autoLockMinutes);

  try {
    state.cfg = await loadConfig();
  } catch (e) {
    setMessage(ui["boot-notice"], `Cannot read this page's configuration (${e.message}). Retrying…`);
    ui["boot-notice"].classList.add("notice-error");
    setTimeout(boot, 3000);
    return;
  }
  ui["edge-info"].textContent = `Node edge: ${state.cfg.edge}`;
  show(ui["boot-notice"], false);
  show(ui["wallet-root"], true);

  restStatus.subscribe(onRestStatus);
  state.feed = new Feed(state.cfg.ws);
  state.feed.onState(onFeedState);
  state.feed.on("hello", (m) => {
    if (m.network) setNetwork(m.network);
    if (Number.isInteger(m.height)) state.tipHeight = m.height;
  });
  state.feed.on("open", () => scheduleRefresh(0));
  state.feed.on("block", (m) => {
    if (m.block && Number.isInteger(m.block.height)) state.tipHeight = Math.max(state.tipHeight ?? 0, m.block.height);
    scheduleRefresh(50);
    if (state.network === "regtest" && state.faucet && Date.now() - faucetCheckedAt > 10_000) loadFaucet();
    // Fee presets follow the mempool: a busy pool raises them (GET /api/fee-estimates).
    if (Date.now() - feesCheckedAt > 10_000) loadFeeEstimates();
  });
  state.feed.on("address-tx", (m) => {
    if (state.current && m.address === state.current.address) scheduleRefresh(0);
  });
  state.live = new Liveness(state.feed, {
    spacingSeconds: state.params?.targetSpacing,
    probe: (signal) => fetch(pingURLFor(state.cfg.ws), { signal, cache: "no-store", mode: "cors", credentials: "omit" }),
  });
  state.live.onChange((stale) => {
    if (!stale && state.feed.online) scheduleRefresh(0);
    renderConnection();
  });
  state.feed.start();
  state.live.start();
  setInterval(() => { if (state.live.stale) renderConnection(); }, 1000);

  // The network decides address prefixes: ask the node (the last one seen is kept for offline starts).
  const last = localStorage.getItem(LS_NETWORK);
  if (last && !state.network) setNetwork(last, { provisional: true });
  await learnNetwork();
  setInterval(autoLockTick, 5000);
  setInterval(() => { if (!state.feed.online) scheduleRefresh(0); }, 15000);
}

function disableWallet(text) {
  ui["secure-context-text"].textContent = text;
  show(ui["secure-context-warning"], true);
  show(ui["boot-notice"], false);
  show(ui["wallet-root"], true);
  ui["wallet-root"].disabled = true;
  ui["wallet-root"].classList.add("disabled");
  ui["connection-status"].textContent = "wallet disabled";
  ui["connection-status"].dataset.state = "disabled";
}

async function learnNetwork() {
  for (let attempt = 0; ; attempt++) {
    try {
      const node = await routes.node();
      setNetwork(node.network);
      return;
    } catch (e) {
      if (attempt === 0 && !state.network) {
        setMessage(ui["no-accounts"], `The node at ${state.cfg.edge} is not reachable (${e.message}); waiting for it…`);
        show(ui["no-accounts"], true);
      }
      await new Promise((r) => setTimeout(r, Math.min(15000, 1000 * 2 ** Math.min(attempt, 4))));
    }
  }
}

async function setNetwork(name, { provisional = false } = {}) {
  let params;
  try { params = networkParams(name); } catch { return; }
  const changed = state.network !== name;
  state.network = name;
  state.params = params;
  state.live?.setSpacing(params.targetSpacing);
  if (!provisional) localStorage.setItem(LS_NETWORK, name);
  ui["network-badge"].textContent = name;
  show(ui["network-badge"], true);
  ui["send-to"].placeholder = `${params.prefix}1q…`;
  ui["contact-address"].placeholder = `${params.prefix}1q…`;
  renderContacts();
  const confirmedNow = !provisional && !state.networkConfirmed;
  if (!provisional) state.networkConfirmed = true;
  if (changed || confirmedNow) {
    await loadAccounts();
    if (confirmedNow) {
      loadFeeEstimates();
      loadFaucet();
    }
  }
}

// ---------------------------------------------------------------------------
// Accounts

async function loadAccounts(selectAddress) {
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
  const next = state.accounts.find((a) => a.address === wanted) ?? state.accounts[0] ?? null;
  selectAccount(next, { force: true });
}

function selectAccount(account, { force = false } = {}) {
  const prev = state.current?.address;
  if (!force && prev === account?.address) return;
  if (prev && prev !== account?.address) {
    state.feed?.untrack(prev);
    if (state.unlocked && state.unlocked.address !== account?.address) lock("switched account");
    state.data = null;
    state.older = null;
    state.lastSend = null;
    closeReview();
    setMessage(ui["send-result"]);
    setMessage(ui["send-error"]);
    ui["faucet-status"].textContent = "";
    clearInterval(faucetTimer);
    faucetTimer = null;
    ui["faucet-status"].dataset.state = "";
  }
  state.current = account;
  if (account) {
    localStorage.setItem(LS_SELECTED, account.address);
    state.feed?.track(account.address);
    if (!state.unlocked || state.unlocked.address !== account.address) state.authMode = state.authMode === "create" ? "create" : "unlock";
    scheduleRefresh(0);
  } else {
    state.authMode = "create";
  }
  render();
}

function accountLabel(a) {
  return `${a.name || "Account"} — ${shortHash(a.address, 12, 6)}`;
}

// ---------------------------------------------------------------------------
// Rendering

function render() {
  const a = state.current;
  const hasAccounts = state.accounts.length > 0;

  // picker
  ui["account-select"].replaceChildren(...state.accounts.map((acc) =>
    el("option", { value: acc.address, selected: acc.address === a?.address }, accountLabel(acc))));
  show(ui["account-picker"], hasAccounts);
  if (hasAccounts) ui["no-accounts"].classList.remove("notice-error");
  if (state.network) {
    setMessage(ui["no-accounts"], hasAccounts ? "" : `No ${state.network} account yet: create one (its key is made and encrypted in this browser) or import a keystore file.`);
  }
  const unlocked = !!(a && state.unlocked?.address === a.address);
  ui["lock-state"].textContent = a ? (unlocked ? "unlocked" : "locked") : "";
  ui["lock-state"].dataset.state = unlocked ? "unlocked" : "locked";

  // create / unlock
  const mode = state.importOpen ? null : (!a ? "create" : state.authMode === "create" ? "create" : unlocked ? null : "unlock");
  state.renderedAuthMode = mode;
  show(ui["auth-panel"], mode !== null);
  if (mode) {
    const create = mode === "create";
    ui["auth-title"].textContent = create ? "Create an account" : `Unlock ${a.name || "account"}`;
    show(ui["name-field"], create);
    show(ui["confirm-field"], create);
    show(ui["auth-hint"], create);
    show(ui["create-account"], create);
    show(ui.unlock, !create);
    show(ui["auth-cancel"], create && hasAccounts);
    ui.password.autocomplete = create ? "new-password" : "current-password";
    ui["auth-username"].value = create ? "" : (a?.address ?? "");
  }
  // With no account yet, importing a backup is offered next to creating one.
  show(ui["import-panel"], state.importOpen || !hasAccounts);
  show(ui["import-cancel"], hasAccounts);

  // the account
  show(ui["account-view"], !!a);
  if (!a) return;
  ui.address.textContent = a.address;
  renderQR(a.address);
  ui["address-link"].href = `explorer.html#/address/${a.address}`;
  show(ui.lock, unlocked);
  show(ui["send-locked"], !unlocked);
  ui["send-submit"].disabled = !unlocked || state.busy;
  if (!unlocked && state.review) closeReview();
  ui["send-max"].disabled = !unlocked;
  renderFaucet();
  renderBalances();
  renderHistory();
  renderSendResult();
  renderFaucetPaid();
}

/** The receive address as a QR code (drawn once per address). */
function renderQR(address) {
  const box = ui["address-qr"];
  if (box.dataset.address === address) return;
  box.dataset.address = address;
  box.replaceChildren();
  qrSVG(address, { label: `QR code of your address ${address}` }).then((svg) => {
    if (box.dataset.address === address) box.replaceChildren(svg);
  }).catch((e) => {
    if (box.dataset.address === address) box.replaceChildren(el("p", { class: "small muted" }, `No QR code: ${e.message}.`));
  });
}

function renderFaucet() {
  const f = state.faucet;
  show(ui["faucet-row"], state.network === "regtest" && !!f);
  if (f) {
    ui.faucet.textContent = f.available && f.amount ? `Get ${formatCoins(f.amount)} CRN from faucet` : "Get coins from faucet";
    // A hint (not a block): the button still asks, and the faucet's own answer is shown.
    const st = ui["faucet-status"];
    if (!st.dataset.state || st.dataset.state === "hint") {
      const empty = Number.isFinite(f.spendable) && Number.isFinite(f.amount) && f.spendable < f.amount;
      st.textContent = empty ? "The faucet's mined coins are not mature yet: try again in a few blocks." : "";
      st.dataset.state = empty ? "hint" : "";
    }
  }
}

function renderBalances() {
  const d = state.data;
  if (!d || d.address !== state.current?.address) {
    ui["balance-confirmed"].textContent = "–";
    ui["balance-pending"].textContent = "–";
    ui["balance-note"].textContent = "";
    return;
  }
  const { confirmed, pending } = balancesFrom(d.stats);
  ui["balance-confirmed"].textContent = formatCoins(confirmed);
  ui["balance-pending"].textContent = (pending > 0 ? "+" : "") + formatCoins(pending);
  ui["balance-pending"].dataset.units = String(pending);
  ui["balance-confirmed"].dataset.units = String(confirmed);
  const notes = [];
  const { spendable, immature } = d.partition;
  const spendableSum = spendable.reduce((s, c) => s + c.value, 0);
  notes.push(`Spendable now: ${formatCoins(spendableSum)} CRN.`);
  if (immature.length) {
    const sum = immature.reduce((s, c) => s + c.value, 0);
    const wait = Math.min(...immature.map((c) => blocksToMaturity(c, { tipHeight: d.tipHeight, maturity: state.params.coinbaseMaturity })));
    notes.push(`${formatCoins(sum)} CRN is mining reward that matures in ${wait} more block${wait === 1 ? "" : "s"}.`);
  }
  if (Number.isInteger(d.tipHeight)) notes.push(`Chain height ${d.tipHeight}.`);
  ui["balance-note"].textContent = notes.join(" ");
}

function counterparty(tx, address, net) {
  if (isCoinbaseEsplora(tx)) return "mining reward";
  if (net < 0) {
    const to = tx.vout.find((o) => o.address !== address);
    return to ? ["to ", addressLink(to.address)] : "to yourself";
  }
  const from = tx.vin.find((i) => i.prevout && i.prevout.address !== address);
  return from ? ["from ", addressLink(from.prevout.address)] : "";
}

function renderHistory() {
  const d = state.data;
  if (!d || d.address !== state.current?.address) {
    ui.history.replaceChildren();
    show(ui["history-more"], false);
    show(ui["history-csv"], false);
    ui["history-empty"].textContent = "Loading…";
    show(ui["history-empty"], true);
    return;
  }
  const seen = new Set(d.txs.map((t) => t.txid));
  const older = state.older?.address === d.address ? state.older.txs.filter((t) => !seen.has(t.txid)) : [];
  const all = [...d.txs, ...older];
  const confirmedFirstPage = d.txs.filter((t) => t.status?.confirmed).length;
  show(ui["history-more"], confirmedFirstPage >= 25 && !(state.older?.address === d.address && state.older.done));
  const rows = all.map((tx) => {
    const net = txNet(tx, d.address);
    const confs = confirmationsOf(tx, d.tipHeight);
    const when = tx.status?.block_time ? new Date(tx.status.block_time * 1000).toLocaleString() : "";
    const status = confs === 0
      ? el("span", { class: "badge warn" }, "pending")
      : el("span", { class: "badge ok" }, `${confs} confirmation${confs === 1 ? "" : "s"}`);
    return el("li", { class: "history-row", dataset: { txid: tx.txid, confirmations: String(confs) } },
      el("span", { class: `amount ${net < 0 ? "out" : "in"}` }, `${net > 0 ? "+" : ""}${formatCoins(net)} CRN`),
      status,
      el("span", { class: "who small" }, counterparty(tx, d.address, net)),
      el("span", { class: "tx small" }, txLink(tx.txid)),
      el("span", { class: "when small muted" }, when || (confs === 0 ? "in the mempool" : "")));
  });
  ui.history.replaceChildren(...rows);
  ui["history-empty"].textContent = "No transactions yet.";
  show(ui["history-empty"], rows.length === 0);
  show(ui["history-csv"], rows.length > 0);
}

function renderSendResult() {
  const s = state.lastSend;
  if (!s) return;
  const d = state.data;
  const tx = d?.txs.find((t) => t.txid === s.txid);
  let status;
  if (tx && tx.status?.confirmed) {
    const n = confirmationsOf(tx, d.tipHeight);
    status = el("span", { class: "badge ok", dataset: { status: "confirmed" } }, `confirmed in block ${tx.status.block_height} (${n} confirmation${n === 1 ? "" : "s"})`);
  } else {
    status = el("span", { class: "badge warn", dataset: { status: "pending" } }, "pending: in the mempool, waiting for a block");
  }
  setMessage(ui["send-result"],
    el("p", {}, `Sent ${formatCoins(s.amount)} CRN to `, addressLink(s.to), `, fee ${formatCoins(s.fee)} CRN (${s.size} bytes at ${s.rate} units/byte).`),
    el("p", {}, "Transaction ", el("a", { href: `explorer.html#/tx/${s.txid}`, class: "mono hash txid", dataset: { txid: s.txid } }, s.txid)),
    el("p", {}, "Status: ", status));
  ui["send-result"].dataset.txid = s.txid;
  ui["send-result"].dataset.status = tx?.status?.confirmed ? "confirmed" : "pending";
}

// ---------------------------------------------------------------------------
// Node data

let refreshTimer = null;
let refreshRunning = false;
let refreshAgain = false;

function scheduleRefresh(delay = 100) {
  if (!state.current || !state.cfg) return;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(runRefresh, delay);
}

async function runRefresh() {
  if (refreshRunning) { refreshAgain = true; return; }
  refreshRunning = true;
  try {
    await refresh();
  } catch (e) {
    if (!(e instanceof ApiError)) console.error(e);
  } finally {
    refreshRunning = false;
    if (refreshAgain) { refreshAgain = false; scheduleRefresh(0); }
  }
}

/** Reads the address's state from the edge: tip, stats, UTXOs (with coinbase flags where it matters), history. */
async function refresh() {
  const account = state.current;
  if (!account) return null;
  const addr = account.address;
  const [tipHeight, stats, utxos, txs] = await Promise.all([
    routes.tipHeight(),
    routes.address(addr),
    routes.addressUtxos(addr),
    routes.addressTxs(addr),
  ]);
  if (Number.isInteger(tipHeight)) state.tipHeight = Math.max(tipHeight, state.tipHeight ?? 0);
  for (const tx of txs) state.coinbase.set(tx.txid, isCoinbaseEsplora(tx));
  const coins = await classifyCoins(utxos, state.tipHeight);
  if (state.current?.address !== account.address) return null;
  const partition = partitionCoins(coins, { tipHeight: state.tipHeight, maturity: state.params.coinbaseMaturity });
  state.data = { address: account.address, stats, utxos: coins, partition, txs, tipHeight: state.tipHeight };
  render();
  updatePreview();
  return state.data;
}

/**
 * A Cairn edge marks coinbase outputs in its UTXO rows (`coinbase`); a plain Esplora server does
 * not. Without the flag, only a young coin can be an immature coinbase: a coin with `maturity` or
 * more confirmations is spendable whatever it is, so only young confirmed coins whose transaction
 * is not known yet are looked up (GET /api/tx/:txid, cached: it never changes).
 */
async function classifyCoins(utxos, tipHeight) {
  for (const u of utxos) if (typeof u.coinbase === "boolean") state.coinbase.set(u.txid, u.coinbase);
  const maturity = state.params.coinbaseMaturity;
  const young = utxos.filter((u) => u.status?.confirmed && !state.coinbase.has(u.txid)
    && !(Number.isInteger(tipHeight) && tipHeight + 1 - u.status.block_height >= maturity));
  const unknown = [...new Set(young.map((u) => u.txid))];
  for (let i = 0; i < unknown.length; i += 4) {
    await Promise.all(unknown.slice(i, i + 4).map(async (txid) => {
      const tx = await routes.tx(txid);
      state.coinbase.set(txid, isCoinbaseEsplora(tx));
    }));
  }
  return utxos.map((u) => ({
    txid: u.txid, vout: u.vout, value: u.value,
    confirmed: !!u.status?.confirmed,
    height: u.status?.confirmed ? u.status.block_height : undefined,
    coinbase: u.status?.confirmed ? (state.coinbase.get(u.txid) ?? false) : false,
  }));
}

/** The next 25 confirmed transactions after the oldest one shown. */
async function loadOlder() {
  const d = state.data;
  if (!d) return;
  if (state.older?.address !== d.address) state.older = { address: d.address, txs: [], done: false };
  const shown = [...d.txs, ...state.older.txs].filter((t) => t.status?.confirmed);
  const last = shown[shown.length - 1];
  if (!last) return;
  ui["history-more"].disabled = true;
  try {
    const page = await routes.addressChainTxs(d.address, last.txid);
    if (state.older?.address !== d.address) return;
    state.older.txs.push(...page);
    if (page.length < 25) state.older.done = true;
    renderHistory();
  } catch (e) {
    ui["history-empty"].textContent = `Could not load older transactions: ${e.message}`;
    show(ui["history-empty"], true);
  } finally {
    ui["history-more"].disabled = false;
  }
}

let feesCheckedAt = 0;

async function loadFeeEstimates() {
  feesCheckedAt = Date.now();
  try {
    state.feeEstimates = await routes.feeEstimates();
  } catch {
    state.feeEstimates = null;
  }
  const presets = feePresets(state.feeEstimates);
  ui["fee-picks"].replaceChildren(...presets.map(({ name, hint, rate }) => {
    const b = el("button", { type: "button", class: "chip", title: `${hint}: ${rate} units/byte`, dataset: { rate: String(rate) } }, `${name} · ${rate}`);
    b.addEventListener("click", () => {
      ui["send-fee"].value = String(rate);
      state.feeTouched = true;
      closeReview();
      updatePreview();
    });
    return b;
  }));
  if (!state.feeTouched || !ui["send-fee"].value) ui["send-fee"].value = String(presets.find((p) => p.isDefault).rate);
  updatePreview();
}

let faucetCheckedAt = 0;

async function loadFaucet() {
  faucetCheckedAt = Date.now();
  if (state.network !== "regtest") { state.faucet = null; return renderFaucet(); }
  try {
    const f = await routes.faucet();
    state.faucet = { available: !!f.available, amount: f.amount, spendable: f.spendable };
  } catch (e) {
    // 404: this edge has no faucet (other networks, or an older edge): no button.
    state.faucet = e instanceof ApiError && e.status === 404 ? null : { available: false, error: e.message };
  }
  render();
}

// ---------------------------------------------------------------------------
// Connection state

let feedState = "connecting";
let restDown = false;

function onFeedState(s) {
  const wasOnline = feedState === "online";
  feedState = s;
  renderConnection();
  if (s === "online" && !wasOnline) {
    scheduleRefresh(0);
    if (!state.feeEstimates) loadFeeEstimates();
  }
}

function onRestStatus(r) {
  const down = !r.ok && (r.status === 0 || r.status === 502 || r.status === 503 || r.status === 504) && !/\/api\/faucet$/.test(r.url);
  if (down !== restDown) {
    restDown = down;
    renderConnection();
  }
}

function renderConnection() {
  const c = ui["connection-status"];
  let text;
  let st;
  const stale = feedState === "online" && !!state.live?.stale;
  if (stale) { text = "stale — no news"; st = "stale"; }
  else if (feedState === "online" && !restDown) { text = "live"; st = "online"; }
  else if (feedState === "online" && restDown) { text = "node not answering"; st = "degraded"; }
  else if (feedState === "offline") { text = "offline — retrying"; st = "offline"; }
  else if (feedState === "reconnecting") { text = "reconnecting…"; st = "reconnecting"; }
  else { text = "connecting…"; st = "connecting"; }
  c.textContent = text;
  c.dataset.state = st;
  const bannerOn = st === "offline" || st === "degraded" || st === "stale" || (st === "reconnecting" && restDown);
  show(ui["offline-banner"], bannerOn);
  ui["offline-banner"].dataset.state = st;
  if (stale) {
    ui["offline-text"].textContent = staleText(state.cfg?.edge ?? "?", state.live.silentMs, state.params?.targetSpacing);
  } else if (bannerOn) {
    ui["offline-text"].textContent = `The node at ${state.cfg?.edge ?? "?"} is not reachable: balances and history may be out of date. Retrying…`;
  }
}

// ---------------------------------------------------------------------------
// Create, unlock, lock, import, export

async function onAuthSubmit(ev) {
  ev.preventDefault();
  // Decided by the form's current mode, not by the submitter (Enter picks the first submit button).
  if (state.renderedAuthMode === "create") return createAccount();
  if (state.renderedAuthMode === "unlock") return unlockAccount();
}

function authBusy(on, text) {
  state.busy = on;
  for (const id of ["create-account", "unlock", "password", "password-confirm", "account-name"]) ui[id].disabled = on;
  ui["auth-busy"].textContent = text ?? "";
  show(ui["auth-busy"], on);
}

async function createAccount() {
  setMessage(ui["auth-error"]);
  const password = ui.password.value;
  if (!state.network) return setMessage(ui["auth-error"], "The node's network is not known yet (the node is not reachable): an address cannot be made until it answers.");
  if (password.length < MIN_PASSWORD) return setMessage(ui["auth-error"], `Choose a password of at least ${MIN_PASSWORD} characters.`);
  if (password !== ui["password-confirm"].value) return setMessage(ui["auth-error"], "The two passwords differ: type the same password twice.");
  authBusy(true, "Making a key and encrypting it (PBKDF2, 600,000 rounds)…");
  try {
    const { seed, publicKey } = await generateKeyPair();
    const file = await keystore.seal(seed, password, state.network, { publicKey });
    const key = await importSigningKey(seed);
    seed.fill(0);
    const name = ui["account-name"].value.trim() || `Account ${state.accounts.length + 1}`;
    const record = { address: file.address, name, network: state.network, publicKey: file.public_key, keystore: file, createdAt: Date.now() };
    await store.addAccount(record);
    state.unlocked = { address: record.address, key, publicKey };
    state.authMode = null;
    clearAuthFields();
    ui["account-name"].value = "";
    touch();
    await loadAccounts(record.address);
    ui.address.focus?.();
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

function lock(reason) {
  if (!state.unlocked) return;
  state.unlocked = null;
  if (state.current) state.authMode = "unlock";
  clearAuthFields();
  render();
  if (reason) ui["lock-state"].textContent = `locked (${reason})`;
}

function touch() {
  state.lastActivity = Date.now();
}

function autoLockTick() {
  if (state.unlocked && Date.now() - state.lastActivity > state.autoLockMinutes * 60_000) {
    lock(`after ${state.autoLockMinutes} min without activity`);
  }
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
    const record = { address: opened.address, name, network: opened.network, publicKey: toHex(opened.publicKey), keystore: checked.file, createdAt: Date.now() };
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

// ---------------------------------------------------------------------------
// Address book (localStorage, per network: names and addresses, nothing secret)

function contacts() {
  if (!state.network) return [];
  try {
    const list = JSON.parse(localStorage.getItem(LS_CONTACTS + state.network) || "[]");
    return Array.isArray(list) ? list.filter((c) => c && typeof c.name === "string" && typeof c.address === "string") : [];
  } catch {
    return [];
  }
}

function saveContacts(list) {
  localStorage.setItem(LS_CONTACTS + state.network, JSON.stringify(list));
  renderContacts();
}

function renderContacts() {
  const list = contacts();
  ui["contacts-list"].replaceChildren(...list.map((c) => el("option", { value: c.address, label: c.name })));
  ui.contacts.replaceChildren(...list.map((c) => {
    const pay = el("button", { type: "button", class: "link", "data-testid": "contact-pay" }, "Pay");
    pay.addEventListener("click", () => {
      ui["send-to"].value = c.address;
      closeReview();
      updatePreview();
      ui["send-amount"].focus?.();
    });
    const remove = el("button", { type: "button", class: "link", "data-testid": "contact-remove" }, "Remove");
    remove.addEventListener("click", () => saveContacts(removeContact(contacts(), c.address)));
    return el("li", { class: "contact", dataset: { address: c.address } },
      el("strong", { class: "contact-name" }, c.name), " ", el("code", { class: "hash small" }, c.address), " ", pay, " ", remove);
  }));
}

function onAddContact(ev) {
  ev.preventDefault();
  setMessage(ui["contact-error"]);
  if (!state.network) return setMessage(ui["contact-error"], "The node's network is not known yet.");
  try {
    saveContacts(addContact(contacts(), ui["contact-name"].value, ui["contact-address"].value, state.network));
    ui["contact-name"].value = "";
    ui["contact-address"].value = "";
  } catch (e) {
    setMessage(ui["contact-error"], e.message);
  }
}

/** Downloads the history shown (first page and the older pages loaded) as CSV. */
function onHistoryCSV() {
  const d = state.data;
  if (!d || d.address !== state.current?.address) return;
  const seen = new Set(d.txs.map((t) => t.txid));
  const older = state.older?.address === d.address ? state.older.txs.filter((t) => !seen.has(t.txid)) : [];
  const text = historyCSV([...d.txs, ...older], d.address, d.tipHeight);
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const link = el("a", { href: url, download: `cairn-${state.network}-history-${d.address.slice(-8)}.csv`, class: "visually-hidden" }, "download");
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function onExport() {
  const a = state.current;
  if (!a) return;
  const text = keystore.serialize(a.keystore);
  const blob = new Blob([text], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const safeName = (a.name || "account").replace(/[^A-Za-z0-9_-]+/g, "-").slice(0, 30);
  const link = el("a", { href: url, download: `cairn-${a.network}-${safeName}-${a.address.slice(-8)}.json`, class: "visually-hidden" }, "download");
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  ui["copy-status"].textContent = "Keystore file saved (encrypted; keep it and its password safe).";
}

async function onCopy() {
  const a = state.current;
  if (!a) return;
  try {
    await navigator.clipboard.writeText(a.address);
    ui["copy-status"].textContent = "Copied.";
  } catch {
    const range = document.createRange();
    range.selectNodeContents(ui.address);
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    ui["copy-status"].textContent = ok ? "Copied." : "Selected: press Ctrl+C (⌘C) to copy.";
  }
  setTimeout(() => { if (ui["copy-status"].textContent === "Copied.") ui["copy-status"].textContent = ""; }, 4000);
}

// ---------------------------------------------------------------------------
// Faucet

/** The faucet's payment, pending until the history shows it in a block (then its confirmation). */
function renderFaucetPaid() {
  const f = state.faucetPaid;
  const st = ui["faucet-status"];
  if (!f || f.address !== state.current?.address || st.dataset.state !== "ok") return;
  const tx = state.data?.address === f.address ? state.data.txs.find((t) => t.txid === f.txid) : null;
  const tail = tx?.status?.confirmed ? ` — confirmed in block ${tx.status.block_height}.` : " — pending until the next block.";
  st.replaceChildren(`Faucet sent ${formatCoins(f.amount)} CRN: `, txLink(f.txid), tail);
  st.dataset.paid = tx?.status?.confirmed ? "confirmed" : "pending";
}

let faucetTimer = null;

/** "Too soon": the wait the faucet named, counted down to the moment the button works again. */
function faucetCountdown(message) {
  const m = /try again in (\d+) s/.exec(message || "");
  const until = Date.now() + (m ? Number(m[1]) : 60) * 1000;
  const st = ui["faucet-status"];
  const reason = String(message || "").replace(/; try again in \d+ s$/, "");
  clearInterval(faucetTimer);
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(faucetTimer);
      faucetTimer = null;
      st.replaceChildren("You can ask the faucet again now.");
      st.dataset.state = "";
      return;
    }
    st.replaceChildren(`Too soon: ${reason}. Try again in ${left} s.`);
    st.dataset.state = "error";
  };
  tick();
  faucetTimer = setInterval(tick, 1000);
}

async function onFaucet() {
  const a = state.current;
  if (!a) return;
  ui.faucet.disabled = true;
  clearInterval(faucetTimer);
  faucetTimer = null;
  ui["faucet-status"].replaceChildren("Asking the faucet…");
  ui["faucet-status"].dataset.state = "busy";
  try {
    const r = await routes.faucetPay(a.address);
    state.faucetPaid = { txid: r.txid, amount: r.amount, address: a.address };
    ui["faucet-status"].dataset.state = "ok";
    renderFaucetPaid();
    scheduleRefresh(0);
  } catch (e) {
    let msg;
    if (!(e instanceof ApiError)) msg = `Faucet failed: ${e.message}`;
    else if (e.status === 429) return faucetCountdown(e.message);
    else if (e.status === 503) msg = `The faucet has no mature coins yet: ${e.message}`;
    else if (e.status === 404) msg = "This node has no faucet (faucets exist only on regtest).";
    else if (e.status === 0) msg = `The node is not reachable: ${e.message}`;
    else msg = `The faucet refused: ${e.message} (${e.code})`;
    ui["faucet-status"].replaceChildren(msg);
    ui["faucet-status"].dataset.state = "error";
  } finally {
    ui.faucet.disabled = false;
  }
}

// ---------------------------------------------------------------------------
// Send

function readRecipient() {
  const text = ui["send-to"].value.trim();
  if (!text) return { error: "Enter the address to pay." };
  try {
    return { key: decodeAddress(text, state.network), address: encodeAddress(decodeAddress(text, state.network), state.network) };
  } catch (e) {
    return { error: addressMessage(e), code: e.code };
  }
}

function readAmount() {
  return amountInput(ui["send-amount"].value);
}

function readFeeRate() {
  const text = String(ui["send-fee"].value).trim();
  const r = Number(text);
  if (!text || !Number.isFinite(r)) return { error: "Enter a fee rate in units per byte (e.g. 2)." };
  if (r < POLICY.minFeeRate) return { error: `The fee rate must be at least ${POLICY.minFeeRate} unit per byte: the node refuses less (min-relay-fee-not-met).` };
  if (r > 100_000) return { error: "That fee rate is far too high (over 100,000 units per byte)." };
  return { value: r };
}

function sendErrorText(e) {
  if (e instanceof SendError) {
    if ((e.kind === "insufficient-funds" || e.kind === "no-coins") && state.data?.partition.immature.length) {
      const sum = state.data.partition.immature.reduce((s, c) => s + c.value, 0);
      return `${cap(e.message)} (another ${formatCoins(sum)} CRN is mining reward that is not mature yet).`;
    }
    return cap(e.message);
  }
  return cap(e.message);
}

function updatePreview() {
  const p = ui["send-preview"];
  const d = state.data;
  if (!d || !state.current || !state.unlocked) { p.textContent = ""; return; }
  const r = readRecipient();
  const amt = readAmount();
  const fee = readFeeRate();
  ui["send-to-error"].textContent = ui["send-to"].value.trim() && r.error ? r.error : "";
  show(ui["send-to-error"], !!ui["send-to-error"].textContent);
  if (amt.error || fee.error) { p.textContent = fee.error && ui["send-fee"].value ? fee.error : ""; return; }
  try {
    const pl = plan({ coins: d.partition.spendable, recipient: r.key ?? new Uint8Array(32), amount: amt.value, change: new Uint8Array(32), feeRate: fee.value });
    p.textContent = `Fee ${formatCoins(pl.fee)} CRN (${pl.size} bytes × ${fee.value}), ${pl.inputs.length} coin${pl.inputs.length === 1 ? "" : "s"}, `
      + (pl.change ? `change ${formatCoins(pl.change)} CRN back to you. ` : "no change. ")
      + `Total ${formatCoins(amt.value + pl.fee)} CRN.`;
  } catch (e) {
    p.textContent = sendErrorText(e);
  }
}

function onSendMax() {
  const d = state.data;
  const fee = readFeeRate();
  if (!d || fee.error) return;
  const coins = d.partition.spendable;
  const total = coins.reduce((s, c) => s + c.value, 0);
  const max = total - feeFor(signedTxSize(coins.length, 1), fee.value);
  ui["send-amount"].value = max > 0 ? formatAmount(max).replace(/\.?0+$/, "") : "0";
  updatePreview();
}

/** Step 1: check the form, plan the transaction from fresh coins, and show it for review (nothing is signed). */
async function onSend(ev) {
  ev.preventDefault();
  setMessage(ui["send-error"]);
  closeReview();
  // A new attempt: the last one's result would read as if this one was sent.
  state.lastSend = null;
  setMessage(ui["send-result"]);
  delete ui["send-result"].dataset.status;
  const a = state.current;
  const u = state.unlocked;
  if (!a || !u || u.address !== a.address) return setMessage(ui["send-error"], "Unlock the account first.");
  const r = readRecipient();
  if (r.error) {
    ui["send-to-error"].textContent = r.error;
    show(ui["send-to-error"], true);
    ui["send-error"].dataset.code = r.code ?? "address";
    return setMessage(ui["send-error"], r.error);
  }
  const amt = readAmount();
  if (amt.error) { ui["send-error"].dataset.code = "amount"; return setMessage(ui["send-error"], amt.error); }
  const fee = readFeeRate();
  if (fee.error) { ui["send-error"].dataset.code = "fee"; return setMessage(ui["send-error"], fee.error); }

  state.busy = true;
  ui["send-submit"].disabled = true;
  try {
    let d;
    try {
      d = await refresh(); // fresh coins and tip
    } catch (e) {
      ui["send-error"].dataset.code = "unreachable";
      return setMessage(ui["send-error"], `Cannot read this account's coins from the node: ${e.message}. Nothing was sent.`);
    }
    if (!d || state.unlocked !== u) return;
    let p;
    try {
      p = plan({ coins: d.partition.spendable, recipient: r.key, amount: amt.value, change: u.publicKey, feeRate: fee.value });
    } catch (e) {
      ui["send-error"].dataset.code = e.kind ?? "plan";
      return setMessage(ui["send-error"], sendErrorText(e));
    }
    const own = state.accounts.find((x) => x.address === r.address) ?? null;
    openReview({ plan: p, to: r.address, amount: amt.value, rate: fee.value, own, account: a.address });
  } finally {
    state.busy = false;
    ui["send-submit"].disabled = !state.unlocked;
    touch();
  }
}

function openReview(review) {
  state.review = review;
  const p = review.plan;
  const named = contactFor(contacts(), review.to);
  ui["review-to"].textContent = review.to;
  ui["review-to-name"].textContent = named ? named.name : "";
  show(ui["review-to-name"], !!named);
  ui["review-amount"].textContent = formatCoins(review.amount);
  ui["review-fee"].textContent = formatCoins(p.fee);
  ui["review-fee-detail"].textContent = `(${p.size} bytes × ${review.rate} units/byte)`;
  ui["review-total"].textContent = formatCoins(review.amount + p.fee);
  ui["review-change"].textContent = formatCoins(p.change || 0);
  ui["review-coins"].textContent = `(${p.inputs.length} coin${p.inputs.length === 1 ? "" : "s"} spent)`;
  const w = ui["review-warning"];
  if (review.own) {
    const self = review.own.address === review.account;
    w.textContent = self
      ? "This is this account's own address: the coins come back to you and only the fee is spent."
      : `This is one of your own addresses (${review.own.name || "another account"} in this wallet): the coins stay yours and only the fee is spent.`;
  }
  show(w, !!review.own);
  ui["send-submit"].textContent = "Review again";
  show(ui["send-review"], true);
  ui["send-confirm"].focus?.();
}

function closeReview() {
  state.review = null;
  show(ui["send-review"], false);
  ui["send-submit"].textContent = "Review";
}

/** Step 2, after the user confirmed what the review showed: sign that plan and post it. */
async function onConfirmSend() {
  const review = state.review;
  const u = state.unlocked;
  if (!review) return;
  if (!u || u.address !== review.account || state.current?.address !== review.account) {
    closeReview();
    return setMessage(ui["send-error"], "Unlock the account first.");
  }
  state.busy = true;
  ui["send-confirm"].disabled = true;
  ui["send-back"].disabled = true;
  ui["send-confirm"].textContent = "Sending…";
  try {
    const p = review.plan;
    const signed = await signPlan(p, { key: u.key, ownerPublicKey: u.publicKey, network: state.network });
    let answer;
    try {
      answer = (await routes.broadcast(signed.hex)).trim();
    } catch (e) {
      closeReview();
      if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
        ui["send-error"].dataset.code = e.code;
        return setMessage(ui["send-error"], `The node refused the transaction: ${e.message} (${e.code}). Nothing was sent.`);
      }
      ui["send-error"].dataset.code = "unreachable";
      return setMessage(ui["send-error"], `The transaction could not be delivered: ${e.message}. It may or may not have reached the node: check the history before sending again.`);
    }
    if (answer !== signed.txid) console.warn("edge answered txid", answer, "expected", signed.txid);
    closeReview();
    state.lastSend = { txid: signed.txid, amount: review.amount, to: review.to, fee: p.fee, size: signed.size, rate: review.rate };
    ui["send-amount"].value = "";
    renderSendResult();
    show(ui["send-result"], true);
    scheduleRefresh(0);
  } catch (e) {
    closeReview();
    ui["send-error"].dataset.code = "internal";
    setMessage(ui["send-error"], `Could not send: ${e.message}`);
  } finally {
    state.busy = false;
    ui["send-confirm"].disabled = false;
    ui["send-back"].disabled = false;
    ui["send-confirm"].textContent = "Sign and send";
    ui["send-submit"].disabled = !state.unlocked;
    touch();
  }
}

// ---------------------------------------------------------------------------
// Events

function wireEvents() {
  ui["auth-form"].addEventListener("submit", onAuthSubmit);
  ui["show-create"].addEventListener("click", () => {
    state.authMode = "create";
    state.importOpen = false;
    render();
    ui["account-name"].focus();
  });
  ui["show-import"].addEventListener("click", () => {
    state.importOpen = true;
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
  ui["copy-address"].addEventListener("click", onCopy);
  ui.faucet.addEventListener("click", onFaucet);
  ui["send-form"].addEventListener("submit", onSend);
  ui["send-max"].addEventListener("click", () => { closeReview(); onSendMax(); });
  ui["send-confirm"].addEventListener("click", onConfirmSend);
  ui["send-back"].addEventListener("click", () => { closeReview(); ui["send-amount"].focus?.(); });
  ui["history-more"].addEventListener("click", loadOlder);
  ui["history-csv"].addEventListener("click", onHistoryCSV);
  ui["contact-form"].addEventListener("submit", onAddContact);
  // An entry saved in another tab of this wallet appears here too.
  globalThis.addEventListener("storage", (e) => { if (e.key && e.key.startsWith(LS_CONTACTS)) renderContacts(); });
  // Editing the form after a review drops the review: what is confirmed is what was shown.
  for (const id of ["send-to", "send-amount"]) ui[id].addEventListener("input", () => { closeReview(); updatePreview(); });
  ui["send-fee"].addEventListener("input", () => { state.feeTouched = true; closeReview(); updatePreview(); });
  // An account made or imported in another tab of this wallet appears here too.
  store.onAccountsChanged(() => { if (state.network) loadAccounts(); });
  ui["offline-retry"].addEventListener("click", () => {
    state.feed?.retryNow();
    scheduleRefresh(0);
  });
  ui.autolock.addEventListener("change", () => {
    state.autoLockMinutes = Number(ui.autolock.value) || 5;
    localStorage.setItem(LS_AUTOLOCK, String(state.autoLockMinutes));
    touch();
  });
  for (const t of ["pointerdown", "keydown", "input", "focusin"]) document.addEventListener(t, touch, { passive: true });
}

boot().catch((e) => {
  console.error(e);
  const n = document.getElementById("boot-notice");
  if (n) {
    n.textContent = `The wallet failed to start: ${e.message}`;
    n.classList.add("notice-error");
    n.hidden = false;
  }
});
