// Pure logic of the explorer and the shared client: node --test Tests/WalletFrontTests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { classifySearch, parseRoute, describeError } from "../../../Sources/WalletFront/Public/js/explorer/logic.js";
import { formatAmount, formatSigned, formatCRN } from "../../../Sources/WalletFront/Public/js/lib/amount.js";
import { formatDuration, formatRelative, shortHash } from "../../../Sources/WalletFront/Public/js/ui/format.js";
import {
  intervalSeries, averageInterval, niceTicks, linearScale, chartModel, robustMax, blockPageStarts, formatSecondsAxis,
} from "../../../Sources/WalletFront/Public/js/explorer/chartmodel.js";
import {
  stepName, serviceLane, minerFromDetail, blockFromDetail, traceTimeline, flowHops, flowLayout,
} from "../../../Sources/WalletFront/Public/js/explorer/flowmodel.js";
import { encodeAddress } from "../../../Sources/WalletFront/Public/js/lib/bech32m.js";
import { EdgeClient, ApiError, loadConfig } from "../../../Sources/WalletFront/Public/js/api.js";
import { backoffDelay, Feed } from "../../../Sources/WalletFront/Public/js/feed.js";

const ADDR = "rcrn1qej5cmplf26smtzxrm78ys056ave28n6sqx4jjhndn79qeqzqnucq3r0kkl";
const HASH = "72ea552dc9809a536071bc00f6e17db8d1dcb2111bc32663479b4e2fa4ae6bde";

test("search: heights, 64-hex ids, addresses, and clear refusals", () => {
  assert.deepEqual(classifySearch("  42 "), { kind: "height", height: 42 });
  assert.deepEqual(classifySearch("0"), { kind: "height", height: 0 });
  assert.equal(classifySearch("99999999999").kind, "invalid");
  assert.equal(classifySearch("2147483648").kind, "invalid");
  assert.deepEqual(classifySearch(HASH.toUpperCase()), { kind: "hash", value: HASH });
  assert.deepEqual(classifySearch(ADDR), { kind: "address", value: ADDR });
  assert.deepEqual(classifySearch(ADDR.toUpperCase()), { kind: "address", value: ADDR });
  const mainAddr = encodeAddress(new Uint8Array(32).fill(7), "main");
  const testAddr = encodeAddress(new Uint8Array(32).fill(7), "testnet");
  assert.deepEqual(classifySearch(mainAddr), { kind: "address", value: mainAddr });
  assert.deepEqual(classifySearch(testAddr), { kind: "address", value: testAddr });
  assert.deepEqual(classifySearch(""), { kind: "empty" });
  assert.deepEqual(classifySearch("   "), { kind: "empty" });
  const short = classifySearch(HASH.slice(0, 40));
  assert.equal(short.kind, "invalid");
  assert.match(short.reason, /64 hex digits; this has 40/);
  const mixed = classifySearch("rcrn1QEJ5cmplf26smtzxrm78ys");
  assert.equal(mixed.kind, "invalid");
  assert.match(mixed.reason, /mixed/);
  const btc = classifySearch("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq");
  assert.equal(btc.kind, "invalid");
  assert.match(btc.reason, /not a Cairn address/);
  const junk = classifySearch("hello world");
  assert.equal(junk.kind, "invalid");
  assert.match(junk.reason, /"hello world" is not a block height/);
  assert.equal(classifySearch("rcrn1qb").kind, "invalid", "too short for an address");
  assert.equal(classifySearch(HASH + "0").kind, "invalid");
});

