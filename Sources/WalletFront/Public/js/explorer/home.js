// Home: summary, latest blocks and mempool (live), the interval chart and a small flow view.
import { routes } from "../routes.js";
import { formatAxis } from "./chartmodel.js";
import { formatAmount, formatCRN } from "../lib/amount.js";
import { formatAgo, shortHash } from "../ui/format.js";
import { h, fill, notice, panel } from "../ui/dom.js";
import { IntervalChart, loadRecentBlocks } from "./chart.js";
import { FlowDiagram } from "./flowdiagram.js";

const MEMPOOL_SHOWN = 20;

export async function homeView(ctx) {
  const { app } = ctx;
  const summary = h("div", { class: "summary", "aria-live": "off" }, notice("Loading…"));
  const blocksList = h("ol", { class: "rows", testid: "latest-blocks", "aria-label": "Latest blocks" });
  const mempoolInfo = h("p", { class: "muted mempool-info" }, "Loading…");
  const mempoolList = h("ol", { class: "rows", testid: "mempool-list", "aria-label": "Transactions in the mempool" });
  const chartBox = h("div", { class: "chart-box", testid: "interval-chart" }, notice("Loading…"));
  const flowBox = h("div", { class: "flow-box", testid: "flow-diagram" });
  const flowLog = h("ol", { class: "flow-log", testid: "flow-log", "aria-label": "Recent events", "aria-live": "off" });

  fill(ctx.main,
    h("h1", { class: "visually-hidden", text: "Cairn block explorer" }),
    summary,
    h("div", { class: "grid-2" },
      panel("Latest blocks", { class: "panel blocks-panel" }, blocksList),
      panel("Mempool", { class: "panel mempool-panel" }, mempoolInfo, mempoolList)),
    h("div", { class: "grid-2 wide-left" },
      panel("Block intervals and difficulty", {}, chartBox),
      panel("Flow", { class: "panel flow-mini" },
        flowBox, flowLog,
        h("p", {}, h("a", { href: "#/flow" }, "Open the flow view")))),
  );

  const flow = new FlowDiagram({ diagram: flowBox, log: flowLog, feed: app.feed, compact: true, logLimit: 5 });
  ctx.onCleanup(() => flow.destroy());
  const chart = new IntervalChart(chartBox);

  // Latest blocks ---------------------------------------------------------
  let blocks = [];
  const drawBlocks = () => {
    if (blocks.length === 0) return fill(blocksList, h("li", { class: "muted" }, "No blocks."));
    fill(blocksList, blocks.map((b) => h("li", { class: "row", dataset: { height: b.height, hash: b.id } },
      h("a", { href: `#/block/${b.id}`, class: "row-main" },
        h("span", { class: "height" }, `#${b.height}`), " ",
        h("span", { class: "mono hash-short" }, shortHash(b.id, 10))),
      h("span", { class: "row-meta muted" }, `${b.tx_count} tx · ${b.size} B · `, h("time", { datetime: new Date(b.timestamp * 1000).toISOString(), dataset: { ts: b.timestamp } }, formatAgo(b.timestamp))))));
  };
  const loadBlocks = async () => {
    blocks = await routes.blocks();
    if (!ctx.alive) return;
    drawBlocks();
    if (blocks[0]) app.tipHeight = Math.max(app.tipHeight ?? 0, blocks[0].height);
  };

  // Mempool ---------------------------------------------------------------
  let txids = [];
  const fees = new Map();
  let pool = null;
  const drawMempool = () => {
    if (pool) mempoolInfo.textContent = `${pool.count} transaction${pool.count === 1 ? "" : "s"} · ${pool.vsize} bytes · fees ${formatAmount(pool.total_fee)}`;
    if (txids.length === 0) return fill(mempoolList, h("li", { class: "muted" }, "The mempool is empty."));
    fill(mempoolList, txids.slice(0, MEMPOOL_SHOWN).map((t) => h("li", { class: "row", dataset: { txid: t } },
      h("a", { href: `#/tx/${t}`, class: "row-main mono hash-short" }, shortHash(t, 12)),
      fees.has(t) ? h("span", { class: "row-meta muted" }, `fee ${formatAmount(fees.get(t).fee)} · ${fees.get(t).size} B`) : null)));
    if (txids.length > MEMPOOL_SHOWN) mempoolList.append(h("li", { class: "muted" }, `and ${txids.length - MEMPOOL_SHOWN} more`));
  };
  const loadMempool = async () => {
    const [info, list] = await Promise.all([routes.mempool(), routes.mempoolTxids()]);
    if (!ctx.alive) return;
    pool = info;
    txids = [...list].reverse(); // newest first
    drawMempool();
  };

  // Summary ---------------------------------------------------------------
  let chain = null;
  const loadSummary = async () => {
    const c = await routes.chain();
    if (!ctx.alive) return;
    // An answer that started before the newest block arrived must not take the height back.
    chain = chain && c.height < chain.height ? { ...c, height: chain.height, tip: chain.tip } : c;
    drawSummary();
  };
  const drawSummary = () => {
    const c = chain;
    if (!c) return;
    const item = (k, v) => h("div", { class: "stat" }, h("span", { class: "stat-k muted" }, k), h("span", { class: "stat-v" }, v));
    fill(summary,
      item("Network", c.network),
      item("Height", h("a", { href: `#/block/${c.tip}`, testid: "summary-height" }, String(c.height))),
      item("Difficulty", formatAxis(c.difficulty)),
      item("Mempool", `${c.mempool_size} tx`),
      item("Supply", formatCRN(c.supply)),
      item("UTXOs", String(c.utxo_count)));
  };

  const loadChart = async () => {
    const tip = blocks[0] ? blocks[0].height : await app.tip();
    const recent = await loadRecentBlocks(tip, 60);
    if (ctx.alive) chart.add(recent);
  };

  // Live ------------------------------------------------------------------
  let refreshTimer = null;
  const refreshSoon = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      loadMempool().catch(() => {});
      loadSummary().catch(() => {});
    }, 400);
  };
  ctx.onCleanup(() => clearTimeout(refreshTimer));
  ctx.on("block", (m) => {
    const b = m.block;
    if (!b) return;
    // The summary's height moves with the block list, not 400 ms later.
    if (chain && b.height > chain.height) {
      chain = { ...chain, height: b.height, tip: b.id };
      drawSummary();
    }
    if (blocks.length && b.height === blocks[0].height + 1 && b.previousblockhash === blocks[0].id) {
      blocks = [b, ...blocks.filter((x) => x.id !== b.id)].slice(0, 10);
      drawBlocks();
    } else if (!blocks.some((x) => x.id === b.id)) {
      loadBlocks().catch(() => {}); // a reorg or a gap: ask again
    }
    chart.tip(b);
    refreshSoon();
  });
  ctx.on("tx", (m) => {
    fees.set(m.txid, { fee: m.fee ?? 0, size: m.size });
    if (!txids.includes(m.txid)) {
      txids.unshift(m.txid);
      if (pool) { pool = { ...pool, count: pool.count + 1, vsize: pool.vsize + (m.size || 0), total_fee: pool.total_fee + (m.fee || 0) }; }
      drawMempool();
    }
    refreshSoon();
  });
  // Relative times ("5 s ago") stay true.
  ctx.every(5000, () => {
    for (const t of blocksList.querySelectorAll("time[data-ts]")) t.textContent = formatAgo(Number(t.dataset.ts));
  });

  const results = await Promise.allSettled([loadSummary(), loadBlocks(), loadMempool()]);
  if (!ctx.alive) return;
  const err = (r) => (r.status === "rejected" ? r.reason : null);
  if (err(results[0])) fill(summary, notice(`Summary unavailable: ${err(results[0]).message}`, "error"));
  if (err(results[1])) fill(blocksList, h("li", {}, notice(`Blocks unavailable: ${err(results[1]).message}`, "error")));
  if (err(results[2])) { mempoolInfo.textContent = ""; fill(mempoolList, h("li", {}, notice(`Mempool unavailable: ${err(results[2]).message}`, "error"))); }
  try {
    await loadChart();
  } catch (e) {
    if (ctx.alive) fill(chartBox, notice(`Chart unavailable: ${e.message}`, "error"));
  }
}
