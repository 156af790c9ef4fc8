// The learning mode (regtest): pause the node's miners, let exactly one block through, or slow them
// down, so a newcomer can watch one transaction wait in the mempool, get picked into a miner's
// template and be mined. The pace belongs to the node (the mempool keeps it, every miner obeys);
// anyone sees it, only the operator changes it: the operator cookie (DATA/.cookie, or the edge's --rpc-token) is pasted here
// and kept in this tab's sessionStorage only.
//
//   learningPanel(ctx) → the panel for a view (the flow page shows it above the diagram)
//   watchPace(app)     → keeps the nav's "mining paused" badge up to date
//
// The pure parts (paceText, trackStep) are tested by Tests/WalletFrontTests/js/learning.test.mjs.
import { ApiError } from "../api.js";
import { routes } from "../routes.js";
import { shortHash } from "../ui/format.js";
import { h, fill } from "../ui/dom.js";

export const TOKEN_KEY = "cairn.explorer.operatorToken";

/** The words for a pace ({state, minInterval, stepHeight, available, network}). */
export function paceText(p) {
  if (!p) return "Mining: unknown";
  const state = { running: "running", paused: "paused", stepping: `stepping: one block let through${p.stepHeight != null ? ` (height ${p.stepHeight})` : ""}` }[p.state] || p.state;
  const every = Number(p.minInterval) > 0 ? ` · at least ${trimSeconds(p.minInterval)} s between blocks` : "";
  return `Mining: ${state}${every}`;
}

function trimSeconds(s) {
  const n = Number(s);
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(3)));
}

/** The four steps a newcomer watches, in order. */
export const STEPS = [
  { key: "accepted", text: "accepted by the mempool" },
  { key: "waiting", text: "waiting in the mempool" },
  { key: "template", text: "picked into a miner's block template" },
  { key: "mined", text: "mined in a block" },
];

/**
 * Folds one trace event into the watched transaction's state {txid, done: {step: true}, height, miner, removed}.
 * An "accepted" event of another transaction starts watching it. Returns the new state (or the old one unchanged).
 */
export function trackStep(state, e) {
  if (!e || e.kind !== "tx" || !e.id) return state;
  const service = String(e.service || "").split(":")[0];
  const step = `${service}:${e.stage}`;
  if (step === "mempool:accepted") {
    if (state && state.txid === e.id) return state;
    return { txid: e.id, done: { accepted: true, waiting: true }, height: null, miner: null, removed: null };
  }
  if (!state || state.txid !== e.id) return state;
  if (step === "mempool:template") {
    const m = /miner[: ]+([0-9a-f]{6,})/i.exec(e.detail || "");
    return { ...state, done: { ...state.done, template: true }, miner: m ? m[1] : state.miner };
  }
  if (step === "chainstore:connected") {
    const m = /height (\d+)/.exec(e.detail || "");
    return { ...state, done: { ...state.done, template: true, mined: true }, height: m ? Number(m[1]) : null };
  }
  if (step === "mempool:removed" && !state.done.mined) return { ...state, removed: e.detail || "removed" };
  return state;
}

function savedToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
}

function saveToken(t) {
  try { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); } catch { /* storage off */ }
}

/** The nav's badge: hidden while mining runs, "mining paused" or "stepping" otherwise. */
export function watchPace(app, { badge = document.getElementById("mining-pace"), everyMs = 5000 } = {}) {
  if (!badge) return () => {};
  const update = async () => {
    try {
      const p = await routes.mining();
      app.pace = p;
      const off = p.state !== "running";
      badge.hidden = !off && !(Number(p.minInterval) > 0);
      badge.textContent = off ? (p.state === "stepping" ? "mining one block" : "mining paused") : `≥ ${trimSeconds(p.minInterval)} s per block`;
      badge.dataset.state = p.state;
    } catch { /* the banner reports an unreachable node */ }
  };
  update();
  const t = setInterval(update, everyMs);
  const off = app.feed ? app.feed.on("block", update) : () => {};
  app.refreshPace = update;
  return () => { clearInterval(t); off(); };
}