test("amounts and times are formatted exactly", () => {
  assert.equal(formatAmount(5_000_000_000), "50.00000000");
  assert.equal(formatAmount(0), "0.00000000");
  assert.equal(formatAmount(1), "0.00000001");
  assert.equal(formatAmount(123_456_789_012_345_678n), "1,234,567,890.12345678");
  assert.equal(formatAmount(-374), "-0.00000374");
  assert.equal(formatSigned(125_000_000), "+1.25");
  assert.equal(formatSigned(-125_000_000), "-1.25");
  assert.equal(formatCRN(235_000_000_000), "2,350 CRN");
  assert.equal(formatCRN(50_000_000), "0.5 CRN");
  assert.equal(formatCRN(0), "0 CRN");
  assert.equal(formatDuration(5), "5 s");
  assert.equal(formatDuration(65), "1 min 5 s");
  assert.equal(formatDuration(3600 + 120), "1 h 2 min");
  assert.equal(formatDuration(86400 * 2 + 3600), "2 d 1 h");
  assert.equal(formatRelative(0), "+0.0 ms");
  assert.equal(formatRelative(7.94), "+7.9 ms");
  assert.equal(formatRelative(250.4), "+250 ms");
  assert.equal(formatRelative(42_590), "+42.59 s");
  assert.equal(shortHash(HASH, 4), "72ea…6bde");
  assert.equal(shortHash("abc"), "abc");
});

const blk = (height, timestamp, difficulty = 1) => ({ height, id: `h${height}`, timestamp, difficulty });

test("interval series: sorted by height, intervals only between consecutive heights", () => {
  const s = intervalSeries([blk(3, 130), blk(1, 100), blk(2, 110), blk(2, 110), blk(5, 200)]);
  assert.deepEqual(s.map((p) => p.height), [1, 2, 3, 5]);
  assert.deepEqual(s.map((p) => p.interval), [null, 10, 20, null]);
  assert.deepEqual(intervalSeries([]), []);
});

test("the chart's average leaves out genesis → block 1 (the genesis time is fixed and old)", () => {
  const genesisTime = 1_700_000_000;
  const now = 1_800_000_000;
  const blocks = [{ height: 0, timestamp: genesisTime, difficulty: 1 }];
  for (let h = 1; h <= 59; h++) blocks.push({ height: h, timestamp: now + h, difficulty: 1 });
  const s = intervalSeries(blocks);
  assert.equal(s.find((p) => p.height === 1).interval, null);
  assert.equal(averageInterval(s), 1, "a 1-second chain averages 1 s (it read 1 h 47 min)");
  assert.equal(averageInterval(intervalSeries(blocks.slice(0, 2))), null, "genesis and block 1 alone: no interval yet");
  assert.equal(averageInterval(intervalSeries([blk(10, 100), blk(11, 103), blk(12, 104)])), 2);
});

test("search: a mistyped address is refused at the box (it navigated to an empty page)", () => {
  const typo = ADDR.slice(0, -1) + (ADDR.endsWith("q") ? "p" : "q");
  const c = classifySearch(typo);
  assert.equal(c.kind, "invalid");
  assert.match(c.reason, /checksum/);
  const short = classifySearch("rcrn1qej5cmplf26smtzxrm78ys");
  assert.equal(short.kind, "invalid");
});

