// The block interval and difficulty chart (SVG drawn by the page).
import { routes } from "../routes.js";
import { chartModel, intervalSeries, averageInterval, blockPageStarts, formatAxis } from "./chartmodel.js";
import { formatDuration } from "../ui/format.js";
import { h, s, fill, notice } from "../ui/dom.js";

/** Loads about `count` recent blocks (pages of 10 from /api/blocks/:start). */
export async function loadRecentBlocks(tipHeight, count = 60) {
  const pages = await Promise.all(blockPageStarts(tipHeight, count).map((start) => routes.blocks(start)));
  return pages.flat();
}

/** A chart bound to a container; `update(blocks)` redraws with the given blocks. */
export class IntervalChart {
  constructor(container, { maxBlocks = 60 } = {}) {
    this.container = container;
    this.maxBlocks = maxBlocks;
    this.blocks = new Map();
  }

  /** Adds blocks (newer ones replace older at the same height after a reorg) and redraws. */
  add(blocks) {
    for (const b of blocks) this.blocks.set(b.height, b);
    const heights = [...this.blocks.keys()].sort((a, b) => b - a);
    const top = heights[0];
    // Forget heights above a new tip (reorg to a shorter chain) and beyond the window.
    for (const hgt of heights) if (hgt < top - this.maxBlocks + 1) this.blocks.delete(hgt);
    this.draw();
  }

  /** After a block message: the new block; anything above it is stale. */
  tip(block) {
    for (const hgt of [...this.blocks.keys()]) if (hgt > block.height) this.blocks.delete(hgt);
    this.add([block]);
  }

  draw() {
    const series = intervalSeries([...this.blocks.values()]);
    const wide = this.container.clientWidth || 640;
    const width = Math.max(320, Math.min(1100, wide));
    const height = width < 500 ? 200 : 240;
    const m = chartModel(series, { width, height, pad: { top: 16, right: width < 500 ? 40 : 52, bottom: 30, left: width < 500 ? 36 : 48 } });
    if (m.empty || averageInterval(series) == null) {
      fill(this.container, notice("Not enough blocks yet for a chart of intervals."));
      return;
    }
    const svg = s("svg", { viewBox: `0 0 ${m.width} ${m.height}`, class: "chart", role: "img", "aria-labelledby": "chart-title chart-desc" });
    const intervals = series.filter((p) => p.interval != null).map((p) => p.interval);
    const avg = averageInterval(series) ?? 0;
    const first = series[0];
    const last = series[series.length - 1];
    svg.append(
      s("title", { id: "chart-title" }, "Block intervals and difficulty"),
      s("desc", { id: "chart-desc" },
        `Blocks ${first.height} to ${last.height}: average interval ${formatDuration(avg)}, difficulty ${formatAxis(first.difficulty)} to ${formatAxis(last.difficulty)}.`),
    );
    const { plot } = m;
    const grid = s("g", { class: "grid" });
    for (const t of m.leftTicks) {
      grid.append(s("line", { x1: plot.x0, x2: plot.x1, y1: t.y, y2: t.y }));
      grid.append(s("text", { x: plot.x0 - 6, y: t.y + 4, "text-anchor": "end", class: "axis-left" }, t.label));
    }
    for (const t of m.rightTicks) {
      grid.append(s("text", { x: plot.x1 + 6, y: t.y + 4, "text-anchor": "start", class: "axis-right" }, t.label));
    }
    for (const t of m.xTicks) {
      grid.append(s("text", { x: t.x, y: plot.y0 + 18, "text-anchor": "middle", class: "axis-x" }, String(t.value)));
    }
    grid.append(s("line", { x1: plot.x0, x2: plot.x1, y1: plot.y0, y2: plot.y0, class: "baseline" }));
    svg.append(grid);
    const bars = s("g", { class: "bars" });
    for (const b of m.bars) {
      bars.append(s("rect", { x: b.x, y: b.y, width: b.w, height: Math.max(0.5, b.h), rx: 1.5, class: b.clipped ? "clipped" : null },
        s("title", {}, `Block ${b.height}: ${formatDuration(b.interval)} after the previous block${b.clipped ? " (off the scale)" : ""}`)));
      if (b.clipped) bars.append(s("path", { class: "clip-mark", d: `M${b.x - 2} ${b.y + 6} l${b.w + 4} -4 M${b.x - 2} ${b.y + 11} l${b.w + 4} -4` }));
    }
    svg.append(bars);
    if (m.line.length > 1) {
      svg.append(s("polyline", { class: "difficulty", points: m.line.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" "), fill: "none" }));
    }
    for (const p of m.line) {
      svg.append(s("circle", { class: "difficulty-dot", cx: p.x, cy: p.y, r: 2 }, s("title", {}, `Block ${p.height}: difficulty ${p.difficulty}`)));
    }
    const legend = h("p", { class: "legend" },
      h("span", { class: "key key-bars" }), " seconds since the previous block (left axis) ",
      h("span", { class: "key key-line" }), " difficulty (right axis) · ",
      h("span", { class: "muted" }, `average ${formatDuration(avg)} over ${intervals.length} blocks`));
    fill(this.container, svg, legend);
  }
}
