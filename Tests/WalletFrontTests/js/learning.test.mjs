// The learning mode's pure parts: the pace's words and the steps of a followed transaction.
import { test } from "node:test";
import assert from "node:assert/strict";
import { paceText, trackStep, STEPS } from "../../../Sources/WalletFront/Public/js/explorer/learning.js";
import { routes, paths } from "../../../Sources/WalletFront/Public/js/routes.js";
import { api } from "../../../Sources/WalletFront/Public/js/api.js";

const TX = "ab".repeat(32);
const OTHER = "cd".repeat(32);

test("paceText: running, paused, stepping and the interval", () => {
  assert.equal(paceText({ state: "running", minInterval: 0 }), "Mining: running");
  assert.equal(paceText({ state: "paused", minInterval: 0 }), "Mining: paused");
  assert.equal(paceText({ state: "stepping", minInterval: 0, stepHeight: 42 }), "Mining: stepping: one block let through (height 42)");
  assert.equal(paceText({ state: "running", minInterval: 30 }), "Mining: running · at least 30 s between blocks");
  assert.equal(paceText({ state: "paused", minInterval: 2.5 }), "Mining: paused · at least 2.5 s between blocks");
  assert.equal(paceText(null), "Mining: unknown");
});

test("trackStep: accepted → waiting → in a template → mined, for the followed transaction only", () => {
  const ev = (id, stage, service, detail) => ({ id, kind: "tx", stage, service, time: 1, detail });
  assert.deepEqual(STEPS.map((s) => s.key), ["accepted", "waiting", "template", "mined"]);
  let t = trackStep(null, ev(TX, "received", "edge"));
  assert.equal(t, null);
  t = trackStep(t, ev(TX, "accepted", "mempool"));
  assert.equal(t.txid, TX);
  assert.deepEqual(t.done, { accepted: true, waiting: true });
  // Another transaction's template event changes nothing; its acceptance follows it instead.
  assert.equal(trackStep(t, ev(OTHER, "template", "mempool", "in a template for height 5, asked by miner 0011223344556677")), t);
  t = trackStep(t, ev(TX, "template", "mempool", "in a template for height 5, asked by miner 0011223344556677"));
  assert.equal(t.done.template, true);
  assert.equal(t.miner, "0011223344556677");
  assert.equal(t.done.mined, undefined);
  t = trackStep(t, ev(TX, "connected", "chainstore", `block ${"ef".repeat(32)} height 5 position 1, mined by miner:0011223344556677`));
  assert.equal(t.done.mined, true);
  assert.equal(t.height, 5);
  // A block event or an unrelated kind: unchanged.
  assert.equal(trackStep(t, { id: TX, kind: "block", stage: "connected", service: "chainstore" }), t);
  const other = trackStep(t, ev(OTHER, "accepted", "mempool"));
  assert.equal(other.txid, OTHER);
  // Removed before being mined: said so.
  assert.match(trackStep(other, ev(OTHER, "removed", "mempool", "conflict")).removed, /conflict/);
});

test("the learning mode's requests: the pace for anyone, changes with the token in the body", async () => {
  assert.equal(paths.mining(), "/api/mining");
  const seen = [];
  const saved = { base: api.base, fetchImpl: api.fetchImpl };
  api.base = "http://edge.test:8340";
  api.fetchImpl = async (url, init) => {
    seen.push({ url, method: init.method, body: init.body, auth: init.headers.Authorization });
    return new Response("{\"state\":\"paused\"}", { status: 200 });
  };
  try {
    await routes.mining();
    await routes.miningChange("tok", { state: "paused" });
    await routes.miningStep("tok");
  } finally {
    Object.assign(api, saved);
  }
  assert.deepEqual(seen, [
    { url: "http://edge.test:8340/api/mining", method: "GET", body: undefined, auth: undefined },
    { url: "http://edge.test:8340/api/operator/mining", method: "POST", body: JSON.stringify({ state: "paused", token: "tok" }), auth: undefined },
    { url: "http://edge.test:8340/api/operator/mining/step", method: "POST", body: JSON.stringify({ token: "tok" }), auth: undefined },
  ]);
});