test("chart scaling: nice ticks, linear scales, bars inside the plot, outliers clipped", () => {
  assert.deepEqual(niceTicks(0, 37, 4), [0, 10, 20, 30, 40]);
  assert.deepEqual(niceTicks(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(niceTicks(5, 5, 4), [2, 4, 6, 8], "a flat range is padded around the value");
  assert.deepEqual(niceTicks(0, 0), [0, 1]);
  const sc = linearScale([0, 10], [200, 0]);
  assert.equal(sc(0), 200);
  assert.equal(sc(10), 0);
  assert.equal(sc(5), 100);
  assert.equal(linearScale([3, 3], [0, 100])(3), 50);
  assert.equal(robustMax([8, 9, 10, 11000]), 30);
  assert.equal(robustMax([5, 6, 7]), 7);
  assert.equal(robustMax([]), 1);
  assert.equal(formatSecondsAxis(30), "30s");
  assert.equal(formatSecondsAxis(120), "2m");
  assert.equal(formatSecondsAxis(7200), "2h");

  // A pause of the miners (block 101 came 11,000 s after block 100).
  const series = intervalSeries([blk(100, 0), blk(101, 11000), blk(102, 11008), blk(103, 11018, 2), blk(104, 11027, 2)]);
  const m = chartModel(series, { width: 400, height: 200, pad: { top: 10, right: 40, bottom: 30, left: 40 } });
  assert.equal(m.empty, false);
  assert.equal(m.bars.length, 4);
  for (const b of m.bars) {
    assert.ok(b.x >= m.plot.x0 && b.x + b.w <= m.plot.x1, "bar inside horizontally");
    assert.ok(b.y >= m.plot.y1 - 1e-9 && b.y + b.h <= m.plot.y0 + 1e-9, "bar inside vertically");
  }
  const first = m.bars.find((b) => b.height === 101);
  assert.equal(first.clipped, true, "the pause is off the scale");
  assert.equal(first.y, m.plot.y1, "a clipped bar reaches the top of the plot");
  const b3 = m.bars.find((b) => b.height === 103);
  const b2 = m.bars.find((b) => b.height === 102);
  assert.ok(b3.h > b2.h, "a longer interval is a taller bar");
  assert.ok(Math.abs(b3.h / b2.h - 10 / 8) < 1e-9, "bar heights are proportional");
  // Difficulty 1 → 2: the line goes up (smaller y).
  const d = m.line;
  assert.equal(d.length, 5);
  assert.ok(d[4].y < d[0].y);
  assert.ok(m.leftTicks.every((t) => t.y <= m.plot.y0 && t.y >= m.plot.y1));
  assert.equal(m.leftTicks[0].label, "0s");
  assert.ok(m.xTicks.length >= 1 && m.xTicks[m.xTicks.length - 1].value === 104);
  assert.equal(chartModel([]).empty, true);
  assert.deepEqual(blockPageStarts(47, 30), [47, 37, 27]);
  assert.deepEqual(blockPageStarts(5, 60), [5]);
});

test("trace: step names, miners and blocks read from details, timeline relative to the first step", () => {
  assert.equal(stepName({ service: "edge", stage: "received" }), "edge:received");
  assert.equal(stepName({ service: "miner:abcd", stage: "mined" }), "miner:mined");
  assert.equal(serviceLane("peerbridge"), "peer");
  assert.equal(serviceLane("miner:abcd"), "miner");
  assert.equal(minerFromDetail("in a template for height 70, asked by miner 2a48f48e6ce0573c"), "2a48f48e6ce0573c");
  assert.equal(minerFromDetail(`block ${HASH} height 70 position 1, mined by miner:2a48f48e6ce0573c`), "2a48f48e6ce0573c");
  assert.equal(minerFromDetail("POST /api/tx"), null);
  assert.deepEqual(blockFromDetail(`block ${HASH} height 70 position 1`), { height: 70, hash: HASH });
  const t = traceTimeline([
    { stage: "connected", service: "chainstore", time: 1005.5, detail: "x" },
    { stage: "received", service: "edge", time: 1000.0 },
    { stage: "accepted", service: "mempool", time: 1000.002 },
  ]);
  assert.deepEqual(t.steps.map((s) => s.step), ["edge:received", "mempool:accepted", "chainstore:connected"]);
  assert.equal(t.steps[0].ms, 0);
  assert.ok(Math.abs(t.steps[1].ms - 2) < 1e-6);
  assert.ok(Math.abs(t.totalMs - 5500) < 1e-6);
  assert.equal(t.steps[2].share, 1);
  assert.deepEqual(traceTimeline([]), { steps: [], totalMs: 0 });
});

test("flow: each feed event moves along the right arrow", () => {
  const tr = (service, stage, detail, kind = "tx") => ({ type: "trace", event: { id: HASH, kind, service, stage, time: 1, detail } });
  const r = flowHops(tr("edge", "received", "POST /api/tx"));
  assert.deepEqual(r.hops.map((h) => `${h.from}>${h.to}`), ["clients>edge", "edge>mempool"]);
  assert.equal(r.log.step, "edge:received");
  assert.equal(r.log.link, `#/tx/${HASH}`);
  const tpl = flowHops(tr("mempool", "template", "in a template for height 3, asked by miner abcdef0123456789"));
  assert.deepEqual(tpl.hops.map((h) => `${h.from}>${h.to}`), ["mempool>miner:abcdef0123456789"]);
  const blk = flowHops(tr("chainstore", "connected", "height 3, from miner:abcdef0123456789", "block"));
  assert.deepEqual(blk.hops.map((h) => `${h.from}>${h.to}`), ["miner:abcdef0123456789>chainstore", "chainstore>mempool", "chainstore>edge"]);
  assert.equal(blk.log.link, `#/block/${HASH}`);
  assert.equal(blk.log.height, 3);
  const peerBlock = flowHops(tr("chainstore", "connected", "height 3, from peer:ws://x", "block"));
  assert.equal(peerBlock.hops[0].from, "peers");
  const conf = flowHops(tr("chainstore", "connected", `block ${HASH} height 3 position 1`));
  assert.deepEqual(conf.hops, []);
  assert.match(conf.log.text, /confirmed in block 3/);
  assert.equal(flowHops(tr("mempool", "rejected", "bad")).hops[0].kind, "bad");
  const replaced = flowHops(tr("mempool", "replaced", `replaced by ${HASH} (fee 1 → 2 units)`));
  assert.equal(replaced.hops[0].kind, "bad");
  assert.match(replaced.log.text, new RegExp(`replaced \\(fee bump\\): replaced by ${HASH}`));
  assert.deepEqual(flowHops(tr("peerbridge", "received", "from peer x")).hops.map((h) => `${h.from}>${h.to}`), ["peers>mempool"]);
  assert.deepEqual(flowHops({ type: "tx", txid: HASH, fee: 1, size: 2 }).hops.map((h) => `${h.from}>${h.to}`), ["mempool>edge", "edge>clients"]);
  assert.deepEqual(flowHops({ type: "hello" }), { hops: [], log: null });
  assert.deepEqual(flowHops(null), { hops: [], log: null });
});

test("flow layout: every link joins two boxes, boxes inside the picture and not overlapping", () => {
  for (const narrow of [false, true]) {
    for (const miners of [[], ["aa"], ["aa", "bb", "cc"], ["a1", "a2", "a3", "a4", "a5", "a6"]]) {
      const L = flowLayout(miners, { narrow });
      for (const [a, b] of L.links) assert.ok(L.nodes[a] && L.nodes[b], `${a}-${b}`);
      const boxes = Object.entries(L.nodes);
      for (const [name, n] of boxes) {
        assert.ok(n.x >= 0 && n.y >= 0 && n.x + n.w <= L.width && n.y + n.h <= L.height, `${name} inside (${narrow})`);
      }
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const [na, a] = boxes[i], [nb, b] = boxes[j];
          const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
          assert.ok(apart, `${na} and ${nb} overlap (narrow ${narrow}, ${miners.length} miners)`);
        }
      }
      // No arrow runs under a box that is not one of its two ends (a dot would seem to pass through it).
      for (const [a, b] of L.links) {
        const A = L.nodes[a], B = L.nodes[b];
        for (const [name, n] of boxes) {
          if (name === a || name === b) continue;
          for (let t = 0; t <= 1; t += 0.01) {
            const x = A.cx + (B.cx - A.cx) * t, y = A.cy + (B.cy - A.cy) * t;
            const inside = x > n.x + 1 && x < n.x + n.w - 1 && y > n.y + 1 && y < n.y + n.h - 1;
            assert.ok(!inside, `link ${a}-${b} passes under ${name} (narrow ${narrow}, ${miners.length} miners)`);
          }
        }
      }
      if (miners.length > 3) assert.ok(Object.keys(L.alias).length > 0, "miners beyond those drawn are aliased");
    }
  }
});

