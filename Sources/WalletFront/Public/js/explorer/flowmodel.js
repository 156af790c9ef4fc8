// The trace and the flow, pure: lanes, steps and hops from trace events, and the flow diagram's layout; no DOM,
// no network (the views are tx.js, flow.js and flowdiagram.js). Tested by Tests/WalletFrontTests/js/explorer.test.mjs.

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
