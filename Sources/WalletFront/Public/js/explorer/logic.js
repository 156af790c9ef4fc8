// Pure logic of the explorer: no DOM, no network. Tested by Tests/WalletFrontTests/js/explorer.test.mjs.
import { decodeAddress, ADDRESS_PREFIXES as NETWORK_PREFIXES, CHARSET as BECH32_CHARS } from "../lib/bech32m.js";
import { formatCRN } from "../ui/format.js";

export { UNITS_PER_COIN } from "../lib/encoding.js";
// The amount, hash and duration formatters are the pages' shared ones (ui/format.js), named here as the views and tests know them.
export { formatAmount, formatSigned, formatDuration, formatAgo, formatRelative, shortHash } from "../ui/format.js";
export const ADDRESS_PREFIXES = Object.values(NETWORK_PREFIXES);
const MAX_HEIGHT = 2 ** 31 - 1;

/**
 * What a search box entry looks like, decided by shape only:
 *   {kind: "height", height}        digits
 *   {kind: "hash", value}           64 hex digits (a block hash or a txid: try the block first, then the transaction)
 *   {kind: "address", value}        a bech32 string with a Cairn prefix (crn1…, tcrn1…, rcrn1…)
 *   {kind: "empty"} or {kind: "invalid", reason}
 */
export function classifySearch(input) {
  const q = String(input ?? "").trim();
  if (!q) return { kind: "empty" };
  if (/^\d+$/.test(q)) {
    if (q.length > 10 || Number(q) > MAX_HEIGHT) return { kind: "invalid", reason: "That height is larger than any block height." };
    return { kind: "height", height: Number(q) };
  }
  if (/^[0-9a-fA-F]{64}$/.test(q)) return { kind: "hash", value: q.toLowerCase() };
  if (/^[0-9a-fA-F]+$/.test(q) && q.length < 64 && q.length > 10) {
    return { kind: "invalid", reason: `A block hash or transaction id has 64 hex digits; this has ${q.length}.` };
  }
  const sep = q.lastIndexOf("1");
  if (sep > 0) {
    const prefix = q.slice(0, sep);
    const data = q.slice(sep + 1);
    const looksBech32 = /^[a-zA-Z]+$/.test(prefix) && data.length >= 6 && [...data.toLowerCase()].every((c) => BECH32_CHARS.includes(c));
    if (looksBech32) {
      if (q !== q.toLowerCase() && q !== q.toUpperCase()) return { kind: "invalid", reason: "An address is all lower case or all upper case, not mixed." };
      if (!ADDRESS_PREFIXES.includes(prefix.toLowerCase())) {
        return { kind: "invalid", reason: `"${prefix.toLowerCase()}1…" is not a Cairn address (they start with crn1, tcrn1 or rcrn1).` };
      }
      const value = q.toLowerCase();
      const network = Object.keys(NETWORK_PREFIXES).find((n) => NETWORK_PREFIXES[n] === prefix.toLowerCase());
      try {
        decodeAddress(value, network);
      } catch (e) {
        if (e.code === "address-bad-checksum") return { kind: "invalid", reason: "That address has a typing mistake: its checksum does not match. Check it character by character." };
        return { kind: "invalid", reason: `That is not a valid Cairn address: ${e.message}.` };
      }
      return { kind: "address", value };
    }
  }
  const shown = q.length > 40 ? `${q.slice(0, 40)}…` : q;
  return { kind: "invalid", reason: `"${shown}" is not a block height, a block hash (64 hex digits), a transaction id (64 hex digits) or an address (rcrn1…).` };
}

/** Confirmations of something at `height` with the tip at `tipHeight` (0 when unconfirmed or unknown). */
export function confirmations(height, tipHeight) {
  if (height == null || tipHeight == null) return 0;
  return Math.max(0, tipHeight - height + 1);
}

// MARK: the interval and difficulty chart

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