test("routes: hash paths to views", () => {
  assert.deepEqual(parseRoute(""), { name: "home" });
  assert.deepEqual(parseRoute("#/"), { name: "home" });
  assert.deepEqual(parseRoute(`#/block/${HASH}`), { name: "block", arg: HASH, page: 0 });
  assert.deepEqual(parseRoute(`#/block/${HASH}/2`), { name: "block", arg: HASH, page: 2 });
  assert.deepEqual(parseRoute(`#/tx/${HASH}`), { name: "tx", arg: HASH });
  assert.deepEqual(parseRoute(`#/address/${ADDR}`), { name: "address", arg: ADDR });
  assert.deepEqual(parseRoute("#/flow"), { name: "flow" });
  assert.deepEqual(parseRoute("#/network"), { name: "network" });
  assert.equal(parseRoute("#/nope").name, "notfound");
  assert.equal(parseRoute("#/tx").name, "notfound");
});

test("api: backoff, config (its ws URL from routes.js), errors carry the edge's code and status", async () => {
  assert.equal(backoffDelay(0, { random: () => 0.5 }), 500);
  assert.equal(backoffDelay(3, { random: () => 0.5 }), 4000);
  assert.equal(backoffDelay(30, { random: () => 0.5 }), 15000);
  assert.ok(backoffDelay(2, { random: () => 0 }) >= 1600 && backoffDelay(2, { random: () => 0.999 }) <= 2400);

  const fakeFetch = async (url) => {
    if (url === "/config.json") return new Response(JSON.stringify({ edge: "http://127.0.0.1:9/" }), { status: 200 });
    if (url.endsWith("/api/tx/zz")) return new Response(JSON.stringify({ error: { code: "bad-txid", message: "'zz' is not a txid" } }), { status: 400 });
    if (url.endsWith("/api/chain")) return new Response(JSON.stringify({ height: 7 }), { status: 200 });
    if (url.endsWith("/api/down")) return new Response("Bad Gateway", { status: 502 });
    throw new TypeError("fetch failed");
  };
  const cfg = await loadConfig({ fetchImpl: fakeFetch });
  assert.equal(cfg.edge, "http://127.0.0.1:9");
  assert.equal(cfg.ws, "ws://127.0.0.1:9/api/ws");
  const c = new EdgeClient("http://edge", { fetchImpl: fakeFetch });
  assert.deepEqual(await c.getJSON("/api/chain"), { height: 7 });
  await assert.rejects(c.getJSON("/api/tx/zz"), (e) => e instanceof ApiError && e.status === 400 && e.code === "bad-txid" && e.message === "'zz' is not a txid" && !e.isUnavailable);
  await assert.rejects(c.getJSON("/api/down"), (e) => e.status === 502 && e.isUnavailable && e.message === "Bad Gateway");
  await assert.rejects(c.getJSON("/api/other"), (e) => e.status === 0 && e.code === "network" && e.isUnavailable);
});

