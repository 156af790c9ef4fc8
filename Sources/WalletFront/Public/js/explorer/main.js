// The explorer: the shared live state, the hash router and the boot; the search box is search.js, the
// connection banner connection.js, each page a view module.
import { loadConfig } from "../api.js";
import { Feed } from "../feed.js";
import { routes, pingURLFor } from "../routes.js";
import { Liveness } from "../lib/liveness.js";
import { networkParams } from "../lib/networks.js";
import { parseRoute, describeError } from "./logic.js";
import { setupSearch } from "./search.js";
import { watchConnection } from "./connection.js";
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
function showError(ctx, e) {
  console.error(e);
  fill(ctx.main, h("h1", { text: "Could not load this page" }), notice(describeError(e), "error"),
    h("p", {}, h("button", { type: "button", on: { click: () => render() } }, "Try again"), " ", h("a", { href: "#/" }, "Latest blocks")));
}

/** Opens a page: the same hash again draws it again. */
function go(hash) {
  if (location.hash === hash) render({ focus: true });
  else location.hash = hash;
}

async function start() {
  setupSearch(app, go);
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
  const spacingOf = (network) => { try { app.live.setSpacing(networkParams(network).targetSpacing); } catch { /* unknown network */ } };
  app.feed.on("hello", (m) => { if (m.network) spacingOf(m.network); });
  routes.node().then((n) => spacingOf(n.network)).catch(() => {});
  app.feed.on("hello", (m) => { if (Number.isFinite(m.height)) app.tipHeight = m.height; });
  app.feed.on("block", (m) => { if (m.block && Number.isFinite(m.block.height)) app.tipHeight = m.block.height; });
  // The edge could not replay what the page missed: draw the current view again from the REST API.
  app.feed.on("resync", () => render());
  watchConnection(app, render);
  watchPace(app);
  app.feed.start();
  app.live.start();
  render();
}

start();