/** Coins for a headline: "2,350 CRN", "0.5 CRN" (trailing zeros dropped). */
export const formatCoins = formatCRN;

/** Heights of the /api/blocks/:start pages needed for `count` recent blocks below a tip (10 per page). */
export function blockPageStarts(tipHeight, count) {
  const out = [];
  for (let h = tipHeight; h >= 0 && out.length * 10 < count; h -= 10) out.push(h);
  return out;
}

// MARK: the trace and the flow

/** The lane of a service name: "edge", "mempool", "chainstore", "miner" (miner:<id>), "peer" (peer bridge), or the name. */
export function serviceLane(service) {
  const s = String(service || "").toLowerCase().split(":")[0];
  if (s.startsWith("peer")) return "peer";
  if (s.startsWith("miner")) return "miner";
  if (s === "chain" || s === "chainstore") return "chainstore";
  return s;
}

/** The step name of a trace event: "edge:received", "mempool:accepted", "chainstore:connected". */
export function stepName(e) {
  const service = String(e.service || "").split(":")[0];
  return `${service}:${e.stage}`;
}

/** The miner id named in a trace event's detail ("asked by miner abcd…", "from miner:abcd…"), or null. */
export function minerFromDetail(detail) {
  const m = /miner[: ]([0-9a-f]{4,64})/i.exec(String(detail || ""));
  return m ? m[1].toLowerCase() : null;
}

/** The block height in a chainstore "connected" detail ("block <hash> height 12 position 1, from miner:…"). */
export function blockFromDetail(detail) {
  const s = String(detail || "");
  const h = /height (\d+)/.exec(s);
  const b = /block ([0-9a-f]{64})/.exec(s);
  return { height: h ? Number(h[1]) : null, hash: b ? b[1] : null };
}

/**
 * Timeline steps of GET /api/tx/:txid/trace ({events: [{stage, service, time, detail}]}):
 * sorted by time, with milliseconds since the first step and the share of the whole span (0…1).
 */
export function traceTimeline(events) {
  const list = [...(events || [])].filter((e) => Number.isFinite(e.time)).sort((a, b) => a.time - b.time);
  if (list.length === 0) return { steps: [], totalMs: 0 };
  const t0 = list[0].time;
  const totalMs = (list[list.length - 1].time - t0) * 1000;
  const steps = list.map((e) => {
    const ms = (e.time - t0) * 1000;
    return {
      step: stepName(e), stage: e.stage, service: e.service, time: e.time, detail: e.detail || "",
      ms, share: totalMs > 0 ? ms / totalMs : 0, miner: minerFromDetail(e.detail),
    };
  });
  return { steps, totalMs };
}

/** Flow diagram nodes. Miners get one node each ("miner:<id>"). */
export const FLOW_NODES = ["clients", "edge", "mempool", "chainstore", "peers"];

/**
 * What a feed message moves on the flow diagram: a list of hops {from, to, kind, delay} (delay in ms
 * after the message, for a second leg), plus a log entry {text, step, link} or null.
 */
