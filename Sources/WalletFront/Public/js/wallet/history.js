// The account's balances and history as read by refresh.js, and the history's CSV export.

import { blocksToMaturity } from "../lib/coinselect.js";
import { el, show, txLink, addressLink } from "../ui/dom.js";
import { formatCoins, formatSigned } from "../lib/amount.js";
import { historyCSV } from "./model.js";
import { balancesFrom, netForAddress, confirmations, isCoinbase } from "../lib/esplora.js";
import { ui, download } from "./ui.js";
import { state, currentData, historyShown, hasOlder } from "./state.js";
import { loadOlder } from "./refresh.js";
import { canReplace } from "../lib/replace.js";
import { decodeAddress } from "../lib/bech32m.js";
import { toHex } from "../lib/encoding.js";
import { startReplacement } from "./bump.js";

function ownKeyHex(address) {
  try { return toHex(decodeAddress(address, state.network)); } catch { return null; }
}

/** "Bump fee" and "Cancel" on a pending transaction this account sent (every coin it spends is its own). */
function replaceButtons(tx, ownHex) {
  if (!ownHex || !canReplace(tx, ownHex)) return "";
  const button = (kind, label, title) => {
    const b = el("button", { type: "button", class: "chip", title, testid: `${kind}-${tx.txid}`, dataset: { replace: kind } }, label);
    b.addEventListener("click", () => startReplacement(tx.txid, kind));
    return b;
  };
  return el("span", { class: "replace small" },
    button("bump", "Bump fee", "Replace it with the same payment at a higher fee (the send form's fee rate, at least the node's minimum for a replacement)"),
    button("cancel", "Cancel", "Replace it with a payment of everything back to this account, minus a higher fee"));
}

export function renderBalances() {
  const d = currentData(state);
  if (!d) {
    ui["balance-confirmed"].textContent = "–";
    ui["balance-pending"].textContent = "–";
    ui["balance-note"].textContent = "";
    return;
  }
  const { confirmed, pending } = balancesFrom(d.stats);
  ui["balance-confirmed"].textContent = formatCoins(confirmed);
  ui["balance-pending"].textContent = formatSigned(pending);
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
  if (isCoinbase(tx)) return "mining reward";
  if (net < 0) {
    const to = tx.vout.find((o) => o.address !== address);
    return to ? ["to ", addressLink(to.address)] : "to yourself";
  }
  const from = tx.vin.find((i) => i.prevout && i.prevout.address !== address);
  return from ? ["from ", addressLink(from.prevout.address)] : "";
}

export function renderHistory() {
  const d = currentData(state);
  if (!d) {
    ui.history.replaceChildren();
    show(ui["history-more"], false);
    show(ui["history-csv"], false);
    ui["history-empty"].textContent = "Loading…";
    show(ui["history-empty"], true);
    return;
  }
  show(ui["history-more"], hasOlder(d, state.older));
  const ownHex = ownKeyHex(d.address);
  const rows = historyShown(d, state.older).map((tx) => {
    const net = netForAddress(tx, d.address);
    const confs = confirmations(tx.status, d.tipHeight);
    const when = tx.status?.block_time ? new Date(tx.status.block_time * 1000).toLocaleString() : "";
    const status = confs === 0
      ? el("span", { class: "badge warn" }, "pending")
      : el("span", { class: "badge ok" }, `${confs} confirmation${confs === 1 ? "" : "s"}`);
    return el("li", { class: "history-row", dataset: { txid: tx.txid, confirmations: String(confs) } },
      el("span", { class: `amount ${net < 0 ? "out" : "in"}` }, `${formatSigned(net)} CRN`),
      status,
      el("span", { class: "who small" }, counterparty(tx, d.address, net)),
      el("span", { class: "tx small" }, txLink(tx.txid)),
      el("span", { class: "when small muted" }, when || (confs === 0 ? "in the mempool" : "")),
      confs === 0 ? replaceButtons(tx, ownHex) : "");
  });
  ui.history.replaceChildren(...rows);
  ui["history-empty"].textContent = "No transactions yet.";
  show(ui["history-empty"], rows.length === 0);
  show(ui["history-csv"], rows.length > 0);
}

/** Downloads the history shown (first page and the older pages loaded) as CSV. */
function onHistoryCSV() {
  const d = currentData(state);
  if (!d) return;
  const text = historyCSV(historyShown(d, state.older), d.address, d.tipHeight);
  download(text, "text/csv", `cairn-${state.network}-history-${d.address.slice(-8)}.csv`);
}

export function wireHistory() {
  ui["history-more"].addEventListener("click", loadOlder);
  ui["history-csv"].addEventListener("click", onHistoryCSV);
}
