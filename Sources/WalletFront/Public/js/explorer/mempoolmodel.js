// Pure models of the mempool view and the charts (no DOM; tested by Tests/WalletFrontTests/js/mempool.test.mjs).

/**
 * Bars of the fee-rate histogram from Esplora's fee_histogram ([[rate, bytes], …], highest rate
 * first; Cairn's buckets are powers of two: [r, 2r), and 0 for under 1 unit/byte).
 * → [{from, to, bytes, label, x, y, w, h}] lowest rate first, scaled to the plot box.
 */
export function histogramBars(histogram, { width = 600, height = 200, pad = { top: 10, right: 10, bottom: 30, left: 56 } } = {}) {
  const buckets = (Array.isArray(histogram) ? histogram : [])
    .filter((p) => Array.isArray(p) && p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]) && p[1] > 0)
    .map(([rate, bytes]) => ({ from: rate, to: rate === 0 ? 1 : rate * 2, bytes }))
    .sort((a, b) => a.from - b.from);
  const plot = { x0: pad.left, x1: width - pad.right, y0: height - pad.bottom, y1: pad.top };
  if (buckets.length === 0) return { bars: [], plot, max: 0, empty: true };
  const max = Math.max(...buckets.map((b) => b.bytes));
  const slot = (plot.x1 - plot.x0) / buckets.length;
  const bars = buckets.map((b, i) => {
    const h = ((plot.y0 - plot.y1) * b.bytes) / max;
    return { ...b, label: rateLabel(b.from, b.to), x: plot.x0 + i * slot + slot * 0.1, w: slot * 0.8, y: plot.y0 - h, h };
  });
  return { bars, plot, max, empty: false };
}

export function rateLabel(from, to) {
  return from === 0 ? "<1" : `${trim(from)}–${trim(to)}`;
}

function trim(n) {
  return n >= 100 ? String(Math.round(n)) : String(Math.round(n * 100) / 100);
}

/** Expected confirmation text from a projected-block index (0: the next block). */
export function expectedConfirmation(block, blocks) {
  if (!Number.isInteger(block) || block < 0) return "unknown";
  const base = block === 0 ? "in the next block" : `in about ${block + 1} blocks`;
  return block === blocks - 1 && blocks > 1 ? `${base} or more` : base;
}

/**
 * Series for the block charts from /api/charts/blocks objects ({height, timestamp, size, tx_count, fees,
 * difficulty, work}), oldest first, with an estimated hash rate: the work (expected hashes) of the last
 * `window` blocks over the time they took, so one quick block does not spike it (null until there is a span).
 */
export function blockSeries(blocks, { window = 10 } = {}) {
  const sorted = [...blocks].sort((a, b) => a.height - b.height);
  return sorted.map((b, i) => {
    const j = Math.max(0, i - window);
    let hashrate = null;
    if (i > j) {
      const span = b.timestamp - sorted[j].timestamp;
      let work = 0;
      for (let k = j + 1; k <= i; k++) work += sorted[k].work;
      if (span > 0) hashrate = work / span;
    }
    return { height: b.height, time: b.timestamp, size: b.size, txCount: b.tx_count, fees: b.fees, difficulty: b.difficulty, hashrate };
  });
}

/**
 * A line chart's geometry: points {x, y} for each series value over x (numbers), y ticks.
 * `values` is [{x, y}] with y possibly null (gap). Returns {points, ticks, xTicks, plot, empty}.
 */
export function lineModel(values, { width = 600, height = 180, pad = { top: 10, right: 12, bottom: 28, left: 60 }, zero = true } = {}) {
  const plot = { x0: pad.left, x1: width - pad.right, y0: height - pad.bottom, y1: pad.top };
  const ok = values.filter((v) => v.y != null && Number.isFinite(v.y) && Number.isFinite(v.x));
  if (ok.length === 0) return { points: [], ticks: [], xTicks: [], plot, empty: true };
  const xs = ok.map((v) => v.x), ys = ok.map((v) => v.y);
  const xmin = Math.min(...xs), xmax = Math.max(...xs);
  let ymin = zero ? Math.min(0, ...ys) : Math.min(...ys), ymax = Math.max(...ys);
  if (ymax === ymin) ymax = ymin + (ymin === 0 ? 1 : Math.abs(ymin) * 0.1);
  const sx = (x) => (xmax === xmin ? (plot.x0 + plot.x1) / 2 : plot.x0 + ((x - xmin) * (plot.x1 - plot.x0)) / (xmax - xmin));
  const sy = (y) => plot.y0 - ((y - ymin) * (plot.y0 - plot.y1)) / (ymax - ymin);
  const points = ok.map((v) => ({ ...v, px: sx(v.x), py: sy(v.y) }));
  const ticks = [0, 0.5, 1].map((f) => { const y = ymin + f * (ymax - ymin); return { value: y, y: sy(y), label: compact(y) }; });
  const xTicks = [0, 0.5, 1].map((f) => { const x = xmin + f * (xmax - xmin); return { value: x, x: sx(x) }; });
  return { points, ticks, xTicks, plot, empty: false };
}

/** 1234 → "1.23k", 5e6 → "5M": short axis labels. */
export function compact(n) {
  const a = Math.abs(n);
  for (const [v, s] of [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]]) if (a >= v) return `${+(n / v).toPrecision(3)}${s}`;
  return String(+n.toPrecision(3));
}
