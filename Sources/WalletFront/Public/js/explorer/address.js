// #/address/<addr>: balance (confirmed and pending), UTXOs and history, live via address tracking.
import { ApiError } from "../api.js";
import { routes } from "../routes.js";
import { balancesFrom, confirmations, netForAddress } from "../lib/esplora.js";
import { formatAmount, formatCRN, formatSigned } from "../lib/amount.js";
import { shortHash } from "../ui/format.js";
import { h, fill, fields, notice, panel } from "../ui/dom.js";
import { qrSVG } from "../lib/qr.js";

export async function addressView(ctx, route) {
  const address = route.arg.trim();
  document.title = `Address ${address.slice(0, 14)}… · Cairn explorer`;
  const balance = h("div", { testid: "address-balance" }, notice("Loading…"));
  const utxos = h("div", { testid: "address-utxos" }, notice("Loading…"));
  const history = h("div", { testid: "address-history" }, notice("Loading…"));
  fill(ctx.main,
    h("h1", {}, "Address"),
    h("p", { class: "mono hash subtitle" }, address),
    panel("Balance", {}, balance),
    panel("Unspent outputs", {}, utxos),
    panel("History", {}, history));

  let info;
  try {
    info = await routes.address(address);
  } catch (e) {
    if (e instanceof ApiError && e.status === 400) {
      fill(balance, notice(`Not a valid address for this node: ${e.message}`, "error"));
      utxos.replaceChildren();
      history.replaceChildren();
      return;
    }
    throw e;
  }
  if (!ctx.alive) return;
  // A valid address (the edge accepted it): its QR code under the title.
  const qrBox = h("div", { class: "qr-box", testid: "address-qr" });
  ctx.main.querySelector(".subtitle")?.after(qrBox);
  qrSVG(address).then((svg) => { if (ctx.alive) qrBox.replaceChildren(svg); })
    .catch((e) => { if (ctx.alive) fill(qrBox, h("p", { class: "muted small" }, `No QR code: ${e.message}.`)); });

  const drawBalance = (a) => {
    const c = a.chain_stats, m = a.mempool_stats;
    const { confirmed, pending } = balancesFrom(a);
    balance.dataset.confirmed = confirmed.toString();
    balance.dataset.pending = pending.toString();
    fill(balance, fields([
      ["Confirmed", h("strong", { class: "amount", dataset: { value: confirmed.toString() } }, formatCRN(confirmed)), "address-confirmed"],
      ["Pending", h("span", { class: "amount", dataset: { value: pending.toString() } }, `${formatSigned(pending)} CRN`), "address-pending"],
      ["Total", formatCRN(confirmed + pending)],
      ["Transactions", `${c.tx_count} confirmed, ${m.tx_count} unconfirmed`],
      ["Received", `${formatCRN(c.funded_txo_sum)} in ${c.funded_txo_count} outputs`],
      ["Spent", `${formatCRN(c.spent_txo_sum)} from ${c.spent_txo_count} outputs`],
    ]));
  };

  const drawUtxos = (list, tip) => {
    if (list.length === 0) return fill(utxos, notice("No unspent outputs."));
    const sorted = [...list].sort((a, b) => (a.status.confirmed === b.status.confirmed ? (b.status.block_height || 0) - (a.status.block_height || 0) : a.status.confirmed ? 1 : -1));
    fill(utxos, h("p", { class: "muted" }, `${list.length} output${list.length === 1 ? "" : "s"}, ${formatCRN(list.reduce((a, u) => a + u.value, 0))}`),
      h("ol", { class: "rows" }, sorted.slice(0, 200).map((u) => h("li", { class: "row", dataset: { txid: u.txid, vout: u.vout } },
        h("a", { class: "row-main mono", href: `#/tx/${u.txid}` }, `${shortHash(u.txid, 10)}:${u.vout}`),
        h("span", { class: "row-meta" }, h("strong", { class: "amount" }, formatAmount(u.value)), " ",
          u.coinbase === true ? [h("span", { class: "badge" }, "coinbase"), " "] : null,
          u.status.confirmed ? h("span", { class: "muted" }, `${confirmations(u.status, tip)} conf.`) : h("span", { class: "badge warn" }, "unconfirmed"))))),
      list.length > 200 ? h("p", { class: "muted" }, `and ${list.length - 200} more`) : null);
  };

  let txs = [];
  let more = true;
  const drawHistory = (tip) => {
    if (txs.length === 0) return fill(history, notice("No transactions yet."));
    const loadMore = more && txs.some((t) => t.status.confirmed) && txs.filter((t) => t.status.confirmed).length % 25 === 0
      ? h("button", { type: "button", on: { click: (ev) => { ev.target.disabled = true; loadOlder().catch((e) => { ev.target.disabled = false; history.append(notice(e.message, "error")); }); } } }, "Load older transactions")
      : null;
    fill(history, h("ol", { class: "rows" }, txs.map((t) => {
      const net = netForAddress(t, address);
      return h("li", { class: "row", dataset: { txid: t.txid } },
        h("a", { class: "row-main mono", href: `#/tx/${t.txid}` }, shortHash(t.txid, 12)),
        h("span", { class: "row-meta" },
          h("strong", { class: net >= 0 ? "amount in" : "amount out" }, `${formatSigned(net)} CRN`), " ",
          t.status.confirmed
            ? h("span", { class: "muted" }, `block ${t.status.block_height} · ${confirmations(t.status, tip)} conf.`)
            : h("span", { class: "badge warn" }, "pending")));
    })), loadMore);
  };

  const loadOlder = async () => {
    const confirmed = txs.filter((t) => t.status.confirmed);
    const next = await routes.addressChainTxs(address, confirmed[confirmed.length - 1].txid);
    if (!ctx.alive) return;
    if (next.length < 25) more = false;
    txs = txs.concat(next.filter((t) => !txs.some((x) => x.txid === t.txid)));
    drawHistory(await ctx.app.tip().catch(() => null));
  };

  const loadAll = async () => {
    const [a, u, t, tip] = await Promise.all([routes.address(address), routes.addressUtxos(address), routes.addressTxs(address), ctx.app.tip().catch(() => null)]);
    if (!ctx.alive) return;
    drawBalance(a);
    drawUtxos(u, tip);
    txs = t;
    more = true;
    drawHistory(tip);
  };

  drawBalance(info);
  // Live: the edge tells us about transactions touching this address (re-sent after a reconnect by the feed).
  ctx.app.feed.track(address);
  ctx.onCleanup(() => ctx.app.feed.untrack(address));
  let timer = null;
  const soon = () => { clearTimeout(timer); timer = setTimeout(() => loadAll().catch(() => {}), 300); };
  ctx.onCleanup(() => clearTimeout(timer));
  ctx.on("address-tx", (m) => { if (m.address === address) soon(); });
  ctx.on("block", soon);
  await loadAll();
}
