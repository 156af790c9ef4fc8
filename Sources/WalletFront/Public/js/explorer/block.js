// #/block/<hash>[/<page>]: header fields and the block's transactions, 25 per page.
import { ApiError } from "../api.js";
import { routes } from "../routes.js";
import { confirmations, isCoinbase } from "../lib/esplora.js";
import { formatAmount } from "../lib/amount.js";
import { formatAgo, shortHash } from "../ui/format.js";
import { h, fill, fields, hashText, notice, panel } from "../ui/dom.js";

const PAGE = 25;

export async function blockHeightView(ctx, route) {
  fill(ctx.main, notice("Looking up the block…"));
  if (!/^\d+$/.test(route.arg)) return fill(ctx.main, h("h1", { text: "Not a height" }), notice(`"${route.arg}" is not a block height.`, "error"));
  let hash;
  try {
    hash = (await routes.blockHashAt(Number(route.arg))).trim();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    if (!ctx.alive) return;
    // Not a failure to retry: the chain is not that long (yet).
    const tip = await ctx.app.tip().catch(() => null);
    if (!ctx.alive) return;
    return fill(ctx.main, h("h1", { text: `No block at height ${route.arg}` }),
      notice(`This node has no block at height ${route.arg}${tip != null ? ` (its tip is at height ${tip})` : ""}.`, "error"),
      h("p", {}, h("a", { href: "#/" }, "Latest blocks")));
  }
  if (ctx.alive) location.replace(`#/block/${hash}`);
}

export async function blockView(ctx, route) {
  if (/^\d{1,10}$/.test(route.arg)) return blockHeightView(ctx, route); // #/block/<height> works too
  const hash = route.arg.toLowerCase();
  const page = route.page || 0;
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    return fill(ctx.main, h("h1", { text: "Not a block hash" }), notice("A block hash has 64 hex digits.", "error"));
  }
  const title = h("h1", {}, "Block");
  const header = h("div", { testid: "block-header" }, notice("Loading…"));
  const txs = h("div", { testid: "block-txs" }, notice("Loading…"));
  fill(ctx.main, title, h("p", { class: "mono hash subtitle" }, hash),
    panel("Header", {}, header), panel("Transactions", {}, txs));

  let block;
  try {
    block = await routes.block(hash);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      fill(header, notice("This node has no block with this hash.", "error"));
      txs.replaceChildren();
      return;
    }
    throw e;
  }
  if (!ctx.alive) return;
  title.textContent = `Block ${block.height}`;
  header.dataset.height = block.height;
  header.dataset.hash = block.id;
  document.title = `Block ${block.height} · Cairn explorer`;

  const drawHeader = (status, tip) => {
    const best = status ? status.in_best_chain : block.in_best_chain;
    const conf = confirmations({ confirmed: best, block_height: block.height }, tip);
    fill(header, fields([
      ["Hash", hashText(block.id)],
      ["Height", String(block.height)],
      ["Status", best ? h("span", { class: "badge ok" }, "in the best chain") : h("span", { class: "badge warn" }, "not in the best chain (stale)")],
      ["Confirmations", String(conf), "block-confirmations"],
      ["Time", h("span", {}, new Date(block.timestamp * 1000).toLocaleString(), " ", h("span", { class: "muted" }, `(${formatAgo(block.timestamp)})`))],
      ["Previous block", block.previousblockhash ? hashText(block.previousblockhash, `#/block/${block.previousblockhash}`) : h("span", { class: "muted" }, "none (genesis)")],
      ["Next block", status && status.next_best ? hashText(status.next_best, `#/block/${status.next_best}`) : h("span", { class: "muted" }, best ? "none yet (this is the tip)" : "none")],
      ["Transactions", String(block.tx_count)],
      ["Size", `${block.size} bytes`],
      ["Difficulty", String(block.difficulty)],
      ["Bits", h("span", { class: "mono" }, `0x${block.bits.toString(16).padStart(8, "0")}`)],
      ["Nonce", String(block.nonce)],
      ["Version", String(block.version)],
      ["Merkle root", hashText(block.merkle_root)],
      ["Chain work", hashText(block.chainwork.replace(/^0+(?=.)/, "0x"))],
    ]));
  };
  const refreshHeader = async () => {
    const [status, tip] = await Promise.all([routes.blockStatus(hash).catch(() => null), ctx.app.tip().catch(() => null)]);
    if (ctx.alive) drawHeader(status, tip);
  };
  drawHeader(null, ctx.app.tipHeight);
  refreshHeader().catch(() => {});
  ctx.on("block", () => refreshHeader().catch(() => {}));

  // Transactions, a page at a time.
  const pages = Math.max(1, Math.ceil(block.tx_count / PAGE));
  const p = Math.min(page, pages - 1);
  const list = await routes.blockTxs(hash, p * PAGE);
  if (!ctx.alive) return;
  const pager = () => {
    if (pages <= 1) return null;
    const link = (n, text, rel) => (n < 0 || n >= pages
      ? h("span", { class: "button disabled", "aria-disabled": "true" }, text)
      : h("a", { class: "button", href: `#/block/${hash}/${n}`, rel }, text));
    return h("nav", { class: "pager", "aria-label": "Transaction pages" },
      link(p - 1, "← Previous", "prev"),
      h("span", { class: "muted" }, `Page ${p + 1} of ${pages}`),
      link(p + 1, "Next →", "next"));
  };
  fill(txs,
    h("p", { class: "muted" }, `Transactions ${p * PAGE + 1}–${p * PAGE + list.length} of ${block.tx_count}`),
    pager(),
    h("ol", { class: "txlist", start: p * PAGE + 1 }, list.map((tx) => txRow(tx))),
    pager());
}

/** One transaction in a list: txid, what it spends and pays, fee. */
export function txRow(tx, extra) {
  const coinbase = isCoinbase(tx);
  const out = tx.vout.reduce((a, o) => a + BigInt(o.value), 0n);
  return h("li", { class: "txrow", dataset: { txid: tx.txid } },
    h("div", { class: "txrow-head" },
      h("a", { href: `#/tx/${tx.txid}`, class: "mono hash" }, tx.txid),
      coinbase ? h("span", { class: "badge ok" }, "coinbase") : null,
      extra || null),
    h("div", { class: "txrow-body muted" },
      `${coinbase ? "new coins" : `${tx.vin.length} input${tx.vin.length === 1 ? "" : "s"}`} → ${tx.vout.length} output${tx.vout.length === 1 ? "" : "s"}: `,
      tx.vout.slice(0, 3).map((o, i) => h("span", { class: "payee" }, i ? ", " : "",
        o.address ? h("a", { href: `#/address/${o.address}`, class: "mono" }, shortHash(o.address, 8)) : "(no address)",
        ` ${formatAmount(o.value)}`)),
      tx.vout.length > 3 ? ` and ${tx.vout.length - 3} more` : "",
      ` · total ${formatAmount(out)}`,
      coinbase ? "" : ` · fee ${formatAmount(tx.fee)}`));
}