test("feed: reconnects with backoff, state goes reconnecting → offline → online, tracked addresses re-sent", async () => {
  const sockets = [];
  class FakeWS {
    constructor(url) { this.url = url; this.readyState = 0; this.sent = []; sockets.push(this); }
    send(t) { this.sent.push(JSON.parse(t)); }
    close() { this.readyState = 3; }
    open() { this.readyState = 1; this.onopen && this.onopen(); }
    message(m) { this.onmessage && this.onmessage({ data: JSON.stringify(m) }); }
    drop() { this.readyState = 3; this.onclose && this.onclose(); }
  }
  const states = [];
  const feed = new Feed("ws://x/api/ws", { WebSocketImpl: FakeWS, offlineAfter: 2 });
  feed.onState((s) => states.push(s));
  const blocks = [];
  const all = [];
  feed.on("block", (m) => blocks.push(m.block.height));
  feed.on("*", (m) => all.push(m.type));
  feed.start();
  assert.equal(feed.state, "connecting");
  sockets[0].open();
  assert.equal(feed.state, "online");
  feed.track(ADDR);
  assert.deepEqual(sockets[0].sent, [{ "track-address": ADDR }]);
  sockets[0].message({ type: "hello", height: 5 });
  sockets[0].message({ type: "block", block: { height: 6 } });
  sockets[0].message("not an object");
  assert.deepEqual(blocks, [6]);
  assert.equal(feed.hello.height, 5);
  sockets[0].drop();
  assert.equal(feed.state, "reconnecting");
  feed.retryNow();
  assert.equal(sockets.length, 2);
  sockets[1].drop();
  assert.equal(feed.state, "reconnecting");
  feed.retryNow();
  sockets[2].drop();
  assert.equal(feed.state, "offline", "after several failed attempts");
  assert.ok(feed.nextRetryAt > Date.now());
  feed.retryNow();
  sockets[3].open();
  assert.equal(feed.state, "online");
  assert.deepEqual(sockets[3].sent, [{ "track-address": ADDR }], "tracking re-sent after the reconnect");
  feed.untrack(ADDR);
  assert.deepEqual(sockets[3].sent[1], { "untrack-address": ADDR });
  feed.stop();
  assert.equal(feed.state, "idle");
  assert.deepEqual(states, ["idle", "connecting", "online", "reconnecting", "offline", "online", "idle"]);
  assert.ok(all.includes("hello") && all.includes("open") && all.includes("close"));
});

