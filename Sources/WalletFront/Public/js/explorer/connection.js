// The explorer's connection state: the banner (offline, stale, or a service behind the edge not answering)
// and the header's live mark, from the feed's state, the liveness check (lib/liveness.js) and the REST answers;
// once the node is back the page is drawn again with fresh data.
import { restStatus } from "../api.js";
import { routes, paths, isURLFor } from "../routes.js";
import { staleText } from "../lib/liveness.js";

/** Follows `app`'s feed, liveness and REST answers (main.js's shared state); `render()` draws the page again. */
export function watchConnection(app, render) {
  const banner = document.getElementById("offline-banner");
  const bannerText = document.getElementById("offline-text");
  const connState = document.getElementById("conn-state");
  let bannerTimer = null;
  let restPoll = null;
  let wasDown = false;

  const update = () => {
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
    if (text && !bannerTimer) bannerTimer = setInterval(update, 1000);
    if (!text && bannerTimer) { clearInterval(bannerTimer); bannerTimer = null; }
  };

  const checkRest = () => { routes.health().catch(() => {}); };
  const recovered = () => {
    app.restProblem = null;
    clearInterval(restPoll);
    restPoll = null;
  };

  document.getElementById("offline-retry").addEventListener("click", () => {
    app.feed.retryNow();
    if (app.restProblem) checkRest();
  });
  app.feed.onState((state) => {
    if (state === "online") {
      if (wasDown) {
        wasDown = false;
        recovered();
        render(); // fresh data after recovery
      }
    } else if (state === "reconnecting" || state === "offline") {
      wasDown = true;
    }
    update();
  });
  app.live.onChange((stale) => {
    if (!stale && app.feed.state === "online") render(); // fresh data once the node speaks again
    update();
  });
  restStatus.subscribe((r) => {
    // The peer bridge is optional: its absence is shown on the network page, not as a node problem.
    if (isURLFor(r.url, paths.peers()) || isURLFor(r.url, paths.sync())) return;
    if (!r.ok && r.status !== 0) {
      // The edge answered but a service behind it did not (502/503): poll /healthz until it recovers.
      app.restProblem = r;
      if (!restPoll) restPoll = setInterval(checkRest, 5000);
    } else if (r.ok && app.restProblem && isURLFor(r.url, paths.health())) {
      recovered();
      render();
    }
    update();
  });
}
