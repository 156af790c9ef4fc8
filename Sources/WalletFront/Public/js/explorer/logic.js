// Pure logic of the explorer: search, routes and error texts; no DOM, no network. Confirmations and an address's net are
// lib/esplora.js's (shared with the wallet), the chart's model is chartmodel.js, the trace and flow's flowmodel.js. Tested by Tests/WalletFrontTests/js/explorer.test.mjs.
import { ApiError } from "../api.js";
import { decodeAddress, CHARSET as BECH32_CHARS } from "../lib/bech32m.js";
import { NETWORKS } from "../lib/networks.js";
const MAX_HEIGHT = 2 ** 31 - 1;

/**
 * What a search box entry looks like, decided by shape only:
 *   {kind: "height", height}        digits
 *   {kind: "hash", value}           64 hex digits (a block hash or a txid: try the block first, then the transaction)
 *   {kind: "address", value}        a bech32 string with a Cairn prefix (crn1…, tcrn1…, rcrn1…)
 *   {kind: "empty"} or {kind: "invalid", reason}
 */
export function classifySearch(input) {
  const q = String(input ?? "").trim();
  if (!q) return { kind: "empty" };
  if (/^\d+$/.test(q)) {
    if (q.length > 10 || Number(q) > MAX_HEIGHT) return { kind: "invalid", reason: "That height is larger than any block height." };
    return { kind: "height", height: Number(q) };
  }
  if (/^[0-9a-fA-F]{64}$/.test(q)) return { kind: "hash", value: q.toLowerCase() };
  if (/^[0-9a-fA-F]+$/.test(q) && q.length < 64 && q.length > 10) {
    return { kind: "invalid", reason: `A block hash or transaction id has 64 hex digits; this has ${q.length}.` };
  }
  const sep = q.lastIndexOf("1");
  if (sep > 0) {
    const prefix = q.slice(0, sep);
    const data = q.slice(sep + 1);
    const looksBech32 = /^[a-zA-Z]+$/.test(prefix) && data.length >= 6 && [...data.toLowerCase()].every((c) => BECH32_CHARS.includes(c));
    if (looksBech32) {
      if (q !== q.toLowerCase() && q !== q.toUpperCase()) return { kind: "invalid", reason: "An address is all lower case or all upper case, not mixed." };
      const network = Object.values(NETWORKS).find((n) => n.prefix === prefix.toLowerCase())?.name;
      if (!network) {
        return { kind: "invalid", reason: `"${prefix.toLowerCase()}1…" is not a Cairn address (they start with crn1, tcrn1 or rcrn1).` };
      }
      const value = q.toLowerCase();
      try {
        decodeAddress(value, network);
      } catch (e) {
        if (e.code === "address-bad-checksum") return { kind: "invalid", reason: "That address has a typing mistake: its checksum does not match. Check it character by character." };
        return { kind: "invalid", reason: `That is not a valid Cairn address: ${e.message}.` };
      }
      return { kind: "address", value };
    }
  }
  const shown = q.length > 40 ? `${q.slice(0, 40)}…` : q;
  return { kind: "invalid", reason: `"${shown}" is not a block height, a block hash (64 hex digits), a transaction id (64 hex digits) or an address (rcrn1…).` };
}

/** Where a route hash points: {name, arg} for "#/", "#/block/<hash>", "#/tx/<txid>", "#/address/<a>", "#/flow", "#/network". */
export function parseRoute(hash) {
  const h = String(hash || "").replace(/^#/, "");
  const parts = h.split("/").filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
  if (parts.length === 0) return { name: "home" };
  const [name, arg, extra] = parts;
  if (name === "block" && arg) return { name: "block", arg, page: extra != null ? Math.max(0, Number(extra) | 0) : 0 };
  if (name === "block-height" && arg) return { name: "block-height", arg };
  if ((name === "tx" || name === "address") && arg) return { name, arg };
  if (name === "flow" || name === "network" || name === "mempool" || name === "charts") return { name };
  return { name: "notfound", path: h };
}

/** Human text for an ApiError (a search's or a view's failure). */
export function describeError(e) {
  if (e instanceof ApiError) {
    if (e.status === 0) return `The node is not reachable: ${e.message}.`;
    if (e.status === 404) return e.message;
    if (e.status >= 500) return `The node could not answer (${e.status} ${e.code}): ${e.message}`;
    return `${e.message} (${e.code})`;
  }
  return String(e && e.message ? e.message : e);
}
