// The developer portal's pure parts: its snippets (real edge URL and key filled in) and the usage sums behind its charts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { paths } from "../../../Sources/WalletFront/Public/js/routes.js";
import { curlSnippet, fetchSnippet, keyText, shellQuote } from "../../../Sources/WalletFront/Public/js/portal/snippets.js";
import { hourLabel, lastHours, perHour, perMethod, totals } from "../../../Sources/WalletFront/Public/js/portal/usage.js";

const KEY = "ck_0123456789abcdef_" + "A".repeat(20) + "-_" + "z".repeat(21);
const EDGE = "http://127.0.0.1:8340";

test("portal paths", () => {
  assert.equal(paths.portal(), "/api/portal");
  assert.equal(paths.portalKeys(), "/api/portal/keys");
  assert.equal(paths.portalKey("0123456789abcdef"), "/api/portal/keys/0123456789abcdef");
  assert.equal(paths.portalRotate("0123456789abcdef"), "/api/portal/keys/0123456789abcdef/rotate");
  assert.equal(paths.portalUsage(), "/api/portal/usage");
  assert.equal(paths.portalUsage("0123456789abcdef"), "/api/portal/usage?key=0123456789abcdef");
  assert.equal(paths.keyed(KEY, "/api/blocks/tip/height"), `/v1/${KEY}/api/blocks/tip/height`);
  assert.equal(paths.keyedRPC(KEY), `/v1/${KEY}/rpc`);
});

test("the curl snippet is one shell word per argument, with the key in the path", () => {
  const curl = curlSnippet(EDGE, KEY);
  assert.equal(curl, `curl -s '${EDGE}/v1/${KEY}/api/blocks/tip/height'`);
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  // What a shell makes of it: exactly the URL (echo in place of curl).
  const argv = execFileSync("sh", ["-c", curl.replace(/^curl -s /, "printf '%s\\n' ")]).toString().trim();
  assert.equal(argv, `${EDGE}/v1/${KEY}/api/blocks/tip/height`);
});

test("the fetch snippet posts getblockcount to the keyed /rpc and logs the status and the answer", async () => {
  const text = fetchSnippet(EDGE, KEY);
  assert.match(text, new RegExp(`fetch\\("${EDGE}/v1/${KEY}/rpc"`));
  // Run it with a fetch and a console of our own (AsyncFunction: the snippet uses top-level await).
  const AsyncFunction = (async () => {}).constructor;
  const calls = [];
  const logged = [];
  const fakeFetch = async (url, init) => {
    calls.push({ url, init });
    return { status: 200, json: async () => ({ jsonrpc: "2.0", id: 1, result: 7 }) };
  };
  await new AsyncFunction("fetch", "console", text)(fakeFetch, { log: (...a) => logged.push(a) });
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, `${EDGE}/v1/${KEY}/rpc`);
  assert.equal(calls[0].init.method, "POST");
  assert.deepEqual(JSON.parse(calls[0].init.body), { jsonrpc: "2.0", id: 1, method: "getblockcount", params: [] });
  assert.deepEqual(logged, [[200, { jsonrpc: "2.0", id: 1, result: 7 }]]);
});

test("a key whose secret the page does not know says so", () => {
  assert.equal(keyText("0123456789abcdef", null), "ck_0123456789abcdef_YOUR_SECRET");
  assert.equal(keyText("0123456789abcdef", KEY), KEY);
});

test("usage per hour, per method and in total", () => {
  const h0 = 1_795_561_200; // a whole hour
  const rows = [
    { key: "a", method: "getblockcount", hour: h0, requests: 3, errors: 1, refused: 0 },
    { key: "a", method: "GET /api/blocks/tip/height", hour: h0 + 3600, requests: 5, errors: 0, refused: 2 },
    { key: "b", method: "getblockcount", hour: h0 + 3600, requests: 1, errors: 0, refused: 0 },
    { key: "b", method: "getblockcount", hour: h0 - 86400, requests: 100, errors: 0, refused: 0 }, // older than the window
  ];
  const hours = lastHours(h0 + 3600 + 59, 3);
  assert.deepEqual(hours, [h0 - 3600, h0, h0 + 3600]);
  assert.deepEqual(perHour(rows, hours).map((p) => [p.requests, p.errors, p.refused]), [[0, 0, 0], [3, 1, 0], [6, 0, 2]]);
  assert.deepEqual(perHour(rows, hours, "b").map((p) => p.requests), [0, 0, 1]);
  assert.deepEqual(perMethod(rows.slice(0, 3)), [
    { method: "GET /api/blocks/tip/height", requests: 5, errors: 0, refused: 2 },
    { method: "getblockcount", requests: 4, errors: 1, refused: 0 },
  ]);
  assert.deepEqual(totals(rows, "a"), { requests: 8, errors: 1, refused: 2 });
  assert.equal(hourLabel(h0), new Date(h0 * 1000).toISOString().slice(11, 16));
});

test("the portal's requests carry the session as a Bearer token, with their methods", async () => {
  const { routes } = await import("../../../Sources/WalletFront/Public/js/routes.js");
  const { api } = await import("../../../Sources/WalletFront/Public/js/api.js");
  const seen = [];
  const saved = { base: api.base, fetchImpl: api.fetchImpl };
  api.base = "http://edge.test:8340";
  api.fetchImpl = async (url, init) => {
    seen.push([init.method, url, init.headers.Authorization, init.body]);
    return new Response("{}", { status: 200 });
  };
  try {
    await routes.portalInfo();
    await routes.portalLogin("alice", "pw-pw-pw-pw");
    await routes.portalKeys("cs_s");
    await routes.portalCreateKey("cs_s", "app");
    await routes.portalRotateKey("cs_s", "0123456789abcdef");
    await routes.portalRevokeKey("cs_s", "0123456789abcdef");
    await routes.portalUsage("cs_s", "0123456789abcdef");
    await routes.portalLogout("cs_s");
  } finally {
    Object.assign(api, saved);
  }
  const e = "http://edge.test:8340";
  assert.deepEqual(seen, [
    ["GET", `${e}/api/portal`, undefined, undefined],
    ["POST", `${e}/api/portal/login`, undefined, JSON.stringify({ name: "alice", password: "pw-pw-pw-pw" })],
    ["GET", `${e}/api/portal/keys`, "Bearer cs_s", undefined],
    ["POST", `${e}/api/portal/keys`, "Bearer cs_s", JSON.stringify({ name: "app" })],
    ["POST", `${e}/api/portal/keys/0123456789abcdef/rotate`, "Bearer cs_s", "{}"],
    ["DELETE", `${e}/api/portal/keys/0123456789abcdef`, "Bearer cs_s", undefined],
    ["GET", `${e}/api/portal/usage?key=0123456789abcdef`, "Bearer cs_s", undefined],
    ["POST", `${e}/api/portal/logout`, "Bearer cs_s", "{}"],
  ]);
});
