// #/tx/<txid>: status, confirmations (or, pending, the expected confirmation), fee, inputs, outputs
// with who spends each, and the trace timeline.
import { ApiError } from "../api.js";
import { routes } from "../routes.js";
import { confirmations, isCoinbase } from "../lib/esplora.js";
import { traceTimeline, blockFromDetail, serviceLane } from "./flowmodel.js";
import { expectedConfirmation } from "./mempoolmodel.js";
import { formatAmount } from "../lib/amount.js";
import { formatRelative } from "../ui/format.js";
import { h, s, fill, fields, hashText, notice, panel } from "../ui/dom.js";

const LANES = ["edge", "mempool", "miner", "chainstore", "peer"];
const LANE_LABEL = { edge: "Edge", mempool: "Mempool", miner: "Miner", chainstore: "Chain store", peer: "Peer" };

export async function txView(ctx, route) {
  const txid = route.arg.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(txid)) {
    return fill(ctx.main, h("h1", { text: "Not a transaction id" }), notice("A transaction id has 64 hex digits.", "error"));
  }
  document.title = `Transaction ${txid.slice(0, 12)}… · Cairn explorer`;
  const summary = h("div", { class: "tx-summary" }, notice("Loading…"));
  const inputs = h("ol", { class: "io", testid: "tx-inputs", "aria-label": "Inputs" });
  const outputs = h("ol", { class: "io", testid: "tx-outputs", "aria-label": "Outputs" });
  const trace = h("div", { testid: "trace-timeline", class: "trace" }, notice("Loading the trace…"));
  // The serialized transaction (PROTOCOL.md §2), fetched when opened.
  const hex = h("pre", { class: "mono hash raw-hex", testid: "tx-hex" });
  const raw = h("details", { testid: "tx-raw" }, h("summary", {}, "Raw transaction (hex)"), hex);
  raw.addEventListener("toggle", async () => {
    if (!raw.open || hex.dataset.loaded) return;
    hex.textContent = "Loading…";
    try {
      const text = (await routes.txHex(txid)).trim();
      if (!ctx.alive) return;
      hex.textContent = text;
      hex.dataset.loaded = "true";
      raw.querySelector("summary").textContent = `Raw transaction (hex, ${text.length / 2} bytes)`;
    } catch (e) {
      if (ctx.alive) hex.textContent = `Unavailable: ${e.message}`;
    }
  });
  fill(ctx.main,
    h("h1", {}, "Transaction"),
    h("p", { class: "mono hash subtitle" }, txid),
    panel("Status", {}, summary),
    h("div", { class: "grid-2" }, panel("Inputs", {}, inputs), panel("Outputs", {}, outputs)),
    panel("Path through the node", {}, trace),
    panel("Raw", {}, raw));

  let tx = null;
  const load = async () => {
    try {
      tx = await routes.tx(txid);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        fill(summary, notice("This node knows no such transaction: it is neither in the chain nor in the mempool.", "error"));
        inputs.replaceChildren();
        outputs.replaceChildren();
        return false;
      }
      throw e;
    }
    if (!ctx.alive) return false;
    const [tip, spends, place] = await Promise.all([
      tx.status.confirmed ? ctx.app.tip().catch(() => null) : null,
      routes.txOutspends(txid).catch(() => null),
      // Pending: its place among the projected blocks (404 once it has left the mempool meanwhile).
      tx.status.confirmed ? null : routes.mempoolPosition(txid).catch(() => null),
    ]);
    if (!ctx.alive) return false;
    drawSummary(summary, tx, tip, place);
    drawInputs(inputs, tx);
    drawOutputs(outputs, tx, spends);
    return true;
  };

  const loadTrace = async () => {
    try {
      const t = await routes.txTrace(txid);
      if (ctx.alive) drawTrace(trace, t.events);
    } catch (e) {
      if (!ctx.alive) return;
      if (e instanceof ApiError && e.status === 404) fill(trace, notice("No service recorded this transaction's path (it may predate the trace, or never reached this node)."));
      else fill(trace, notice(`Trace unavailable: ${e.message}`, "error"));
    }
  };

  // Live: a new block changes confirmations (or confirms it); its own trace events extend the timeline.
  let traceTimer = null;
  let txTimer = null;
  ctx.onCleanup(() => { clearTimeout(traceTimer); clearTimeout(txTimer); });
  const reloadSoon = (which) => {
    if (which === "trace") { clearTimeout(traceTimer); traceTimer = setTimeout(() => loadTrace(), 250); }
    else { clearTimeout(txTimer); txTimer = setTimeout(() => load().catch(() => {}), 250); }
  };
  ctx.on("block", () => reloadSoon("tx"));
  ctx.on("trace", (m) => {
    if (m.event && m.event.id === txid) {
      reloadSoon("trace");
      if (["accepted", "connected", "disconnected", "removed", "replaced"].includes(m.event.stage)) reloadSoon("tx");
    }
  });
  // Any new or removed pool transaction may spend one of its outputs, or move it among the projected blocks.
  ctx.on("tx", () => reloadSoon("tx"));
  ctx.on("tx-removed", () => reloadSoon("tx"));

  await Promise.all([load(), loadTrace()]);
}

