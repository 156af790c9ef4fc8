// Ready-made snippets for a key: a `curl` of a REST route and a JavaScript `fetch` of a JSON-RPC
// method, with the edge's real URL and the key filled in (pure: tested by Tests/WalletFrontTests/js/portal.test.mjs).
//
//   curlSnippet(edge, key)  → "curl -s 'http://127.0.0.1:8340/v1/ck_…/api/blocks/tip/height'"
//   fetchSnippet(edge, key) → a few lines that POST getblockcount to /v1/<key>/rpc and log the status and answer
//
// A key whose secret this page no longer knows (it is shown once) is written as
// `ck_<id>_YOUR_SECRET`: the snippet is right but for that part.

import { paths } from "../routes.js";

/** The key text of a snippet: the whole key when known, else its id and a placeholder. */
export function keyText(id, secretKey) {
  return secretKey || `ck_${id}_YOUR_SECRET`;
}

/** Single-quoted for a POSIX shell. */
export function shellQuote(text) {
  return `'${String(text).replaceAll("'", "'\\''")}'`;
}

/** `curl` of the tip height through the key (a REST route, counted as "GET /api/blocks/tip/height"). */
export function curlSnippet(edge, key) {
  return `curl -s ${shellQuote(edge + paths.keyed(key, paths.tipHeight()))}`;
}

/** `fetch` of JSON-RPC getblockcount through the key (counted as "getblockcount"); logs the HTTP status and the answer. */
export function fetchSnippet(edge, key) {
  return [
    `const res = await fetch(${JSON.stringify(edge + paths.keyedRPC(key))}, {`,
    `  method: "POST",`,
    `  headers: { "Content-Type": "application/json" },`,
    `  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getblockcount", params: [] }),`,
    `});`,
    `console.log(res.status, await res.json());`,
  ].join("\n");
}
