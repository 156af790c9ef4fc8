// The explorer: hash router, search, the offline banner and the shared live state.
import { loadConfig, restStatus, ApiError } from "../api.js";
import { Feed } from "../feed.js";
import { routes, paths, pingURLFor, isURLFor } from "../routes.js";
import { Liveness, staleText } from "../lib/liveness.js";
import { networkParams } from "../lib/networks.js";
import { parseRoute, classifySearch } from "./logic.js";
import { h, fill, notice } from "../ui/dom.js";
import { homeView } from "./home.js";
import { blockView, blockHeightView } from "./block.js";
import { txView } from "./tx.js";
import { addressView } from "./address.js";
import { flowView } from "./flow.js";
import { networkView } from "./network.js";
import { watchPace } from "./learning.js";
import { mempoolView } from "./mempool.js";
import { chartsView } from "./charts.js";

/** Shared state of the page: config, the feed, the best known tip height. */
export const app = {
  config: null,
  feed: null,
  tipHeight: null,
  restProblem: null,
  /** Best tip height: from the feed (hello, block), else asked once. */
  async tip() {
    if (this.tipHeight == null) this.tipHeight = await routes.tipHeight();
    return this.tipHeight;
  },
};

const VIEWS = {
  home: homeView,
  block: blockView,
  "block-height": blockHeightView,
  tx: txView,
  address: addressView,
  flow: flowView,
  network: networkView,
  mempool: mempoolView,
  charts: chartsView,
  notfound: (ctx, route) => {
    fill(ctx.main, h("h1", { text: "Page not found" }), notice(`Nothing at "#${route.path}".`), h("p", {}, h("a", { href: "#/" }, "Back to the latest blocks")));
  },
};

const main = document.getElementById("content");
let current = null;

/** Renders the route in the location hash; views get a context with an abort signal and cleanups. */
function render({ focus = false } = {}) {
  if (current) {
    current.controller.abort();
    for (const fn of current.cleanups.splice(0)) {
      try { fn(); } catch (e) { console.error(e); }
    }
  }
  const route = parseRoute(location.hash);
  document.title = { flow: "Flow · Cairn explorer", network: "Network · Cairn explorer", mempool: "Mempool · Cairn explorer", charts: "Charts · Cairn explorer" }[route.name] || "Cairn explorer";
  const controller = new AbortController();
  const cleanups = [];
  current = { controller, cleanups, route };
  const ctx = {
    app,
    main,
    route,
    signal: controller.signal,
    onCleanup: (fn) => cleanups.push(fn),
    /** Subscribe to a feed message type for the life of this view. */
    on: (type, cb) => cleanups.push(app.feed.on(type, cb)),
    /** setInterval for the life of this view. */
    every: (ms, fn) => { const t = setInterval(fn, ms); cleanups.push(() => clearInterval(t)); },
    get alive() { return !controller.signal.aborted; },
  };
  for (const a of document.querySelectorAll(".subnav a[data-route]")) {
    if (a.dataset.route === route.name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const view = VIEWS[route.name] || VIEWS.notfound;
  try {
    const p = view(ctx, route);
    if (p && p.catch) p.catch((e) => { if (ctx.alive) showError(ctx, e); });
  } catch (e) {
    showError(ctx, e);
  }
  if (focus) main.focus({ preventScroll: true });
  if (focus) window.scrollTo(0, 0);
}

/** A view's failure: a clear message in place (the banner explains an unreachable node). */
export function showError(ctx, e) {
  console.error(e);
  fill(ctx.main, h("h1", { text: "Could not load this page" }), notice(describeError(e), "error"),
    h("p", {}, h("button", { type: "button", on: { click: () => render() } }, "Try again"), " ", h("a", { href: "#/" }, "Latest blocks")));
}

/** Human text for an ApiError. */
export function describeError(e) {
  if (e instanceof ApiError) {
    if (e.status === 0) return `The node is not reachable: ${e.message}.`;
    if (e.status === 404) return e.message;
    if (e.status >= 500) return `The node could not answer (${e.status} ${e.code}): ${e.message}`;
    return `${e.message} (${e.code})`;
  }
  return String(e && e.message ? e.message : e);
}

// MARK: search

function setupSearch() {
  const form = document.getElementById("search-form");
  const input = document.getElementById("search-input");
  const errorEl = document.getElementById("search-error");
  const say = (text) => { errorEl.textContent = text || ""; errorEl.hidden = !text; };
  input.addEventListener("input", () => say(""));
  // A new search supersedes one still waiting for the node (the button stays enabled: a disabled
  // default button would silently swallow Enter in the input).
  let latest = 0;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const typed = input.value;
    const c = classifySearch(typed);
    const mine = ++latest;
    if (c.kind === "empty") return say("Type a block height, a block hash, a transaction id or an address.");
    if (c.kind === "invalid") return say(c.reason);
    if (!app.config) return say("The explorer is still loading its configuration.");
    say("");
    form.setAttribute("aria-busy", "true");
    try {
      const target = await resolveSearch(c);
      if (mine !== latest) return;
      if (target.error) return say(target.error);
      if (input.value === typed) input.value = "";
      go(target.hash);
    } catch (e) {
      if (mine === latest) say(describeError(e));
    } finally {
      if (mine === latest) form.removeAttribute("aria-busy");
    }
  });
}

