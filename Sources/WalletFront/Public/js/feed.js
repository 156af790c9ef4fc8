// The edge's WebSocket feed (/api/ws) with automatic reconnect and a liveness probe (used by the
// wallet and the explorer); the REST client is api.js.
//
//   import { Feed } from "./feed.js";
//   const feed = new Feed(cfg.ws);            // cfg from api.js's loadConfig()
//   feed.onState(s => ...);                   // "connecting" | "online" | "reconnecting" | "offline"
//   feed.on("block", m => ...);               // hello, block, tx, trace, address-tx, tracking, error, or "*"
//   feed.track(address);                      // re-sent after every reconnect
//   feed.start();
//
// No DOM access here: this module only needs fetch and WebSocket.

import { pingURLFor } from "./routes.js";

/** Delay before reconnect attempt n (0-based): 0.5 s doubling up to 15 s, with ±20 % jitter. */
export function backoffDelay(attempt, { base = 500, max = 15000, random = Math.random } = {}) {
  const d = Math.min(max, base * 2 ** Math.min(attempt, 20));
  return Math.round(d * (0.8 + 0.4 * random()));
}

/**
 * The edge's WebSocket feed with automatic reconnect.
 * States: "idle" (not started), "connecting" (first attempt), "online",
 * "reconnecting" (lost, retrying; first attempts), "offline" (several attempts failed; still retrying with backoff).
 *
 * Liveness: a hung edge or a stalled network path keeps the socket open without a close, so an
 * open socket that has been silent for `idleMs` is checked with `probe` (GET /api/ping by default);
 * no answer within `probeTimeoutMs` → the socket is abandoned and the feed reconnects. A connection
 * attempt that does not open within `connectTimeoutMs` counts as failed. 0 turns a check off.
 */
export class Feed {
  constructor(url, { WebSocketImpl = globalThis.WebSocket, offlineAfter = 2, idleMs = 20000, probeTimeoutMs = 6000,
    connectTimeoutMs = 10000, probe } = {}) {
    this.url = url;
    this.WebSocketImpl = WebSocketImpl;
    this.offlineAfter = offlineAfter;
    this.idleMs = idleMs;
    this.probeTimeoutMs = probeTimeoutMs;
    this.connectTimeoutMs = connectTimeoutMs;
    this.probe = probe || ((signal) => globalThis.fetch(pingURLFor(url), { signal, cache: "no-store", mode: "cors", credentials: "omit" }));
    this.lastHeardAt = 0;
    this.watchTimer = null;
    this.connectTimer = null;
    this.state = "idle";
    this.failures = 0;
    this.nextRetryAt = null;
    this.hello = null;
    // Where the feed left off (the edge's instance, its feed sequence, the last block): sent on
    // reconnect so the edge replays what happened meanwhile, or says "resync" when it can't.
    this.cursor = { instance: null, seq: 0, hash: null };
    this.tracked = new Set();
    this.handlers = new Map();
    this.stateObservers = new Set();
    this.ws = null;
    this.timer = null;
    this.stopped = true;
    this.onBrowserOnline = () => this.retryNow();
  }

