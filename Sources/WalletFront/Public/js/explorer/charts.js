// #/charts: the node's own numbers over a chosen range, drawn in the page (SVG, no library):
// block sizes and fees, difficulty and hash rate (GET /api/charts/blocks/:count, from the chain
// store), mempool size and fee rates over time (GET /api/charts/mempool/:seconds, which the
// mempool samples every few seconds and keeps for a day).
import { routes } from "../routes.js";
import { blockSeries, lineModel, compact } from "./mempoolmodel.js";
import { h, s, fill, notice, panel } from "../ui/dom.js";

const BLOCK_RANGES = [["100", "last 100 blocks"], ["1000", "last 1,000 blocks"]];
const TIME_RANGES = [["3600", "last hour"], ["86400", "last 24 hours"]];

export async function chartsView(ctx) {
  document.title = "Charts · Cairn explorer";
  const state = { blocks: "100", seconds: "3600" };
  const sizes = h("div", { class: "chart-box", testid: "chart-block-size" });
  const fees = h("div", { class: "chart-box", testid: "chart-block-fees" });
  const difficulty = h("div", { class: "chart-box", testid: "chart-difficulty" });
  const hashrate = h("div", { class: "chart-box", testid: "chart-hashrate" });
  const poolSize = h("div", { class: "chart-box", testid: "chart-mempool-size" });
  const poolFees = h("div", { class: "chart-box", testid: "chart-mempool-fees" });
  const blockPicker = picker("blocks-range", BLOCK_RANGES, state.blocks, (v) => { state.blocks = v; loadBlocks(); });
  const timePicker = picker("mempool-range", TIME_RANGES, state.seconds, (v) => { state.seconds = v; loadPool(); });
  fill(ctx.main,
    h("h1", {}, "Charts"),
    h("p", { class: "intro muted" }, "Drawn from this node's own data: its chain store's blocks and its mempool's samples (one every few seconds, kept for a day)."),
    panel("Blocks", {}, blockPicker,
      h("div", { class: "grid-2" }, titled("Block size (bytes)", sizes), titled("Fees per block (base units)", fees)),
      h("div", { class: "grid-2" }, titled("Difficulty", difficulty), titled("Hash rate (hashes/s, over 10 blocks)", hashrate))),
    panel("Mempool", {}, timePicker,
      h("div", { class: "grid-2" }, titled("Mempool size (bytes)", poolSize), titled("Next block's fee rate (units/byte)", poolFees))));

  let blocksSeq = 0;
  async function loadBlocks() {
    const mine = ++blocksSeq;
    const list = await routes.chartBlocks(Number(state.blocks));
    if (!ctx.alive || mine !== blocksSeq) return;
    const series = blockSeries(list);
    const x = (p) => p.height;
    line(sizes, [{ values: series.map((p) => ({ x: x(p), y: p.size })) }], "height");
    line(fees, [{ values: series.map((p) => ({ x: x(p), y: p.fees })) }], "height");
    line(difficulty, [{ values: series.map((p) => ({ x: x(p), y: p.difficulty })), cls: "alt" }], "height", { zero: false });
    line(hashrate, [{ values: series.map((p) => ({ x: x(p), y: p.hashrate })) }], "height");
  }

  let poolSeq = 0;
  async function loadPool() {
    const mine = ++poolSeq;
    const list = await routes.chartMempool(Number(state.seconds));
    if (!ctx.alive || mine !== poolSeq) return;
    line(poolSize, [{ values: list.map((p) => ({ x: p.time, y: p.vsize })) }], "time");
    line(poolFees, [
      { values: list.map((p) => ({ x: p.time, y: p.next_block_median_fee })), name: "median" },
      { values: list.map((p) => ({ x: p.time, y: p.next_block_min_fee })), name: "minimum", cls: "alt" },
    ], "time");
  }

  let blockTimer = null;
  ctx.onCleanup(() => clearTimeout(blockTimer));
  const soon = () => { clearTimeout(blockTimer); blockTimer = setTimeout(() => loadBlocks().catch(console.error), 500); };
  ctx.on("block", soon);
  ctx.on("block-disconnected", soon);
  ctx.every(15000, () => loadPool().catch(console.error));
  await Promise.all([loadBlocks(), loadPool()]);
}

function titled(title, el) {
  return h("figure", { class: "chart-fig" }, h("figcaption", { class: "small" }, title), el);
}

function picker(name, options, value, onChange) {
  return h("div", { class: "chart-controls", role: "radiogroup", "aria-label": "Range", testid: name },
    options.map(([v, label]) => h("label", {},
      h("input", { type: "radio", name, value: v, checked: v === value, on: { change: (e) => { if (e.target.checked) onChange(v); } } }), ` ${label}`)));
}

/** Draws one or more series (same y scale) as polylines; x is a height or a Unix time. */
function line(el, series, xKind, opts = {}) {
  const width = Math.max(300, Math.min(640, el.clientWidth || 480));
  const height = 180;
  const all = series.flatMap((sr, i) => sr.values.map((v) => ({ ...v, i })));
  const m = lineModel(all, { width, height, ...opts });
  el.dataset.points = String(m.points.length);
  if (m.empty) return fill(el, notice(xKind === "time" ? "No samples in this range yet." : "No blocks yet."));
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
  const grid = s("g", { class: "grid" });
  for (const t of m.ticks) {
    grid.append(s("line", { x1: m.plot.x0, x2: m.plot.x1, y1: t.y, y2: t.y }));
    grid.append(s("text", { x: m.plot.x0 - 6, y: t.y + 4, "text-anchor": "end" }, t.label));
  }
  for (const [i, t] of m.xTicks.entries()) {
    const anchor = i === 0 ? "start" : i === m.xTicks.length - 1 ? "end" : "middle";
    const label = xKind === "time" ? new Date(t.value * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : String(Math.round(t.value));
    grid.append(s("text", { x: t.x, y: m.plot.y0 + 18, "text-anchor": anchor }, label));
  }
  svg.append(grid);
  series.forEach((sr, i) => {
    const pts = m.points.filter((p) => p.i === i);
    if (pts.length === 0) return;
    svg.append(s("polyline", { class: `series ${sr.cls || ""}`, points: pts.map((p) => `${p.px.toFixed(1)},${p.py.toFixed(1)}`).join(" ") },
      s("title", {}, `${sr.name || ""} ${compact(pts[pts.length - 1].y)} latest`.trim())));
    if (pts.length === 1) svg.append(s("circle", { cx: pts[0].px, cy: pts[0].py, r: 3, class: "difficulty-dot" }));
  });
  const legend = series.length > 1
    ? h("p", { class: "legend" }, series.map((sr) => [h("span", { class: `key ${sr.cls === "alt" ? "key-line" : "key-bars"}` }), ` ${sr.name} `]))
    : null;
  fill(el, svg, legend);
}
