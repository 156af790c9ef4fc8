// The feed's resume cursor: after a reconnect the page asks the edge to replay what it missed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Feed } from "../../../Sources/WalletFront/Public/js/feed.js";

class FakeWS {
  static sockets = [];
  constructor(url) { this.url = url; this.readyState = 0; this.sent = []; FakeWS.sockets.push(this); }
  send(t) { this.sent.push(JSON.parse(t)); }
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen && this.onopen(); }
  message(m) { this.onmessage && this.onmessage({ data: JSON.stringify(m) }); }
  drop() { this.readyState = 3; this.onclose && this.onclose(); }
}

const H = (n) => String(n).padStart(64, "0");

test("feed: reconnects with its cursor; replayed and live messages reach the page in order; resync is passed on", () => {
  FakeWS.sockets = [];
  const feed = new Feed("ws://edge.example:8340/api/ws", { WebSocketImpl: FakeWS, idleMs: 0, connectTimeoutMs: 0 });
  const seen = [];
  feed.on("*", (m) => { if (!["open", "close", "retry"].includes(m.type)) seen.push(m.type + (m.seq !== undefined ? ":" + m.seq : "")); });
  const resyncs = [];
  feed.on("resync", (m) => resyncs.push(m.scope));
  feed.start();
  const first = FakeWS.sockets[0];
  assert.equal(first.url, "ws://edge.example:8340/api/ws", "a fresh page starts without a cursor");
  first.open();
  first.message({ type: "hello", instance: "aaaa", seq: 10, tip: H(5), height: 5 });
  first.message({ type: "block", seq: 11, block: { id: H(6), height: 6 } });
  first.message({ type: "tx", seq: 12, txid: H(99) });
  first.drop();
  feed.retryNow();
  const second = FakeWS.sockets[1];
  const u = new URL(second.url);
  assert.equal(u.pathname, "/api/ws");
  assert.equal(u.searchParams.get("since"), "12");
  assert.equal(u.searchParams.get("instance"), "aaaa");
  assert.equal(u.searchParams.get("since_hash"), H(6));
  // The same edge replays from its window.
  second.open();
  second.message({ type: "hello", instance: "aaaa", seq: 14 });
  second.message({ type: "block", seq: 13, block: { id: H(7), height: 7 } });
  second.message({ type: "block-disconnected", seq: 14, hash: H(7), height: 7, previous: H(6) });
  assert.equal(feed.cursor.seq, 14);
  assert.equal(feed.cursor.hash, H(6), "after a disconnect the cursor's block is the parent");
  second.drop();
  feed.retryNow();
  const third = FakeWS.sockets[2];
  assert.equal(new URL(third.url).searchParams.get("since_hash"), H(6));
  // A restarted edge: its own numbering; blocks replayed from the chain, then a mempool resync.
  third.open();
  third.message({ type: "hello", instance: "bbbb", seq: 3, tip: H(8) });
  third.message({ type: "block", seq: 3, replay: true, block: { id: H(8), height: 8 } });
  third.message({ type: "resync", seq: 3, scope: "mempool", reason: "…" });
  third.message({ type: "block", seq: 4, block: { id: H(9), height: 9 } });
  assert.deepEqual(feed.cursor, { instance: "bbbb", seq: 4, hash: H(9) });
  assert.deepEqual(resyncs, ["mempool"]);
  assert.deepEqual(seen, ["hello:10", "block:11", "tx:12", "hello:14", "block:13", "block-disconnected:14",
    "hello:3", "block:3", "resync:3", "block:4"]);
  feed.stop();
});