function drawSummary(el, tx, tip, place) {
  const st = tx.status;
  const conf = confirmations(st, tip);
  const coinbase = isCoinbase(tx);
  const inSum = tx.vin.reduce((a, i) => a + BigInt(i.prevout ? i.prevout.value : 0), 0n);
  const outSum = tx.vout.reduce((a, o) => a + BigInt(o.value), 0n);
  const rate = tx.size ? (Number(tx.fee) / tx.size).toFixed(2) : "0";
  fill(el, fields([
    ["Status", st.confirmed
      ? h("span", { class: "badge ok", dataset: { confirmed: "true" } }, `Confirmed in block ${st.block_height}`)
      : h("span", { class: "badge warn", dataset: { confirmed: "false" } }, "Pending: in the mempool, not yet in a block"), "tx-status",
      { confirmed: String(st.confirmed), height: st.confirmed ? st.block_height : null }],
    ["Confirmations", String(conf), "tx-confirmations", { value: conf }],
    st.confirmed ? null : ["Expected confirmation", place ? expectedText(place)
      : h("span", { class: "muted" }, "unknown (not among the projected blocks)"), "tx-expected", { block: place ? place.block : null }],
    st.confirmed ? ["Block", hashText(st.block_hash, `#/block/${st.block_hash}`)] : null,
    st.confirmed && st.block_time ? ["Block time", new Date(st.block_time * 1000).toLocaleString()] : null,
    ["Fee", coinbase ? h("span", {}, "none (coinbase: new coins and the block's fees)")
      : h("span", {}, `${formatAmount(tx.fee)} CRN `, h("span", { class: "muted" }, `(${rate} units/byte)`)), "tx-fee", { value: tx.fee, rate }],
    ["Size", `${tx.size} bytes`],
    ["Total in", coinbase ? "—" : `${formatAmount(inSum)} CRN`],
    ["Total out", `${formatAmount(outSum)} CRN`],
    ["Version", String(tx.version)],
  ]));
}

function drawInputs(el, tx) {
  fill(el, tx.vin.map((i, n) => h("li", { class: "io-row", dataset: { index: n } },
    i.is_coinbase
      ? h("span", {}, h("span", { class: "badge ok" }, "coinbase"), " new coins ", h("span", { class: "muted mono hash" }, i.coinbase || ""))
      : [
        h("div", {}, i.prevout && i.prevout.address ? h("a", { class: "mono hash", href: `#/address/${i.prevout.address}` }, i.prevout.address) : h("span", { class: "muted" }, "unknown owner"),
          h("strong", { class: "amount" }, i.prevout ? ` ${formatAmount(i.prevout.value)}` : "")),
        h("div", { class: "muted small" }, "spends ", h("a", { class: "mono hash", href: `#/tx/${i.txid}` }, `${i.txid}:${i.vout}`)),
      ])));
}

/** "in about N blocks" from the projected block index (0: the next block). */
function expectedText(place) {
  return h("span", { class: "expected" }, expectedConfirmation(place.block, place.blocks),
    h("span", { class: "muted" }, ` (projected block ${place.block + 1} of ${place.blocks}, from the node's block assembly)`));
}

function drawOutputs(el, tx, spends) {
  fill(el, tx.vout.map((o, n) => h("li", { class: "io-row", dataset: { index: n } },
    h("div", {}, h("span", { class: "muted" }, `#${n} `),
      o.address ? h("a", { class: "mono hash", href: `#/address/${o.address}` }, o.address) : h("span", { class: "muted" }, "(not an address)"),
      h("strong", { class: "amount" }, ` ${formatAmount(o.value)}`)),
    spentBy(spends ? spends[n] : null))));
}