export function flowHops(msg) {
  // A miner the page does not know yet still gets its id: the view resolves unknown nodes (and refreshes its miners).
  const minerNode = (id) => `miner:${id || "?"}`;
  if (!msg || typeof msg !== "object") return { hops: [], log: null };
  if (msg.type === "trace" && msg.event) {
    const e = msg.event;
    const step = stepName(e);
    const isTx = e.kind === "tx";
    const svc = serviceLane(e.service);
    const link = isTx ? `#/tx/${e.id}` : `#/block/${e.id}`;
    const base = { step, id: e.id, kind: e.kind, time: e.time, detail: e.detail || "", link };
    switch (step) {
      case "edge:received":
        return { hops: [{ from: "clients", to: "edge", kind: "tx" }, { from: "edge", to: "mempool", kind: "tx", delay: 450 }], log: { ...base, text: "transaction received by the edge" } };
      case "mempool:accepted":
        return { hops: [{ from: "mempool", to: "mempool", kind: "ok" }], log: { ...base, text: "accepted into the mempool" } };
      case "mempool:rejected":
        return { hops: [{ from: "mempool", to: "edge", kind: "bad" }], log: { ...base, text: `rejected: ${e.detail || ""}` } };
      case "mempool:removed":
        return { hops: [{ from: "mempool", to: "mempool", kind: "bad" }], log: { ...base, text: `removed from the mempool${e.detail ? `: ${e.detail}` : ""}` } };
      case "mempool:replaced":
        return { hops: [{ from: "mempool", to: "mempool", kind: "bad" }], log: { ...base, text: `replaced (fee bump)${e.detail ? `: ${e.detail}` : ""}` } };
      case "mempool:template": {
        const id = minerFromDetail(e.detail);
        return { hops: [{ from: "mempool", to: minerNode(id), kind: "tx" }], log: { ...base, text: `put in a block template${id ? ` for miner ${id.slice(0, 8)}` : ""}`, miner: id } };
      }
      case "chainstore:connected": {
        const id = minerFromDetail(e.detail);
        const fromPeer = /from peer/i.test(e.detail || "");
        const source = fromPeer ? "peers" : minerNode(id);
        if (!isTx) {
          const { height } = blockFromDetail(e.detail);
          return {
            hops: [
              { from: source, to: "chainstore", kind: "block" },
              { from: "chainstore", to: "mempool", kind: "block", delay: 600 },
              { from: "chainstore", to: "edge", kind: "block", delay: 600 },
            ],
            log: { ...base, text: `block${height != null ? ` ${height}` : ""} connected${id ? `, mined by ${id.slice(0, 8)}` : fromPeer ? ", from a peer" : ""}`, height, miner: id },
          };
        }
        const { height } = blockFromDetail(e.detail);
        return { hops: [], log: { ...base, text: `confirmed${height != null ? ` in block ${height}` : ""}`, height } };
      }
      case "chainstore:disconnected":
        return { hops: [{ from: "chainstore", to: "mempool", kind: "bad" }], log: { ...base, text: "disconnected (reorganisation)" } };
      case "mempool:returned":
        return { hops: [{ from: "chainstore", to: "mempool", kind: "bad" }], log: { ...base, text: "back in the mempool after a reorganisation" } };
      case "mempool:mined":
        return { hops: [{ from: "mempool", to: "mempool", kind: "block" }], log: { ...base, text: "left the mempool: mined" } };
      default:
        if (svc === "peer" && e.stage === "received") {
          return { hops: [{ from: "peers", to: isTx ? "mempool" : "chainstore", kind: isTx ? "tx" : "block" }], log: { ...base, text: `${isTx ? "transaction" : "block"} received from a peer` } };
        }
        if (svc === "peer" && e.stage === "relayed") {
          return { hops: [{ from: isTx ? "mempool" : "chainstore", to: "peers", kind: isTx ? "tx" : "block" }], log: { ...base, text: `${isTx ? "transaction" : "block"} relayed to peers${e.detail ? ` (${e.detail})` : ""}` } };
        }
        return { hops: [], log: { ...base, text: `${e.stage} (${e.service})` } };
    }
  }
  if (msg.type === "tx") {
    return { hops: [{ from: "mempool", to: "edge", kind: "tx" }, { from: "edge", to: "clients", kind: "tx", delay: 450 }], log: null };
  }
  if (msg.type === "block" && msg.block) {
    return { hops: [{ from: "edge", to: "clients", kind: "block", delay: 900 }], log: null };
  }
  return { hops: [], log: null };
}

/**
 * Positions of the flow diagram's boxes in its SVG coordinates, for a wide or a narrow (phone) layout.
 * Returns {width, height, nodes: {name: {x, y, w, h, label, sub}}, links: [[a, b], …]}.
 */