test("feed: a silent socket is probed; no answer (a hung edge) → reconnecting, an answer keeps it online; an attempt that never opens fails", async () => {
  const sockets = [];
  class FakeWS {
    constructor(url) { this.url = url; this.readyState = 0; this.closed = false; sockets.push(this); }
    send() {}
    close() { this.closed = true; this.readyState = 3; }
    open() { this.readyState = 1; this.onopen && this.onopen(); }
  }
  const waitFor = async (what, check) => {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  let edgeAnswers = true;
  let probes = 0;
  const probe = (signal) => {
    probes += 1;
    if (edgeAnswers) return Promise.resolve("pong");
    return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))); // hangs until timed out
  };
  const feed = new Feed("ws://x/api/ws", { WebSocketImpl: FakeWS, idleMs: 30, probeTimeoutMs: 30, connectTimeoutMs: 60, probe });
  const closes = [];
  feed.on("close", () => closes.push(1));
  feed.start();
  sockets[0].open();
  await waitFor("two answered probes", () => probes >= 2);
  assert.equal(feed.state, "online", "an answering edge keeps a quiet feed online");
  assert.equal(sockets[0].closed, false);
  edgeAnswers = false;
  await waitFor("the silent socket abandoned", () => feed.state !== "online");
  assert.equal(feed.state, "reconnecting");
  assert.ok(sockets[0].closed, "the hung socket is closed");
  assert.equal(closes.length, 1);
  feed.retryNow();
  assert.equal(sockets.length, 2);
  await waitFor("the attempt that never opens to fail", () => feed.failures >= 2 && sockets[1].closed);
  assert.equal(feed.ws === sockets[1], false);
  feed.retryNow();
  sockets[2].open();
  assert.equal(feed.state, "online");
  feed.stop();
  assert.equal(feed.watchTimer, null);
});

test("describeError: unreachable, not found, the node's failure and a refusal each say so", () => {
  assert.equal(describeError(new ApiError("fetch failed")), "The node is not reachable: fetch failed.");
  assert.equal(describeError(new ApiError("Transaction not found", { status: 404, code: "not-found" })), "Transaction not found");
  assert.equal(describeError(new ApiError("chain store down", { status: 503, code: "unavailable" })), "The node could not answer (503 unavailable): chain store down");
  assert.equal(describeError(new ApiError("'zz' is not a txid", { status: 400, code: "bad-txid" })), "'zz' is not a txid (bad-txid)");
  assert.equal(describeError(new Error("boom")), "boom");
});
