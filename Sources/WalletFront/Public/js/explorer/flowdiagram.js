// The flow view: a live diagram of the node's services with a dot moving along an arrow for each event.
import { ApiError } from "../api.js";
import { routes } from "../routes.js";
import { flowLayout, flowHops } from "./flowmodel.js";
import { shortHash } from "../ui/format.js";
import { h, s, fill } from "../ui/dom.js";

const reduceMotion = () => globalThis.matchMedia && matchMedia("(prefers-reduced-motion: reduce)").matches;

function clock(t) {
  const d = new Date(t * 1000);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/**
 * new FlowDiagram({diagram, log, feed, compact}) draws into `diagram` (an element) and lists events in `log` (an <ol>).
 * Call destroy() when leaving the page.
 */
export class FlowDiagram {
  constructor({ diagram, log, feed, compact = false, logLimit }) {
    this.diagram = diagram;
    this.log = log;
    this.feed = feed;
    this.compact = compact;
    this.logLimit = logLimit || (compact ? 6 : 40);
    this.miners = [];
    this.peers = { state: "unknown", count: 0 };
    this.dots = new Set();
    this.timers = new Set();
    this.counts = {};
    this.narrow = null;
    this.unsubs = [];
    this.stopped = false;
    this.layout = null;
    this.frame = null;
    this.logEntries = [];
    this.minerRefresh = null;
    this.unsubs.push(feed.on("trace", (m) => this.onMessage(m)));
    this.unsubs.push(feed.on("tx", (m) => this.onMessage(m)));
    this.unsubs.push(feed.on("block", (m) => this.onMessage(m)));
    this.unsubs.push(feed.onState(() => this.markConnection()));
    this.resize = () => { const n = this.isNarrow(); if (n !== this.narrow) this.draw(); };
    if (globalThis.ResizeObserver) {
      this.ro = new ResizeObserver(this.resize);
      this.ro.observe(diagram);
    } else {
      addEventListener("resize", this.resize);
    }
    this.renderLog();
    this.draw();
    this.refreshServices();
    this.poll = setInterval(() => this.refreshServices(), 15000);
  }

  destroy() {
    this.stopped = true;
    for (const u of this.unsubs) u();
    if (this.ro) this.ro.disconnect(); else removeEventListener("resize", this.resize);
    clearInterval(this.poll);
    clearTimeout(this.minerRefresh);
    for (const t of this.timers) clearTimeout(t);
    if (this.frame) cancelAnimationFrame(this.frame);
  }

  isNarrow() { return (this.diagram.clientWidth || 720) < 560; }

  async refreshServices() {
    try {
      const miners = await routes.miners();
      const ids = miners.map((m) => String(m.id).toLowerCase()).sort();
      this.minerInfo = miners;
      if (ids.join() !== this.miners.join()) { this.miners = ids; this.draw(); }
    } catch { /* the banner reports an unreachable node */ }
    try {
      const body = await routes.peers();
      const list = Array.isArray(body) ? body : Array.isArray(body && body.peers) ? body.peers : [];
      this.setPeers({ state: "running", count: list.length });
    } catch (e) {
      const state = e instanceof ApiError && (e.status === 404 || e.code === "peerbridge-unavailable") ? "absent"
        : e instanceof ApiError && e.status === 0 ? "unknown" : "down";
      this.setPeers({ state, count: 0 });
    }
  }

  setPeers(p) {
    if (p.state === this.peers.state && p.count === this.peers.count) return;
    this.peers = p;
    this.draw();
  }

  markConnection() {
    if (!this.svg) return;
    this.svg.classList.toggle("stale", this.feed.state !== "online");
  }

  draw() {
    if (this.stopped) return;
    this.narrow = this.isNarrow();
    const L = flowLayout(this.miners, { narrow: this.narrow });
    this.layout = L;
    const svg = s("svg", { viewBox: `0 0 ${L.width} ${L.height}`, class: `flow${this.compact ? " compact" : ""}`, role: "img", "aria-labelledby": "flow-title" });
    svg.append(s("title", { id: "flow-title" }, "The node's services: wallets and explorers talk to the edge; the edge to the mempool and the chain store; the mempool gives templates to the miners; miners submit blocks to the chain store."));
    const links = s("g", { class: "links" });
    for (const [a, b] of L.links) {
      const A = L.nodes[a], B = L.nodes[b];
      if (!A || !B) continue;
      const off = (a === "peers" || b === "peers") && this.peers.state !== "running";
      links.append(s("line", { x1: A.cx, y1: A.cy, x2: B.cx, y2: B.cy, class: off ? "link off" : "link" }));
    }
    svg.append(links);
    this.dotLayer = s("g", { class: "dots" });
    svg.append(this.dotLayer);
    const boxes = s("g", { class: "boxes" });
    this.boxes = {};
    for (const [name, n] of Object.entries(L.nodes)) {
      let sub = n.sub;
      let cls = `box box-${name.split(":")[0]}`;
      if (name === "peers") {
        if (this.peers.state === "running") sub = `${this.peers.count} peer${this.peers.count === 1 ? "" : "s"}`;
        else { sub = this.peers.state === "down" ? "not answering" : "not running"; cls += " off"; }
      }
      if (name.startsWith("miner:")) {
        const info = (this.minerInfo || []).find((m) => `miner:${String(m.id).toLowerCase()}` === name);
        if (info && Number.isFinite(info.hashrate) && info.hashrate > 0) sub = `${fmtRate(info.hashrate)} · ${info.threads} thr`;
        if (name === "miner:?") cls += " off";
        if (n.more) sub = `${sub} · +${n.more} more`;
      }
      const g = s("g", { class: cls, "data-node": name });
      g.append(s("rect", { x: n.x, y: n.y, width: n.w, height: n.h, rx: 8 }));
      g.append(s("text", { x: n.cx, y: n.cy - (n.h < 50 ? 3 : 4), "text-anchor": "middle", class: "label" }, n.label));
      g.append(s("text", { x: n.cx, y: n.cy + (n.h < 50 ? 13 : 14), "text-anchor": "middle", class: "sub" }, sub));
      boxes.append(g);
      this.boxes[name] = g;
    }
    svg.append(boxes);
    this.svg = svg;
    fill(this.diagram, svg);
    this.dots.clear();
    this.markConnection();
  }

  /** The box a hop names: itself, an alias (miners beyond those drawn), or any miner for an unknown one. */
  resolve(name) {
    const L = this.layout;
    if (L.nodes[name]) return name;
    if (L.alias[name]) return L.alias[name];
    if (name.startsWith("miner:")) {
      if (name !== "miner:?" && !this.minerRefresh) {
        // A miner we have not seen yet: ask for the list again.
        this.minerRefresh = setTimeout(() => { this.minerRefresh = null; this.refreshServices(); }, 500);
      }
      return Object.keys(L.nodes).find((k) => k.startsWith("miner:")) || null;
    }
    return null;
  }

  onMessage(msg) {
    if (this.stopped) return;
    const { hops, log } = flowHops(msg);
    for (const hop of hops) {
      if (hop.delay) {
        const t = setTimeout(() => { this.timers.delete(t); this.animate(hop); }, hop.delay);
        this.timers.add(t);
      } else {
        this.animate(hop);
      }
    }
    if (log) this.addLog(log);
  }

  animate(hop) {
    if (this.stopped || !this.layout) return;
    const from = this.resolve(hop.from);
    const to = this.resolve(hop.to);
    if (!from || !to) return;
    if (from === to || reduceMotion() || document.hidden || this.dots.size > 60) {
      this.flash(to, hop.kind);
      return;
    }
    const A = this.layout.nodes[from], B = this.layout.nodes[to];
    const dot = s("circle", { r: this.narrow ? 5 : 6, cx: A.cx, cy: A.cy, class: `dot dot-${hop.kind}` });
    this.dotLayer.append(dot);
    const d = { el: dot, A, B, t0: performance.now(), ms: 700, to, kind: hop.kind, layer: this.dotLayer };
    this.dots.add(d);
    if (!this.frame) this.frame = requestAnimationFrame((t) => this.step(t));
  }

  step(now) {
    this.frame = null;
    for (const d of [...this.dots]) {
      const p = Math.min(1, (now - d.t0) / d.ms);
      const e = p < 0.5 ? 2 * p * p : 1 - (-2 * p + 2) ** 2 / 2;
      d.el.setAttribute("cx", (d.A.cx + (d.B.cx - d.A.cx) * e).toFixed(1));
      d.el.setAttribute("cy", (d.A.cy + (d.B.cy - d.A.cy) * e).toFixed(1));
      if (p >= 1) {
        d.el.remove();
        this.dots.delete(d);
        if (d.layer === this.dotLayer) this.flash(d.to, d.kind);
      }
    }
    if (this.dots.size && !this.stopped) this.frame = requestAnimationFrame((t) => this.step(t));
  }

  flash(name, kind) {
    const g = this.boxes && this.boxes[name];
    if (!g) return;
    const cls = `hit-${kind}`;
    g.classList.remove(cls);
    void g.getBoundingClientRect(); // restart the CSS animation
    g.classList.add(cls);
    const t = setTimeout(() => { this.timers.delete(t); g.classList.remove(cls); }, 650);
    this.timers.add(t);
  }

  addLog(entry) {
    this.counts[entry.step] = (this.counts[entry.step] || 0) + 1;
    this.logEntries.unshift(entry);
    if (this.logEntries.length > this.logLimit) this.logEntries.length = this.logLimit;
    this.renderLog();
  }

  renderLog() {
    if (!this.log) return;
    if (this.logEntries.length === 0) {
      fill(this.log, h("li", { class: "empty muted" }, "Waiting for events: send a transaction, or wait for the next block."));
      return;
    }
    fill(this.log, this.logEntries.map((e) => h("li", { class: `ev ev-${e.kind}`, dataset: { step: e.step, id: e.id } },
      h("a", { href: e.link, class: "ev-link" },
        h("time", { class: "mono ev-time" }, clock(e.time)), " ",
        h("span", { class: `step step-${e.step.split(":")[0]}` }, e.step), " ",
        h("span", { class: "ev-text" }, e.text), " ",
        h("span", { class: "mono muted ev-id" }, `${e.kind} ${shortHash(e.id, 6)}`)))));
  }
}

function fmtRate(r) {
  if (r >= 1e9) return `${(r / 1e9).toFixed(1)} GH/s`;
  if (r >= 1e6) return `${(r / 1e6).toFixed(1)} MH/s`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)} kH/s`;
  return r < 10 ? `${r.toFixed(1)} H/s` : `${Math.round(r)} H/s`;
}