export function flowLayout(minerIds, { narrow = false } = {}) {
  const miners = minerIds.length ? minerIds : [];
  const W = narrow ? 360 : 720;
  const H = narrow ? 365 : 380;
  const bw = narrow ? 130 : 150;
  const nodes = {};
  const put = (name, cx, cy, label, sub, w = bw, bh = 50) => { nodes[name] = { x: cx - w / 2, y: cy - bh / 2, w, h: bh, cx, cy, label, sub }; };
  if (narrow) {
    // Phone: the peer bridge sits in the top corner so that its link to the chain store crosses no miner.
    put("clients", 232, 35, "Wallets & explorers", "HTTP · WebSocket", 170);
    put("peers", 68, 35, "Peer bridge", "other nodes", 116);
    put("edge", 180, 125, "Edge", "HTTP API");
    put("chainstore", 85, 230, "Chain store", "blocks · UTXOs");
    put("mempool", 275, 230, "Mempool", "unconfirmed");
  } else {
    put("clients", 360, 35, "Wallets & explorers", "HTTP · WebSocket", 190);
    put("edge", 360, 120, "Edge", "HTTP API · /api/ws");
    put("chainstore", 130, 205, "Chain store", "blocks · UTXOs");
    put("mempool", 590, 205, "Mempool", "unconfirmed txs");
    put("peers", 130, 335, "Peer bridge", "other nodes");
  }
  const shown = miners.length ? miners : ["?"];
  // At most three miner boxes (the rest are counted on the last one): with more, the arrows from the
  // outer miners to the chain store would run under their neighbours.
  const n = Math.min(shown.length, 3);
  // Miners share a row: beside the peer bridge on a wide screen, the whole width on a phone.
  const [left, right] = narrow ? [10, 350] : [240, 690];
  const slot = (right - left) / n;
  const mw = Math.min(narrow ? 100 : 120, slot - 12);
  for (let i = 0; i < n; i++) {
    const id = shown[i];
    const label = id === "?" ? "Miner" : `Miner ${id.slice(0, 6)}`;
    put(`miner:${id}`, left + slot * (i + 0.5), narrow ? 330 : 348, label, id === "?" ? "none asking" : "hashing", mw, 44);
    if (i === n - 1 && shown.length > n) nodes[`miner:${id}`].more = shown.length - n;
  }
  const links = [["clients", "edge"], ["edge", "mempool"], ["edge", "chainstore"], ["chainstore", "mempool"], ["peers", "chainstore"]];
  for (const id of shown.slice(0, n)) {
    links.push(["mempool", `miner:${id}`]);
    links.push([`miner:${id}`, "chainstore"]);
  }
  // Miners beyond the shown ones are drawn on the last miner box.
  const alias = {};
  for (const id of shown.slice(n)) alias[`miner:${id}`] = `miner:${shown[n - 1]}`;
  return { width: W, height: H, nodes, links, alias };
}

/** Where a route hash points: {name, arg} for "#/", "#/block/<hash>", "#/tx/<txid>", "#/address/<a>", "#/flow", "#/network". */
export function parseRoute(hash) {
  const h = String(hash || "").replace(/^#/, "");
  const parts = h.split("/").filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
  if (parts.length === 0) return { name: "home" };
  const [name, arg, extra] = parts;
  if (name === "block" && arg) return { name: "block", arg, page: extra != null ? Math.max(0, Number(extra) | 0) : 0 };
  if (name === "block-height" && arg) return { name: "block-height", arg };
  if ((name === "tx" || name === "address") && arg) return { name, arg };
  if (name === "flow" || name === "network" || name === "mempool" || name === "charts") return { name };
  return { name: "notfound", path: h };
}

/** Net effect of a transaction on an address (Esplora tx object): received − spent, in base units. */
export function netForAddress(tx, address) {
  let net = 0n;
  for (const o of tx.vout || []) if (o.address === address) net += BigInt(o.value);
  for (const i of tx.vin || []) if (i.prevout && i.prevout.address === address) net -= BigInt(i.prevout.value);
  return net;
}