/** Where a classified search leads: {hash: "#/…"} or {error}. */
async function resolveSearch(c) {
  if (c.kind === "address") return { hash: `#/address/${c.value}` };
  if (c.kind === "height") {
    try {
      return { hash: `#/block/${(await routes.blockHashAt(c.height)).trim()}` };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        const tip = await app.tip().catch(() => null);
        return { error: `There is no block at height ${c.height}${tip != null ? ` (the tip is at ${tip})` : ""}.` };
      }
      throw e;
    }
  }
  // 64 hex digits: one question to the edge, which says whether it is a block or a transaction.
  try {
    const found = await routes.lookup(c.value);
    return { hash: found.kind === "block" ? `#/block/${c.value}` : `#/tx/${c.value}` };
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { error: "No block and no transaction (confirmed or in the mempool) has this id." };
    throw e;
  }
}

function go(hash) {
  if (location.hash === hash) render({ focus: true });
  else location.hash = hash;
}

// MARK: connection state and the offline banner

const banner = document.getElementById("offline-banner");
const bannerText = document.getElementById("offline-text");
const connState = document.getElementById("conn-state");
let bannerTimer = null;
let restPoll = null;
let wasDown = false;

function updateBanner() {
  const feed = app.feed;
  const state = feed ? feed.state : "connecting";
  const edge = app.config ? app.config.edge : "the node";
  let text = null;
  let bad = false;
  const stale = state === "online" && !!app.live?.stale;
  if (stale) {
    text = staleText(edge, app.live.silentMs, app.live.spacingSeconds);
    bad = true;
  } else if (state === "reconnecting" || state === "offline") {
    const wait = feed.nextRetryAt ? Math.max(0, Math.ceil((feed.nextRetryAt - Date.now()) / 1000)) : 0;
    text = `Offline: the node's edge (${edge}) is not reachable. Live updates are paused and the page shows the last data it loaded. ${wait > 0 ? `Retrying in ${wait} s…` : "Retrying…"}`;
    bad = state === "offline";
  } else if (app.restProblem) {
    const p = app.restProblem;
    const code = p.code && !/^http-/.test(p.code) ? `, ${p.code}` : "";
    text = `The node is having trouble: the edge answers, but a service behind it does not (HTTP ${p.status}${code}). Some data may be missing; checking again every few seconds.`;
  }
  banner.hidden = !text;
  banner.dataset.state = stale ? "stale" : text ? (state === "online" ? "degraded" : state) : "online";
  banner.classList.toggle("bad", bad);
  if (text && bannerText.textContent !== text) bannerText.textContent = text;
  connState.textContent = stale ? "○ stale" : { online: "● live", connecting: "connecting…", reconnecting: "○ reconnecting…", offline: "○ offline", idle: "" }[state] || state;
  connState.dataset.state = stale ? "stale" : state;
  if (text && !bannerTimer) bannerTimer = setInterval(updateBanner, 1000);
  if (!text && bannerTimer) { clearInterval(bannerTimer); bannerTimer = null; }
}

function watchConnection() {
  document.getElementById("offline-retry").addEventListener("click", () => {
    app.feed.retryNow();
    if (app.restProblem) checkRest();
  });
  app.feed.onState((state) => {
    if (state === "online") {
      if (wasDown) {
        wasDown = false;
        app.restProblem = null;
        clearInterval(restPoll);
        restPoll = null;
        render(); // fresh data after recovery
      }
    } else if (state === "reconnecting" || state === "offline") {
      wasDown = true;
    }
    updateBanner();
  });
  restStatus.subscribe((r) => {
    // The peer bridge is optional: its absence is shown on the network page, not as a node problem.
    if (isURLFor(r.url, paths.peers()) || isURLFor(r.url, paths.sync())) return;
    if (!r.ok && r.status !== 0) {
      // The edge answered but a service behind it did not (502/503): poll /healthz until it recovers.
      app.restProblem = r;
      if (!restPoll) restPoll = setInterval(checkRest, 5000);
    } else if (r.ok && app.restProblem && isURLFor(r.url, paths.health())) {
      app.restProblem = null;
      clearInterval(restPoll);
      restPoll = null;
      render();
    }
    updateBanner();
  });
}

function checkRest() {
  routes.health().catch(() => {});
}

// MARK: start

async function start() {
  setupSearch();
  window.addEventListener("hashchange", () => render({ focus: true }));
  let delay = 1000;
  while (!app.config) {
    try {
      app.config = await loadConfig();
    } catch (e) {
      fill(main, h("h1", { text: "Could not start the explorer" }),
        notice(`The front server did not give the node's address (/config.json): ${e.message}. Retrying…`, "error"));
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
  app.feed = new Feed(app.config.ws);
  app.live = new Liveness(app.feed, {
    probe: (signal) => fetch(pingURLFor(app.config.ws), { signal, cache: "no-store", mode: "cors", credentials: "omit" }),
  });
  app.live.onChange((stale) => {
    if (!stale && app.feed.state === "online") render(); // fresh data once the node speaks again
    updateBanner();
  });
  const spacingOf = (network) => { try { app.live.setSpacing(networkParams(network).targetSpacing); } catch { /* unknown network */ } };
  app.feed.on("hello", (m) => { if (m.network) spacingOf(m.network); });
  routes.node().then((n) => spacingOf(n.network)).catch(() => {});
  app.feed.on("hello", (m) => { if (Number.isFinite(m.height)) app.tipHeight = m.height; });
  app.feed.on("block", (m) => { if (m.block && Number.isFinite(m.block.height)) app.tipHeight = m.block.height; });
  // The edge could not replay what the page missed: draw the current view again from the REST API.
  app.feed.on("resync", () => render());
  watchConnection();
  watchPace(app);
  app.feed.start();
  app.live.start();
  render();
}

start();