/** "spent by <txid>:<vin>" (pending or in block N), "unspent", or nothing if the node could not say. */
function spentBy(sp) {
  if (!sp) return h("div", { class: "muted small", testid: "spent-by", dataset: { spent: "unknown" } }, "spent by: unknown");
  if (!sp.spent) return h("div", { class: "muted small", testid: "spent-by", dataset: { spent: "false" } }, "unspent");
  const where = sp.status && sp.status.confirmed ? ` in block ${sp.status.block_height}` : " (pending, in the mempool)";
  return h("div", { class: "muted small", testid: "spent-by", dataset: { spent: "true", txid: sp.txid, vin: sp.vin } },
    "spent by ", h("a", { class: "mono hash", href: `#/tx/${sp.txid}` }, `${sp.txid}:${sp.vin}`), where);
}

/** The trace as a lane chart (one lane per service, steps in order, each labelled with its time) and an ordered list of steps. */
function drawTrace(el, events) {
  const { steps, totalMs } = traceTimeline(events);
  if (steps.length === 0) return fill(el, notice("No trace events."));
  const laneOf = (st) => serviceLane(st.service);
  // The miner stamps nothing itself, but the chain store's "connected" names the miner whose block it was:
  // the chart shows that hop as a hollow point on a miner lane (no time of its own).
  const points = [];
  for (const st of steps) {
    if (st.step === "chainstore:connected" && st.miner) points.push({ derived: true, lane: "miner", label: `miner ${st.miner.slice(0, 6)}`, st });
    points.push({ derived: false, lane: laneOf(st), label: formatRelative(st.ms), st });
  }
  const present = new Set(points.map((p) => p.lane));
  const lanesUsed = LANES.filter((l) => present.has(l)).concat([...present].filter((l) => !LANES.includes(l)));
  const left = 96, right = 40, top = 12, laneH = 40;
  const W = Math.max(560, left + right + points.length * 86);
  const H = top + lanesUsed.length * laneH + 8;
  const xAt = (i) => (points.length === 1 ? left + 20 : left + 20 + (i * (W - left - right - 20)) / (points.length - 1));
  const laneY = (l) => top + lanesUsed.indexOf(l) * laneH + laneH / 2 - 6;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "trace-chart", role: "img", "aria-label": "Timeline of the transaction's steps through the services, in order, with times relative to the first step" });
  for (const l of lanesUsed) {
    const y = laneY(l);
    svg.append(s("line", { x1: left, x2: W - right + 20, y1: y, y2: y, class: "lane" }));
    svg.append(s("text", { x: left - 10, y: y + 4, "text-anchor": "end", class: `lane-label lane-${l}` }, LANE_LABEL[l] || l));
  }
  // Readable text on a phone: the chart keeps most of its size and scrolls sideways instead of shrinking.
  svg.style.minWidth = `${Math.round(W * 0.85)}px`;
  const pts = points.map((p, i) => ({ ...p, x: xAt(i), y: laneY(p.lane) }));
  svg.append(s("polyline", { points: pts.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" "), class: "trace-path", fill: "none" }));
  for (const p of pts) {
    const title = p.derived
      ? `mined by miner ${p.st.miner} (from the block's source; the miner records no time of its own)`
      : `${p.st.step} ${formatRelative(p.st.ms)}${p.st.detail ? `: ${p.st.detail}` : ""}`;
    svg.append(s("circle", { cx: p.x, cy: p.y, r: 7, class: p.derived ? "trace-dot derived lane-miner" : `trace-dot lane-${p.lane} stage-${p.st.stage}` }, s("title", {}, title)));
    svg.append(s("text", { x: p.x, y: p.y + 20, "text-anchor": "middle", class: p.derived ? "time-label derived" : "time-label" }, p.label));
  }
  const list = h("ol", { class: "trace-steps" }, steps.map((st) => {
    const { hash } = blockFromDetail(st.detail);
    let detail = st.detail;
    let link = null;
    if (hash) { detail = st.detail.replace(hash, "").replace(/^block\s+/, "").replace(/^in block\s+/, ""); link = h("a", { href: `#/block/${hash}`, class: "mono" }, `block ${hash.slice(0, 12)}…`); }
    return h("li", { class: `trace-step lane-${laneOf(st)}`, dataset: { step: st.step, ms: st.ms.toFixed(3) } },
      h("span", { class: "mono rel" }, formatRelative(st.ms)),
      h("span", { class: `step step-${laneOf(st)}` }, st.step),
      h("span", { class: "detail" }, link, link ? " " : "", detail));
  }));
  fill(el, h("div", { class: "trace-scroll" }, svg),
    h("p", { class: "muted small" }, `${steps.length} steps over ${formatRelative(totalMs).slice(1)}, in order; times relative to the first step.`,
      points.some((p) => p.derived) ? " The hollow point is the miner named by the block (a miner records no time of its own)." : ""),
    list);
}
