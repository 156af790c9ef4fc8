// Every URL of the edge the pages ask is built by js/routes.js: paths (pure) and the requests over api.js's client.
import { test } from "node:test";
import assert from "node:assert/strict";
import { paths, routes, wsURLFor, pingURLFor, isURLFor } from "../../../Sources/WalletFront/Public/js/routes.js";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { api } from "../../../Sources/WalletFront/Public/js/api.js";

const TXID = "72ea" + "0".repeat(56) + "6bde";
const ADDR = "rcrn1qej5cmplf26smtzxrm78ys056ave28n6sqx4jjhndn79qeqzqnucq3r0kkl";

test("paths: fixed routes, and data segments percent-encoded", () => {
  assert.equal(paths.chain(), "/api/chain");
  assert.equal(paths.health(), "/healthz");
  assert.equal(paths.tipHeight(), "/api/blocks/tip/height");
  assert.equal(paths.blocks(), "/api/blocks");
  assert.equal(paths.blocks(0), "/api/blocks/0");
  assert.equal(paths.blocks(120), "/api/blocks/120");
  assert.equal(paths.blockTxs(TXID), `/api/block/${TXID}/txs/0`);
  assert.equal(paths.blockTxs(TXID, 25), `/api/block/${TXID}/txs/25`);
  assert.equal(paths.blockHashAt(7), "/api/block-height/7");
  assert.equal(paths.tx(TXID), `/api/tx/${TXID}`);
  assert.equal(paths.txHex(TXID), `/api/tx/${TXID}/hex`);
  assert.equal(paths.address(ADDR), `/api/address/${ADDR}`);
  assert.equal(paths.addressUtxos(ADDR), `/api/address/${ADDR}/utxo`);
  assert.equal(paths.addressChainTxs(ADDR), `/api/address/${ADDR}/txs/chain`);
  assert.equal(paths.addressChainTxs(ADDR, TXID), `/api/address/${ADDR}/txs/chain/${TXID}`);
  assert.equal(paths.faucet(), "/api/faucet");
  assert.equal(paths.broadcast(), "/api/tx");
  // What a user typed cannot reach another route: slashes, dots, query and fragment marks are encoded.
  assert.equal(paths.address("../tx/x?y#z"), "/api/address/..%2Ftx%2Fx%3Fy%23z");
  assert.equal(paths.lookup("a b/c"), "/api/lookup/a%20b%2Fc");
  assert.equal(paths.tx("a/b"), "/api/tx/a%2Fb");
  assert.equal(paths.addressChainTxs("a/b", "c/d"), "/api/address/a%2Fb/txs/chain/c%2Fd");
});

test("every route has its path, and every request goes to the configured edge", async () => {
  for (const name of Object.keys(routes)) {
    const aliases = { faucetPay: "faucet", portalInfo: "portal", portalCreateKey: "portalKeys", portalRotateKey: "portalRotate",
      portalRevokeKey: "portalKey" };
    const pathName = aliases[name] || name;
    assert.equal(typeof paths[pathName], "function", `paths.${pathName}`);
  }
  const seen = [];
  const saved = { base: api.base, fetchImpl: api.fetchImpl };
  api.base = "http://edge.test:8340";
  api.fetchImpl = async (url, init) => {
    seen.push({ url, method: init.method, body: init.body, type: init.headers["Content-Type"] });
    const text = url.endsWith("/tip/height") ? "42" : url.endsWith("/api/tx") ? TXID : "{\"ok\":true}";
    return new Response(text, { status: 200 });
  };
  try {
    assert.equal(await routes.tipHeight(), 42);
    assert.deepEqual(await routes.address(ADDR), { ok: true });
    assert.equal(await routes.broadcast("00ff"), TXID);
    assert.deepEqual(await routes.faucetPay(ADDR), { ok: true });
    assert.deepEqual(await routes.lookup(TXID), { ok: true });
  } finally {
    Object.assign(api, saved);
  }
  assert.deepEqual(seen, [
    { url: "http://edge.test:8340/api/blocks/tip/height", method: "GET", body: undefined, type: undefined },
    { url: `http://edge.test:8340/api/address/${ADDR}`, method: "GET", body: undefined, type: undefined },
    { url: "http://edge.test:8340/api/tx", method: "POST", body: "00ff", type: "text/plain" },
    { url: "http://edge.test:8340/api/faucet", method: "POST", body: JSON.stringify({ address: ADDR }), type: "application/json" },
    { url: `http://edge.test:8340/api/lookup/${TXID}`, method: "GET", body: undefined, type: undefined },
  ]);
});

test("the feed's URLs: ws from the edge's base, ping from the feed's URL, under a base path too", () => {
  assert.equal(wsURLFor("http://127.0.0.1:8340"), "ws://127.0.0.1:8340/api/ws");
  assert.equal(wsURLFor("https://node.example/"), "wss://node.example/api/ws");
  assert.equal(wsURLFor("https://node.example/base/?x=1#y"), "wss://node.example/base/api/ws");
  assert.equal(pingURLFor("wss://edge.example:8443/base/api/ws"), "https://edge.example:8443/base/api/ping");
  assert.equal(pingURLFor("ws://127.0.0.1:8340/api/ws"), "http://127.0.0.1:8340/api/ping");
  assert.equal(pingURLFor(wsURLFor("http://127.0.0.1:8340")), "http://127.0.0.1:8340/api/ping");
});

test("isURLFor: a reported request's URL against a path of paths", () => {
  assert.ok(isURLFor("http://e:1/healthz", paths.health()));
  assert.ok(isURLFor("http://e:1/base/api/faucet", paths.faucet()));
  assert.ok(!isURLFor("http://e:1/api/faucet/x", paths.faucet()));
  assert.ok(!isURLFor(undefined, paths.peers()));
});

test("no module but routes.js writes an edge path", () => {
  const root = new URL("../../../Sources/WalletFront/Public/js/", import.meta.url).pathname;
  const files = (dir) => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith(".js") ? [join(dir, n)] : []));
  const offenders = [];
  for (const p of files(root)) {
    const path = relative(root, p);
    if (path === "routes.js") continue;
    // Code only: a path in a comment documents, it builds nothing.
    const code = readFileSync(p, "utf8").split("\n").filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join("\n");
    if (/["'`]\/(api|v1|healthz)\b/.test(code) || /\\\/(api|healthz)\\\//.test(code)) offenders.push(path);
  }
  assert.deepEqual(offenders, []);
});
