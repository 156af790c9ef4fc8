// #/mempool: the pool now, live — size, fee recommendations, the projected next blocks (the node's
// own block assembly, GET /api/v1/fees/mempool-blocks) and the fee-rate histogram (GET /api/mempool).
import { routes } from "../routes.js";
import { histogramBars, compact } from "./mempoolmodel.js";
import { formatAmount } from "../lib/amount.js";
import { h, s, fill, notice, panel } from "../ui/dom.js";

export async function mempoolView(ctx) {
  document.title = "Mempool · Cairn explorer";
  const summary = h("div", { class: "summary", testid: "mempool-summary" });
  const fees = h("div", { class: "summary", testid: "fee-recommendations" }, notice("Loading…"));
  const blocks = h("ol", { class: "projected", testid: "projected-blocks", "aria-label": "Projected next blocks" });
  const histogram = h("div", { class: "chart-box", testid: "fee-histogram" }, notice("Loading…"));
  fill(ctx.main,
    h("h1", {}, "Mempool"),
    h("p", { class: "intro muted" }, "Transactions waiting for a block. The projected blocks are what this node's block assembly would mine next, highest fee rate first; they change as transactions arrive and blocks are found."),
    summary,
    panel("Fee recommendations", {}, fees, h("p", { class: "muted small" }, "Fee rate (base units per byte) to confirm within about this many blocks.")),
    panel("Projected next blocks", {}, blocks),
    panel("Fee rates waiting", {}, histogram));

  const load = async () => {
    const [info, proj, est] = await Promise.all([routes.mempool(), routes.mempoolBlocks(), routes.feeEstimates().catch(() => null)]);
    if (!ctx.alive) return;
    fill(summary,
      stat("Transactions", String(info.count), "mempool-count", info.count),
      stat("Size", `${compact(info.vsize)} bytes`, "mempool-bytes", info.vsize),
      stat("Total fees", `${formatAmount(info.total_fee)} CRN`, "mempool-fees", info.total_fee),
      stat("Projected blocks", String(proj.length), "mempool-blocks-count", proj.length));
    if (est) {
      fill(fees, ["1", "3", "6", "25"].map((n) => stat(n === "1" ? "Next block" : `${n} blocks`, `${rate(est[n])} /byte`, `fee-${n}`, est[n])));
    } else {
      fill(fees, notice("Fee estimates unavailable."));
    }
    drawBlocks(blocks, proj);
    drawHistogram(histogram, info.fee_histogram);
  };

  // Live: every pool change and every block moves the picture; redraw at most every 500 ms.
  let timer = null;
  let again = false;
  let running = false;
  const refresh = () => {
    if (!ctx.alive) return;
    if (running) { again = true; return; }
    if (timer) return;
    timer = setTimeout(async () => {
      timer = null;
      running = true;
      try { await load(); } catch (e) { console.error(e); } finally {
        running = false;
        if (again) { again = false; refresh(); }
      }
    }, 500);
  };
  ctx.onCleanup(() => clearTimeout(timer));
  for (const type of ["tx", "tx-removed", "block", "block-disconnected", "resync"]) ctx.on(type, refresh);
  await load();
}

function stat(k, v, testid, value) {
  return h("div", { class: "stat", testid, dataset: { value } }, h("span", { class: "stat-k muted" }, k), h("span", { class: "stat-v" }, v));
}

function rate(x) {
  return x == null ? "?" : Number(x).toFixed(x >= 10 ? 0 : 2);
}

function drawBlocks(el, proj) {
  if (proj.length === 0) return fill(el, h("li", { class: "empty-state" }, "The mempool is empty: the next block would hold only its coinbase."));
  fill(el, proj.map((b, i) => h("li", { class: "projected-block", testid: "projected-block", dataset: { index: i, ntx: b.nTx, median: b.medianFee } },
    h("strong", {}, i === 0 ? "Next block" : i === proj.length - 1 && i > 0 ? `+${i} and later` : `+${i}`),
    h("span", { class: "pb-fee" }, `~${rate(b.medianFee)} /byte`),
    h("span", { class: "muted small" }, `${rate(b.feeRange[0])} – ${rate(b.feeRange[b.feeRange.length - 1])} /byte`),
    h("span", { class: "small" }, `${b.nTx} tx · ${compact(b.blockSize)} bytes`),
    h("span", { class: "muted small" }, `${formatAmount(b.totalFees)} CRN fees`))));
}

function drawHistogram(el, histogram) {
  const width = Math.max(320, Math.min(1000, el.clientWidth || 640));
  const m = histogramBars(histogram, { width, height: 200 });
  if (m.empty) return fill(el, notice("No transactions waiting."));
  const svg = s("svg", { viewBox: `0 0 ${width} 200`, class: "chart", role: "img", "aria-label": "Bytes of transactions waiting, by fee rate" });
  const grid = s("g", { class: "grid" });
  grid.append(s("line", { x1: m.plot.x0, x2: m.plot.x1, y1: m.plot.y0, y2: m.plot.y0, class: "baseline" }));
  grid.append(s("text", { x: m.plot.x0 - 6, y: m.plot.y1 + 8, "text-anchor": "end" }, `${compact(m.max)} B`));
  grid.append(s("text", { x: m.plot.x0 - 6, y: m.plot.y0, "text-anchor": "end" }, "0"));
  svg.append(grid);
  const bars = s("g", { class: "bars" });
  for (const b of m.bars) {
    bars.append(s("rect", { x: b.x, y: b.y, width: b.w, height: Math.max(0.5, b.h), rx: 1.5, "data-rate": b.from, "data-bytes": b.bytes },
      s("title", {}, `${b.label} units/byte: ${b.bytes} bytes waiting`)));
    bars.append(s("text", { x: b.x + b.w / 2, y: m.plot.y0 + 16, "text-anchor": "middle" }, b.label));
  }
  svg.append(bars);
  fill(el, svg, h("p", { class: "legend" }, "Bytes waiting per fee-rate band (units/byte); the further right, the sooner mined."));
}
