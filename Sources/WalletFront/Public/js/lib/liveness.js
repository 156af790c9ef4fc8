// Is what the page shows still live? A hung edge (or a stalled path to it) keeps the feed's socket
// open and silent, and the feed itself only checks after 20 s of silence. A chain announces a block
// about every `targetSpacing` seconds, so silence longer than a few of its own block intervals is
// suspicious at once: the edge is asked (GET /api/ping, a short deadline), and if it does not answer
// the page is marked stale until the feed speaks again. Used by the wallet and the explorer alike.
//
//   const live = new Liveness(feed, { spacingSeconds: 1, probe: (signal) => fetch(pingURL, { signal }) });
//   live.onChange((stale) => …); live.start();
//
// No DOM here: tested by Tests/WalletFrontTests/js/liveness.test.mjs.

/** Silence (ms) after which a live page must check its edge: `blocks` expected block intervals, at least `floorMs`. */
export function staleAfterMs(spacingSeconds, { blocks = 4, floorMs = 4000 } = {}) {
  const s = Number(spacingSeconds);
  return Math.max(floorMs, (Number.isFinite(s) && s > 0 ? s : 60) * 1000 * blocks);
}

/** The banner's words for a stale page (the same on the wallet and the explorer). */
export function staleText(edge, silentMs, spacingSeconds) {
  const silent = Math.max(1, Math.round(silentMs / 1000));
  const every = Number(spacingSeconds) > 0 ? ` (it makes a block about every ${spacingSeconds} s)` : "";
  return `Stale: no news from the node at ${edge} for ${silent} s${every}, and it does not answer. `
    + "What this page shows may be out of date. Waiting for it…";
}

export class Liveness {
  /**
   * feed: the api.js Feed (on("*"), onState(), state). probe(signal): resolves when the edge answers.
   * spacingSeconds: the chain's block interval (may be set later with setSpacing).
   */
  constructor(feed, { spacingSeconds = null, probe, probeTimeoutMs = 2000, tickMs = 500, now = () => Date.now(),
    setTimer = (fn, ms) => setInterval(fn, ms), clearTimer = (t) => clearInterval(t) } = {}) {
    this.feed = feed;
    this.spacingSeconds = spacingSeconds;
    this.probe = probe;
    this.probeTimeoutMs = probeTimeoutMs;
    this.tickMs = tickMs;
    this.now = now;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.lastHeardAt = now();
    this.stale = false;
    this.probing = false;
    this.observers = new Set();
    this.unsubscribe = [];
    this.timer = null;
  }

  setSpacing(seconds) { this.spacingSeconds = seconds; }

  get thresholdMs() { return staleAfterMs(this.spacingSeconds); }

  /** Milliseconds since the feed last spoke. */
  get silentMs() { return this.now() - this.lastHeardAt; }

  onChange(cb) {
    this.observers.add(cb);
    return () => this.observers.delete(cb);
  }

  start() {
    this.unsubscribe.push(this.feed.on("*", () => this.heard()));
    this.unsubscribe.push(this.feed.onState((s) => { if (s === "online") this.heard(); else this.set(false); }));
    this.timer = this.setTimer(() => { this.check(); }, this.tickMs);
    this.timer?.unref?.();
    return this;
  }

  stop() {
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.timer != null) this.clearTimer(this.timer);
    this.timer = null;
  }

  heard() {
    this.lastHeardAt = this.now();
    this.set(false);
  }

  set(stale) {
    if (stale === this.stale) return;
    this.stale = stale;
    for (const cb of [...this.observers]) {
      try { cb(stale, this); } catch (e) { console.error(e); }
    }
  }

  /** One tick: past the threshold on an open feed, ask the edge; no answer in time → stale. */
  async check() {
    if (this.feed.state !== "online" || this.stale || this.probing) return;
    if (this.silentMs < this.thresholdMs) return;
    this.probing = true;
    const heardBefore = this.lastHeardAt;
    const alive = await this.ask();
    this.probing = false;
    if (this.lastHeardAt !== heardBefore || this.feed.state !== "online") return; // news meanwhile
    if (alive) this.lastHeardAt = this.now(); // a quiet chain, a live edge
    else this.set(true);
  }

  async ask() {
    if (!this.probe) return false;
    const ctrl = new AbortController();
    let timer;
    const deadline = new Promise((resolve) => { timer = setTimeout(() => { ctrl.abort(new Error("timeout")); resolve(false); }, this.probeTimeoutMs); });
    try {
      return await Promise.race([this.probe(ctrl.signal).then(() => true, () => false), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}
