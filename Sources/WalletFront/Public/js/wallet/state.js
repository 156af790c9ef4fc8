// The wallet page's state: one sealed object (a field not declared here cannot appear elsewhere) and
// the accessors that read or change it as a whole. Pure: no DOM, no network.
// Tested by Tests/WalletFrontTests/js/wallet-state.test.mjs.

import { paths, isURLFor } from "../routes.js";

export const MIN_PASSWORD = 8;
export const LS_SELECTED = "cairn.wallet.selected";
export const LS_NETWORK = "cairn.wallet.network";
export const LS_AUTOLOCK = "cairn.wallet.autolock";
export const LS_CONTACTS = "cairn.wallet.contacts.";   // + network
/** Confirmed transactions per history page of the edge (GET /api/address/:a/txs and …/txs/chain/:last). */
export const HISTORY_PAGE = 25;

/** A fresh state (the page has one: `state` below; tests make their own). */
export function createState(now = Date.now()) {
  return Object.seal({
    cfg: null,              // { edge, ws } from /config.json
    network: null,
    networkConfirmed: false, // the node named the network (not only the last one remembered)
    params: null,
    tipHeight: null,
    accounts: [],
    current: null,          // account record
    unlocked: null,         // { address, key: CryptoKey (non-extractable), publicKey }
    authMode: null,         // "create" | "unlock" | null
    renderedAuthMode: null, // the mode the auth form shows (what Enter submits)
    importOpen: false,
    restoreOpen: false,     // the "restore from phrase" panel
    phrase: null,           // a new account's recovery phrase being shown and checked (js/wallet/phrase.js):
                            // { step: "show" | "check", words, asked: [word positions], name, password, wordCount }
    feeEstimates: null,
    feeTouched: false,
    feesCheckedAt: 0,
    faucet: null,           // { available, amount, spendable } or null
    faucetPaid: null,       // { txid, amount, address }: the faucet's last payment
    faucetCheckedAt: 0,
    faucetTimer: null,      // the "too soon" countdown
    coinbase: new Map(),    // txid → is coinbase
    data: null,             // { address, stats, utxos, partition, txs, tipHeight }
    lastSend: null,         // { txid, amount, to, fee, size, rate }
    review: null,           // { plan, to, amount, rate, own, account }: shown for confirmation, not signed yet
    older: null,            // { address, txs, done }: confirmed history pages past the first
    refresh: { timer: null, running: false, again: false },
    feed: null,
    feedState: "connecting",
    restDown: false,
    live: null,             // lib/liveness.js's watch of the feed
    lastActivity: now,
    autoLockMinutes: 5,
    busy: false,
  });
}

export const state = createState();

/** True when the selected account is the unlocked one. */
export function isUnlocked(s = state) {
  return !!(s.current && s.unlocked?.address === s.current.address);
}

/** The account to select: the wanted address if it is listed, else the first, else null. */
export function pickAccount(accounts, wanted) {
  return accounts.find((a) => a.address === wanted) ?? accounts[0] ?? null;
}

/** What the create/unlock panel shows: "create", "unlock" or null (hidden). */
export function authPanelMode(s = state) {
  if (s.importOpen || s.restoreOpen || s.phrase) return null;
  if (!s.current) return "create";
  if (s.authMode === "create") return "create";
  return isUnlocked(s) ? null : "unlock";
}

/** `count` different word positions (1-based) of a `wordCount`-word phrase, in order, to ask back. */
export function phrasePositions(wordCount, count = 3, random = Math.random) {
  const all = Array.from({ length: wordCount }, (_, i) => i + 1);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, Math.min(count, wordCount)).sort((a, b) => a - b);
}

/** The asked positions whose typed word differs from the phrase's (typed: position → text). */
export function phraseCheckMisses(words, asked, typed) {
  return asked.filter((p) => String(typed[p] ?? "").trim().toLowerCase() !== words[p - 1]);
}

/** The mode after selecting `account` (the create form stays open if it was). */
export function authModeAfterSelect(s, account) {
  if (!account) return "create";
  if (!s.unlocked || s.unlocked.address !== account.address) return s.authMode === "create" ? "create" : "unlock";
  return s.authMode;
}

/** Forgets what was read or done for the previous account. */
export function clearAccountData(s = state) {
  s.data = null;
  s.older = null;
  s.lastSend = null;
  s.review = null;
}

/** The data read for the selected account, or null while it is not there yet. */
export function currentData(s = state) {
  const d = s.data;
  return d && d.address === s.current?.address ? d : null;
}

/** The history shown: the first page, then the older pages loaded (without repeats). */
export function historyShown(d, older) {
  const seen = new Set(d.txs.map((t) => t.txid));
  const more = older?.address === d.address ? older.txs.filter((t) => !seen.has(t.txid)) : [];
  return [...d.txs, ...more];
}

/** Whether "older transactions" is offered: a full first page and older pages not exhausted. */
export function hasOlder(d, older) {
  const confirmedFirstPage = d.txs.filter((t) => t.status?.confirmed).length;
  return confirmedFirstPage >= HISTORY_PAGE && !(older?.address === d.address && older.done);
}

/** Records activity (for auto-lock). */
export function touch(s = state, now = Date.now()) {
  s.lastActivity = now;
}

/** True when an unlocked key has gone unused for the auto-lock time. */
export function autoLockDue(s = state, now = Date.now()) {
  return !!s.unlocked && now - s.lastActivity > s.autoLockMinutes * 60_000;
}

/** Auto-lock minutes from a stored or chosen value (5 when unset or not a number). */
export function autoLockMinutesFrom(value) {
  return Number(value) || 5;
}

/** True when a REST answer means the node is down (not a refusal; the faucet's own 503 does not count). */
export function restDownFrom(r) {
  return !r.ok && (r.status === 0 || r.status === 502 || r.status === 503 || r.status === 504) && !isURLFor(r.url, paths.faucet());
}

/**
 * The connection badge and banner from the feed's state, REST reachability and staleness:
 * { text, state, banner } (banner: whether the offline banner shows).
 */
export function connectionView(feedState, restDown, stale) {
  let text;
  let st;
  if (feedState === "online" && stale) { text = "stale — no news"; st = "stale"; }
  else if (feedState === "online" && !restDown) { text = "live"; st = "online"; }
  else if (feedState === "online" && restDown) { text = "node not answering"; st = "degraded"; }
  else if (feedState === "offline") { text = "offline — retrying"; st = "offline"; }
  else if (feedState === "reconnecting") { text = "reconnecting…"; st = "reconnecting"; }
  else { text = "connecting…"; st = "connecting"; }
  const banner = st === "offline" || st === "degraded" || st === "stale" || (st === "reconnecting" && restDown);
  return { text, state: st, banner };
}