/** The learning mode's panel for a view (ctx: the explorer's view context). */
export function learningPanel(ctx) {
  const state = h("p", { class: "learn-state", testid: "learn-state", role: "status" }, "Mining: …");
  const message = h("p", { class: "learn-message", testid: "learn-message", role: "status" });
  const tokenInput = h("input", { type: "password", id: "learn-token", testid: "learn-token", autocomplete: "off", spellcheck: "false",
    placeholder: "the line in the node's .cookie, or the operator token" });
  const tokenState = h("span", { class: "muted", testid: "learn-token-state" });
  const buttons = {
    pause: h("button", { type: "button", testid: "learn-pause" }, "Pause"),
    step: h("button", { type: "button", class: "primary", testid: "learn-step" }, "Mine one block"),
    resume: h("button", { type: "button", testid: "learn-resume" }, "Resume"),
  };
  const interval = h("input", { type: "number", id: "learn-interval", testid: "learn-interval", min: "0", max: "3600", step: "any", inputmode: "decimal" });
  const intervalSet = h("button", { type: "button", testid: "learn-interval-set" }, "Set");
  const waitingCount = h("span", { testid: "learn-mempool-count" }, "…");
  const waitingList = h("ul", { class: "rows learn-mempool", testid: "learn-mempool" });
  const watched = h("p", { class: "learn-watched", testid: "learn-watched" }, "Send a transaction (the wallet, or its faucet) and follow it here.");
  const steps = h("ol", { class: "learn-steps", testid: "learn-steps" });
  const controls = h("div", { class: "learn-controls" },
    h("form", { class: "learn-token", testid: "learn-token-form", on: { submit: (ev) => { ev.preventDefault(); useToken(); } } },
      h("label", { for: "learn-token" }, "Operator token"), " ", tokenInput, " ",
      h("button", { type: "submit", testid: "learn-token-use" }, "Use"), " ",
      h("button", { type: "button", testid: "learn-token-forget", on: { click: () => { saveToken(""); tokenInput.value = ""; showToken(); say("Token forgotten."); } } }, "Forget"), " ",
      tokenState),
    h("p", { class: "muted small" }, "On the node: ", h("code", {}, "cat cairn-data/.cookie"), ". Kept in this browser tab only (sessionStorage), sent only to change the pace."),
    h("div", { class: "learn-buttons" }, buttons.pause, " ", buttons.step, " ", buttons.resume),
    h("form", { class: "learn-interval", on: { submit: (ev) => { ev.preventDefault(); setInterval_(); } } },
      h("label", { for: "learn-interval" }, "Minimum seconds between blocks"), " ", interval, " ", intervalSet));
  const unavailable = h("p", { class: "notice", testid: "learn-unavailable", hidden: true });
  const box = h("section", { class: "panel learn-panel", testid: "learn-panel", "aria-labelledby": "learn-title" },
    h("h2", { id: "learn-title" }, "Learning mode"),
    h("p", { class: "muted intro" },
      "Slow the chain down and watch one transaction's path: pause the miners, send a transaction, see it wait in the mempool, then mine exactly one block. The diagram below shows each step as it happens."),
    state, unavailable, controls, message,
    h("div", { class: "learn-watch" },
      h("div", {}, h("h3", {}, "Waiting in the mempool: ", waitingCount), waitingList),
      h("div", {}, h("h3", {}, "A transaction's path"), watched, steps)));

  let pace = null;
  let track = null;
  const say = (text, kind = "info") => { message.textContent = text || ""; message.dataset.kind = kind; message.setAttribute("role", kind === "error" ? "alert" : "status"); };
  const showToken = () => { tokenState.textContent = savedToken() ? "token set for this tab" : "no token yet"; };
  const token = () => savedToken() || tokenInput.value.trim();

  function showPace(p) {
    pace = p;
    state.textContent = paceText(p);
    state.dataset.state = p.state;
    box.dataset.state = p.state;
    unavailable.hidden = p.available !== false;
    if (p.available === false) unavailable.textContent = `The learning mode is for regtest only; this node runs ${p.network}.`;
    controls.hidden = p.available === false;
    buttons.pause.disabled = p.state !== "running";
    buttons.resume.disabled = p.state === "running";
    buttons.step.disabled = p.state === "stepping";
    if (document.activeElement !== interval) interval.value = String(p.minInterval ?? 0);
    if (ctx.app.refreshPace) ctx.app.refreshPace();
  }

  async function refreshPace() {
    try { showPace(await routes.mining()); } catch (e) { if (ctx.alive) state.textContent = `Mining: unknown (${e.message})`; }
  }

  async function change(what, fn) {
    const t = token();
    if (!t) { say("Paste the operator cookie first (the line in the node's .cookie).", "error"); tokenInput.focus(); return; }
    for (const b of Object.values(buttons)) b.disabled = true;
    say(`${what}…`);
    try {
      showPace(await fn(t));
      if (!savedToken()) { saveToken(t); tokenInput.value = ""; showToken(); }
      say(`${what}: done.`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        saveToken("");
        showToken();
        say(`The node refused the token: ${e.message}. Paste the line from the node's .cookie.`, "error");
      } else {
        say(e instanceof ApiError ? `${e.message} (${e.code})` : String(e.message || e), "error");
      }
      refreshPace();
    }
  }

  function useToken() {
    const t = tokenInput.value.trim();
    if (!/^\S{8,}$/.test(t)) { say("That does not look like a token (the cookie holds 64 hex digits).", "error"); return; }
    saveToken(t);
    tokenInput.value = "";
    showToken();
    say("Token set for this tab.");
  }

  function setInterval_() {
    const n = Number(interval.value);
    if (interval.value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 3600) {
      say("The minimum interval is a number of seconds from 0 to 3600.", "error");
      return;
    }
    change(n > 0 ? `At least ${trimSeconds(n)} s between blocks` : "No minimum interval", (t) => routes.miningChange(t, { minInterval: n }));
  }

  buttons.pause.addEventListener("click", () => change("Paused", (t) => routes.miningChange(t, { state: "paused" })));
  buttons.resume.addEventListener("click", () => change("Resumed", (t) => routes.miningChange(t, { state: "running" })));
  buttons.step.addEventListener("click", () => change("One block let through", (t) => routes.miningStep(t)));

  let mempoolTimer = null;
  async function refreshMempool() {
    mempoolTimer = null;
    try {
      const txids = await routes.mempoolTxids();
      if (!ctx.alive) return;
      waitingCount.textContent = `${txids.length} transaction${txids.length === 1 ? "" : "s"}`;
      fill(waitingList, txids.slice(-8).reverse().map((id) => h("li", { dataset: { txid: id } },
        h("a", { href: `#/tx/${id}`, class: "mono hash", title: id }, shortHash(id, 12, 8)), " ",
        h("button", { type: "button", class: "small", on: { click: () => watch(id) } }, "follow"))));
      if (txids.length > 8) waitingList.append(h("li", { class: "muted" }, `and ${txids.length - 8} more`));
    } catch { /* the banner reports an unreachable node */ }
  }
  const soon = () => { if (!mempoolTimer) mempoolTimer = setTimeout(refreshMempool, 300); };
  ctx.onCleanup(() => clearTimeout(mempoolTimer));

  function showTrack() {
    if (!track) { fill(steps); return; }
    fill(watched, "Following ", h("a", { href: `#/tx/${track.txid}`, class: "mono hash", testid: "learn-watched-id", title: track.txid }, shortHash(track.txid, 12, 8)),
      track.removed ? h("span", { class: "notice-error" }, ` — removed: ${track.removed}`) : null);
    watched.dataset.txid = track.txid;
    // "waiting" is current (not yet done-and-passed) while the transaction is in the mempool and not yet in a template.
    fill(steps, STEPS.map((s) => {
      let text = s.text;
      if (s.key === "template" && track.miner) text += ` (miner ${track.miner.slice(0, 8)})`;
      if (s.key === "mined" && track.height != null) text = `mined in block ${track.height}`;
      if (s.key === "waiting" && !track.done.template && pace && pace.state !== "running") text += " (mining is paused: press “Mine one block”)";
      return h("li", { dataset: { step: s.key, done: track.done[s.key] ? "true" : "false" }, class: track.done[s.key] ? "done" : "" }, text);
    }));
  }

  /** Follows a transaction already in the mempool (or mined): its trace so far. */
  async function watch(txid) {
    try {
      const body = await routes.txTrace(txid);
      const events = Array.isArray(body) ? body : (body && body.events) || [];
      let t = { txid, done: { accepted: true, waiting: true }, height: null, miner: null, removed: null };
      for (const e of events) t = trackStep(t, e);
      track = t;
      showTrack();
    } catch (e) { say(`Could not load that transaction's path: ${e.message}`, "error"); }
  }

  ctx.on("trace", (m) => {
    const e = m && m.event;
    if (!e) return;
    const next = trackStep(track, e);
    if (next !== track) { track = next; showTrack(); }
    if (e.kind === "tx" && (e.stage === "accepted" || e.stage === "removed")) soon();
  });
  ctx.on("block", () => { refreshPace(); soon(); });
  ctx.every(5000, () => { refreshPace(); refreshMempool(); });
  showToken();
  refreshPace();
  refreshMempool();
  return box;
}
