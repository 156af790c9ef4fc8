// The account's data from the edge: tip, stats, coins (with coinbase flags where it matters) and history,
// read again when the feed says something changed (one read at a time, a second one queued), and the
// older history pages on demand.

import { ApiError } from "../api.js";
import { routes } from "../routes.js";
import { partitionCoins } from "../lib/coinselect.js";
import { show } from "../ui/dom.js";
import { isCoinbase } from "../lib/esplora.js";
import { ui } from "./ui.js";
import { state, HISTORY_PAGE } from "./state.js";
import { render } from "./views.js";
import { renderHistory } from "./history.js";
import { updatePreview } from "./send.js";

/** Reads the account's data again after `delay` ms (a later call replaces an earlier one still waiting). */
export function scheduleRefresh(delay = 100) {
  if (!state.current || !state.cfg) return;
  clearTimeout(state.refresh.timer);
  state.refresh.timer = setTimeout(runRefresh, delay);
}

async function runRefresh() {
  const r = state.refresh;
  if (r.running) { r.again = true; return; }
  r.running = true;
  try {
    await refresh();
  } catch (e) {
    if (!(e instanceof ApiError)) console.error(e);
  } finally {
    r.running = false;
    if (r.again) { r.again = false; scheduleRefresh(0); }
  }
}

/** Reads the address's state from the edge: tip, stats, UTXOs (with coinbase flags where it matters), history. */
export async function refresh() {
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
  for (const tx of txs) state.coinbase.set(tx.txid, isCoinbase(tx));
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
      state.coinbase.set(txid, isCoinbase(tx));
    }));
  }
  return utxos.map((u) => ({
    txid: u.txid, vout: u.vout, value: u.value,
    confirmed: !!u.status?.confirmed,
    height: u.status?.confirmed ? u.status.block_height : undefined,
    coinbase: u.status?.confirmed ? (state.coinbase.get(u.txid) ?? false) : false,
  }));
}

/** The next page of confirmed transactions after the oldest one shown. */
export async function loadOlder() {
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
    if (page.length < HISTORY_PAGE) state.older.done = true;
    renderHistory();
  } catch (e) {
    ui["history-empty"].textContent = `Could not load older transactions: ${e.message}`;
    show(ui["history-empty"], true);
  } finally {
    ui["history-more"].disabled = false;
  }
}
