// A hung edge marks the page stale after a few of the chain's own block intervals (bug: it looked live for 31 s).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Liveness, staleAfterMs, staleText } from "../../../Sources/WalletFront/Public/js/lib/liveness.js";
import { networkParams } from "../../../Sources/WalletFront/Public/js/lib/networks.js";

function fakeFeed() {
  const handlers = new Set();
  const states = new Set();
  return {
    state: "online",
    on(type, cb) { assert.equal(type, "*"); handlers.add(cb); return () => handlers.delete(cb); },
    onState(cb) { states.add(cb); cb(this.state); return () => states.delete(cb); },
    message() { for (const cb of handlers) cb({ type: "block" }); },
    setState(s) { this.state = s; for (const cb of states) cb(s); },
  };
}

function setup({ spacing, probe }) {
  let t = 1_000_000;
  const feed = fakeFeed();
  const live = new Liveness(feed, { spacingSeconds: spacing, probe, probeTimeoutMs: 20, now: () => t, setTimer: () => 1, clearTimer: () => {} });
  live.start();
  const changes = [];
  live.onChange((s) => changes.push(s));
  return { feed, live, changes, advance: (ms) => { t += ms; } };
}

test("the threshold is a few of the chain's own block intervals, not a fixed 20 s", () => {
  assert.equal(staleAfterMs(networkParams("regtest").targetSpacing), 4000);
  assert.equal(staleAfterMs(networkParams("testnet").targetSpacing), 120_000);
  assert.equal(staleAfterMs(networkParams("main").targetSpacing), 240_000);
  assert.equal(staleAfterMs(null), 240_000, "unknown spacing: as main");
  assert.match(staleText("http://127.0.0.1:8340", 5200, 1), /^Stale: no news from the node at http:\/\/127\.0\.0\.1:8340 for 5 s \(it makes a block about every 1 s\)/);
});

test("silence on a 1-second chain with an edge that does not answer: stale within seconds", async () => {
  const { live, changes, advance, feed } = setup({ spacing: 1, probe: () => new Promise(() => {}) });
  advance(3000);
  await live.check();
  assert.equal(live.stale, false, "3 s of silence on a 1 s chain is not yet suspicious");
  advance(1500);
  await live.check();
  assert.equal(live.stale, true);
  assert.deepEqual(changes, [true]);
  feed.message();
  assert.equal(live.stale, false, "any message makes it live again");
  assert.deepEqual(changes, [true, false]);
});

test("a quiet chain whose edge answers the probe is not stale", async () => {
  let asked = 0;
  const { live, advance } = setup({ spacing: 1, probe: async () => { asked += 1; } });
  advance(10_000);
  await live.check();
  assert.equal(asked, 1);
  assert.equal(live.stale, false);
  advance(1000);
  await live.check();
  assert.equal(asked, 1, "the answer counts as news: no new probe at once");
});

test("a feed that is not online is the feed's own business (offline banner), not staleness", async () => {
  const { live, advance, feed } = setup({ spacing: 1, probe: () => new Promise(() => {}) });
  feed.setState("reconnecting");
  advance(60_000);
  await live.check();
  assert.equal(live.stale, false);
});
