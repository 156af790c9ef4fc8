// The interval and difficulty chart's pure model: no DOM, no network (the view is chart.js). Tested by
// Tests/WalletFrontTests/js/explorer.test.mjs.

/** From Esplora blocks (any order, duplicates allowed) to points sorted by height: {height, time, interval|null, difficulty}. */
export function intervalSeries(blocks) {
  const byHeight = new Map();
  for (const b of blocks || []) if (b && Number.isFinite(b.height)) byHeight.set(b.height, b);
  const sorted = [...byHeight.values()].sort((a, b) => a.height - b.height);
  return sorted.map((b, i) => {
    const prev = sorted[i - 1];
    // The genesis block has a fixed old time: genesis → block 1 is not an interval of the chain.
    const interval = prev && prev.height === b.height - 1 && prev.height > 0 ? b.timestamp - prev.timestamp : null;
    return { height: b.height, hash: b.id, time: b.timestamp, interval, difficulty: b.difficulty };
  });
}

/** The mean of a series' intervals (seconds), or null when it has none. */
export function averageInterval(series) {
  const v = (series || []).map((p) => p.interval).filter((x) => x != null && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** "Nice" tick values covering [min, max], about `count` of them (1, 2, 2.5, 5 × 10^k steps). */
export function niceTicks(min, max, count = 5) {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) {
    if (min === 0) return [0, 1];
    const pad = Math.abs(min) * 0.5;
    [min, max] = [min - pad, max + pad];
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  const start = Math.floor(min / step) * step;
  const end = Math.ceil(max / step) * step;
  const out = [];
  for (let v = start; v <= end + step / 2; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** A linear map from [d0, d1] to [r0, r1] (a flat domain maps to the middle of the range). */
export function linearScale([d0, d1], [r0, r1]) {
  const span = d1 - d0;
  return (v) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0));
}

/** Short number for axes: 1200 → "1.2k", 0.25 → "0.25". */
export function formatAxis(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return String(+v.toPrecision(3));
}

/**
 * Geometry of the chart (all numbers; the page turns it into SVG):
 * x by height, left axis seconds between blocks (bars), right axis difficulty (line).
 */
export function chartModel(series, { width = 640, height = 220, pad = { top: 16, right: 48, bottom: 30, left: 44 } } = {}) {
  const pts = series || [];
  const plot = { x0: pad.left, x1: width - pad.right, y0: height - pad.bottom, y1: pad.top };
  if (pts.length === 0) return { width, height, plot, bars: [], line: [], xTicks: [], leftTicks: [], rightTicks: [], empty: true };
  const hMin = pts[0].height;
  const hMax = pts[pts.length - 1].height;
  const slot = (plot.x1 - plot.x0) / Math.max(1, hMax - hMin + 1);
  const x = (h) => plot.x0 + (h - hMin + 0.5) * slot;
  const intervals = pts.filter((p) => p.interval != null).map((p) => p.interval);
  // One huge gap (the genesis block's fixed old time, a pause of the miners) must not flatten the rest:
  // the axis stops at a robust maximum and taller bars are drawn clipped.
  const cap = robustMax(intervals);
  const leftTicks = niceTicks(0, Math.max(1, cap), 4);
  const yTop = leftTicks[leftTicks.length - 1];
  const yL = linearScale([0, yTop], [plot.y0, plot.y1]);
  const diffs = pts.map((p) => p.difficulty).filter(Number.isFinite);
  const dMin = Math.min(...diffs);
  const dMax = Math.max(...diffs);
  // Headroom above the difficulty line so that it does not run along the top of the bars.
  const dLo = dMin === dMax ? 0 : dMin;
  const rightTicks = niceTicks(dLo, dMax + (dMax - dLo) * 0.2, 4);
  const yR = linearScale([rightTicks[0], rightTicks[rightTicks.length - 1]], [plot.y0, plot.y1]);
  const barW = Math.max(1, Math.min(24, slot * 0.7));
  const bars = pts
    .filter((p) => p.interval != null)
    .map((p) => {
      const v = Math.max(0, p.interval);
      const clipped = v > yTop;
      const top = yL(Math.min(v, yTop));
      return { height: p.height, hash: p.hash, interval: p.interval, clipped, x: x(p.height) - barW / 2, y: Math.min(top, plot.y0), w: barW, h: Math.abs(plot.y0 - top) };
    });
  const line = pts.filter((p) => Number.isFinite(p.difficulty)).map((p) => ({ height: p.height, difficulty: p.difficulty, x: x(p.height), y: yR(p.difficulty) }));
  const every = Math.max(1, Math.ceil((hMax - hMin + 1) / 6));
  const xTicks = [];
  for (let h = hMax; h >= hMin; h -= every) xTicks.unshift({ value: h, x: x(h) });
  return {
    width, height, plot, bars, line, xTicks, empty: false,
    leftTicks: leftTicks.map((v) => ({ value: v, y: yL(v), label: formatSecondsAxis(v) })),
    rightTicks: rightTicks.map((v) => ({ value: v, y: yR(v), label: formatAxis(v) })),
  };
}

/** The top of the interval axis: the largest value, unless a few outliers dwarf the rest (then 3 × the 80th percentile). */
export function robustMax(values) {
  const v = (values || []).filter(Number.isFinite).map((x) => Math.max(0, x)).sort((a, b) => a - b);
  if (v.length === 0) return 1;
  const max = v[v.length - 1];
  const p80 = v[Math.floor((v.length - 1) * 0.8)];
  return Math.max(1, p80 > 0 && max > 3 * p80 ? 3 * p80 : max);
}

/** Axis label for seconds: "45s", "5m", "2h". */
export function formatSecondsAxis(v) {
  if (v < 60 || v % 60 !== 0) return v < 600 ? `${formatAxis(v)}s` : `${+(v / 60).toFixed(1)}m`;
  if (v < 3600 || v % 3600 !== 0) return `${v / 60}m`;
  return `${v / 3600}h`;
}

/** Heights of the /api/blocks/:start pages needed for `count` recent blocks below a tip (10 per page). */
export function blockPageStarts(tipHeight, count) {
  const out = [];
  for (let h = tipHeight; h >= 0 && out.length * 10 < count; h -= 10) out.push(h);
  return out;
}