  /**
   * cb(message) for messages of one type ("hello", "block", "block-disconnected", "tx", "tx-removed",
   * "resync", "trace", "address-tx", "tracking", "error"), or "*" for all. After a reconnect the edge
   * first replays what the page missed (in order; replayed blocks carry `replay: true`); a "resync"
   * message means it could not (scope "chain", "mempool" or "all"): fetch the current state again.
   */
  on(type, cb) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(cb);
    return () => this.handlers.get(type).delete(cb);
  }

  /** cb(state, feed) now and on every change. */
  onState(cb) {
    this.stateObservers.add(cb);
    try { cb(this.state, this); } catch (e) { console.error(e); }
    return () => this.stateObservers.delete(cb);
  }

  get online() { return this.state === "online"; }

  start() {
    if (!this.stopped) return this;
    this.stopped = false;
    if (globalThis.addEventListener) globalThis.addEventListener("online", this.onBrowserOnline);
    this.setState("connecting");
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    this.clearWatch();
    if (globalThis.removeEventListener) globalThis.removeEventListener("online", this.onBrowserOnline);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
      try { ws.close(); } catch { /* already closed */ }
    }
    this.setState("idle");
  }

  /** The feed URL with the resume cursor (`?since=&instance=&since_hash=`), once the page has heard from an edge. */
  resumeURL() {
    const c = this.cursor;
    if (!c.instance) return this.url;
    const u = new URL(this.url);
    u.searchParams.set("since", String(c.seq));
    u.searchParams.set("instance", c.instance);
    if (c.hash) u.searchParams.set("since_hash", c.hash);
    return u.toString();
  }

  /** Moves the cursor past one message. */
  advance(msg) {
    const c = this.cursor;
    if (msg.type === "hello") {
      if (msg.instance !== c.instance) c.seq = Number.isInteger(msg.seq) ? msg.seq : 0;
      c.instance = typeof msg.instance === "string" ? msg.instance : null;
      if (!c.hash && typeof msg.tip === "string") c.hash = msg.tip;
      return;
    }
    if (Number.isInteger(msg.seq) && msg.seq > c.seq) c.seq = msg.seq;
    if (msg.type === "block" && msg.block && typeof msg.block.id === "string") c.hash = msg.block.id;
    // After a disconnect the tip is the disconnected block's parent.
    if (msg.type === "block-disconnected") c.hash = typeof msg.previous === "string" ? msg.previous : null;
  }

  /** Skip the backoff wait and try now (e.g. a "retry" button, or the browser coming back online). */
  retryNow() {
    if (this.stopped || this.state === "online" || this.ws) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  /** Watch an address: address-tx messages for it; re-sent after each reconnect. */
  track(address) {
    this.tracked.add(address);
    this.send({ "track-address": address });
  }

  untrack(address) {
    this.tracked.delete(address);
    this.send({ "untrack-address": address });
  }

  send(obj) {
    if (this.ws && this.ws.readyState === 1) {
      try { this.ws.send(JSON.stringify(obj)); return true; } catch { return false; }
    }
    return false;
  }

  setState(s) {
    if (s === this.state) return;
    this.state = s;
    for (const cb of [...this.stateObservers]) {
      try { cb(s, this); } catch (e) { console.error(e); }
    }
  }

  emit(type, msg) {
    for (const key of [type, "*"]) {
      const set = this.handlers.get(key);
      if (!set) continue;
      for (const cb of [...set]) {
        try { cb(msg); } catch (e) { console.error(e); }
      }
    }
  }

  connect() {
    if (this.stopped) return;
    this.nextRetryAt = null;
    let ws;
    try {
      ws = new this.WebSocketImpl(this.resumeURL());
    } catch (e) {
      this.ws = null;
      this.failed();
      return;
    }
    this.ws = ws;
    let opened = false;
    this.clearWatch();
    if (this.connectTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => { if (this.ws === ws && !opened) this.abandon(ws, false); }, this.connectTimeoutMs);
    }
    ws.onopen = () => {
      opened = true;
      this.failures = 0;
      this.lastHeardAt = Date.now();
      this.watch(ws);
      for (const a of this.tracked) this.send({ "track-address": a });
      this.setState("online");
      this.emit("open", { type: "open" });
    };
    ws.onmessage = (ev) => {
      this.lastHeardAt = Date.now();
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (!msg || typeof msg.type !== "string") return;
      if (msg.type === "hello") this.hello = msg;
      this.advance(msg);
      this.emit(msg.type, msg);
    };
    ws.onerror = () => { /* onclose follows */ };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearWatch();
      if (opened) this.emit("close", { type: "close" });
      this.failed();
    };
  }

  clearWatch() {
    clearTimeout(this.connectTimer);
    this.connectTimer = null;
    clearInterval(this.watchTimer);
    this.watchTimer = null;
  }

  /** While `ws` is open: after `idleMs` of silence, probe the edge; no answer → abandon the socket. */
  watch(ws) {
    clearTimeout(this.connectTimer);
    this.connectTimer = null;
    clearInterval(this.watchTimer);
    this.watchTimer = null;
    if (!(this.idleMs > 0)) return;
    let probing = false;
    this.watchTimer = setInterval(async () => {
      if (this.ws !== ws || probing || Date.now() - this.lastHeardAt < this.idleMs) return;
      probing = true;
      const alive = await this.probeNow();
      probing = false;
      if (this.ws !== ws) return;
      if (alive) this.lastHeardAt = Date.now();
      else this.abandon(ws, true);
    }, Math.max(250, Math.floor(this.idleMs / 3)));
    this.watchTimer?.unref?.();
  }

  /** True when the edge answers the probe (any HTTP answer) within probeTimeoutMs. */
  async probeNow() {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(new Error("timeout")), this.probeTimeoutMs);
    try {
      await this.probe(ctrl.signal);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Gives up on a socket that will not open or has gone silent, and reconnects. */
  abandon(ws, opened) {
    if (this.ws !== ws) return;
    this.ws = null;
    this.clearWatch();
    ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
    try { ws.close(); } catch { /* already closing */ }
    if (opened) this.emit("close", { type: "close" });
    this.failed();
  }

  failed() {
    if (this.stopped) return;
    const attempt = this.failures;
    this.failures += 1;
    this.setState(this.failures > this.offlineAfter ? "offline" : "reconnecting");
    const delay = backoffDelay(attempt);
    this.nextRetryAt = Date.now() + delay;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = null; this.connect(); }, delay);
    this.emit("retry", { type: "retry", delay, failures: this.failures });
  }
}
