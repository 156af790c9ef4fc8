// Every URL of the edge that the pages ask, built here and nowhere else (the wallet and the explorer).
//
//   paths.address(a) → "/api/address/<a, percent-encoded>"     (pure: tested by Tests/WalletFrontTests/js/routes.test.mjs)
//   await routes.address(a)                                   (GET through api.js's shared client)
//
// Path segments that come from data (hashes, addresses, search text) are percent-encoded; heights and
// page offsets go in as given (the edge answers a 400 for what is not a number). The feed's URLs are
// absolute (another scheme, another base): wsURLFor(edge) → "ws://host/api/ws", pingURLFor(ws) → "http://host/api/ping".

import { api } from "./api.js";

const enc = encodeURIComponent;
/** Paths (relative to the edge's base URL) of the edge's routes. */
export const paths = {
  ws: () => "/api/ws",
  ping: () => "/api/ping",
  chain: () => "/api/chain",
  node: () => "/api/node",
  health: () => "/healthz",
  miners: () => "/api/miners",
  peers: () => "/api/peers",
  sync: () => "/api/sync",
  blocks: (startHeight) => (startHeight == null ? "/api/blocks" : `/api/blocks/${startHeight}`),
  block: (hash) => `/api/block/${enc(hash)}`,
  blockStatus: (hash) => `/api/block/${enc(hash)}/status`,
  blockTxs: (hash, start = 0) => `/api/block/${enc(hash)}/txs/${start}`,
  blockHashAt: (height) => `/api/block-height/${height}`,
  tipHeight: () => "/api/blocks/tip/height",
  tx: (txid) => `/api/tx/${enc(txid)}`,
  txHex: (txid) => `/api/tx/${enc(txid)}/hex`,
  txStatus: (txid) => `/api/tx/${enc(txid)}/status`,
  txTrace: (txid) => `/api/tx/${enc(txid)}/trace`,
  txOutspends: (txid) => `/api/tx/${enc(txid)}/outspends`,
  broadcast: () => "/api/tx",
  lookup: (text) => `/api/lookup/${enc(text)}`,
  address: (addr) => `/api/address/${enc(addr)}`,
  addressUtxos: (addr) => `/api/address/${enc(addr)}/utxo`,
  addressTxs: (addr) => `/api/address/${enc(addr)}/txs`,
  addressChainTxs: (addr, lastSeen) =>
    (lastSeen ? `/api/address/${enc(addr)}/txs/chain/${enc(lastSeen)}` : `/api/address/${enc(addr)}/txs/chain`),
  mempool: () => "/api/mempool",
  mempoolTxids: () => "/api/mempool/txids",
  feeEstimates: () => "/api/fee-estimates",
  mempoolBlocks: () => "/api/v1/fees/mempool-blocks",
  mempoolPosition: (txid) => `/api/mempool/position/${enc(txid)}`,
  chartBlocks: (count) => `/api/charts/blocks/${count}`,
  chartMempool: (seconds) => `/api/charts/mempool/${seconds}`,
  faucet: () => "/api/faucet",
  mining: () => "/api/mining",
  miningChange: () => "/api/operator/mining",
  miningStep: () => "/api/operator/mining/step",
  // The developer portal (portal.html): the session goes in Authorization: Bearer.
  portal: () => "/api/portal",
  portalSignup: () => "/api/portal/signup",
  portalLogin: () => "/api/portal/login",
  portalLogout: () => "/api/portal/logout",
  portalKeys: () => "/api/portal/keys",
  portalKey: (id) => `/api/portal/keys/${enc(id)}`,
  portalRotate: (id) => `/api/portal/keys/${enc(id)}/rotate`,
  portalUsage: (key) => (key ? `/api/portal/usage?key=${enc(key)}` : "/api/portal/usage"),
  // What an app calls with a key (the portal's snippets): the key carried in the path.
  keyed: (key, path) => `/v1/${enc(key)}${path}`,
  keyedRPC: (key) => `/v1/${enc(key)}/rpc`,
};

/** The feed's WebSocket URL for an edge base URL: same host, ws:// (wss:// for https), path /api/ws. */
export function wsURLFor(edge) {
  const u = new URL(edge);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = u.pathname.replace(/\/+$/, "") + paths.ws();
  u.search = "";
  u.hash = "";
  return u.toString();
}

/** The edge's GET /api/ping URL for a feed URL (ws://host/api/ws → http://host/api/ping). */
export function pingURLFor(wsURL) {
  const u = new URL(wsURL);
  u.protocol = u.protocol === "wss:" ? "https:" : "http:";
  u.pathname = u.pathname.replace(/\/api\/ws\/?$/, "") + paths.ping();
  u.search = "";
  u.hash = "";
  return u.toString();
}

/** Whether a request's URL (restStatus reports them) is the one of a path of `paths`, e.g. isURLFor(r.url, paths.health()). */
export function isURLFor(url, path) {
  return String(url ?? "").endsWith(path);
}

/** Named requests for the edge's routes (Esplora-shaped answers; errors are api.js's ApiError). */
export const routes = {
  chain: () => api.getJSON(paths.chain()),
  node: () => api.getJSON(paths.node()),
  /** 200 when the chain store and the mempool answer, else ApiError 503 (its body is in neither case an error object). */
  health: () => api.getJSON(paths.health()),
  miners: () => api.getJSON(paths.miners()),
  peers: () => api.getJSON(paths.peers()),
  sync: () => api.getJSON(paths.sync()),
  blocks: (startHeight) => api.getJSON(paths.blocks(startHeight)),
  block: (hash) => api.getJSON(paths.block(hash)),
  blockStatus: (hash) => api.getJSON(paths.blockStatus(hash)),
  blockTxs: (hash, start = 0) => api.getJSON(paths.blockTxs(hash, start)),
  blockHashAt: (height) => api.getText(paths.blockHashAt(height)),
  tipHeight: async () => Number(await api.getText(paths.tipHeight())),
  tx: (txid) => api.getJSON(paths.tx(txid)),
  txHex: (txid) => api.getText(paths.txHex(txid)),
  txStatus: (txid) => api.getJSON(paths.txStatus(txid)),
  txTrace: (txid) => api.getJSON(paths.txTrace(txid)),
  /** Who spends each output: [{spent, txid?, vin?, status?}] (Esplora). */
  txOutspends: (txid) => api.getJSON(paths.txOutspends(txid)),
  /** POST raw transaction hex → the txid as text. */
  broadcast: (hex) => api.postText(paths.broadcast(), hex),
  /** Whether 64 hex digits name a block or a transaction ({kind, …}). */
  lookup: (text) => api.getJSON(paths.lookup(text)),
  address: (addr) => api.getJSON(paths.address(addr)),
  addressUtxos: (addr) => api.getJSON(paths.addressUtxos(addr)),
  addressTxs: (addr) => api.getJSON(paths.addressTxs(addr)),
  addressChainTxs: (addr, lastSeen) => api.getJSON(paths.addressChainTxs(addr, lastSeen)),
  mempool: () => api.getJSON(paths.mempool()),
  mempoolTxids: () => api.getJSON(paths.mempoolTxids()),
  feeEstimates: () => api.getJSON(paths.feeEstimates()),
  /** The projected next blocks (mempool.space's shape: blockSize, blockVSize, nTx, totalFees, medianFee, feeRange). */
  mempoolBlocks: () => api.getJSON(paths.mempoolBlocks()),
  /** A pending transaction's projected block ({txid, block, blocks}; 0 = the next block); 404 when not in the mempool. */
  mempoolPosition: (txid) => api.getJSON(paths.mempoolPosition(txid)),
  /** The last `count` blocks' {height, timestamp, size, tx_count, fees, difficulty, work}, oldest first. */
  chartBlocks: (count) => api.getJSON(paths.chartBlocks(count)),
  /** The mempool's samples of the last `seconds`: {time, count, vsize, total_fee, next_block_median_fee, next_block_min_fee}. */
  chartMempool: (seconds) => api.getJSON(paths.chartMempool(seconds)),
  /** The regtest faucet's state ({available, amount, spendable}); 404 where there is none. */
  faucet: () => api.getJSON(paths.faucet()),
  /** Ask the faucet to pay `address` ({txid, amount}; 429 too soon, 503 nothing mature). */
  faucetPay: (address) => api.postJSON(paths.faucet(), { address }),
  /** The learning mode's mining pace ({state: running|paused|stepping, minInterval, stepHeight, available}). */
  mining: () => api.getJSON(paths.mining()),
  /** Operator only (the token in the body: a page on another origin cannot send Authorization): {state?, minInterval?}. */
  miningChange: (token, change) => api.postJSON(paths.miningChange(), { ...change, token }),
  /** Operator only: exactly one block, then paused. */
  miningStep: (token) => api.postJSON(paths.miningStep(), { token }),
  /** The portal: {signup, keyRPS, keyDaily, maxKeys, sessionSeconds}. */
  portalInfo: () => api.getJSON(paths.portal()),
  /** A new account, logged in: {token, account: {id, name, created}, expires} (403 sign-up closed, 409 name taken). */
  portalSignup: (name, password) => api.postJSON(paths.portalSignup(), { name, password }),
  /** A session ({token, account, expires}); 401 wrong name or password, 429 too many failures. */
  portalLogin: (name, password) => api.postJSON(paths.portalLogin(), { name, password }),
  portalLogout: (session) => api.postJSON(paths.portalLogout(), {}, { headers: bearer(session) }),
  /** The account's keys (KeyInfo: id, name, rps, daily, created, revoked). */
  portalKeys: (session) => api.getJSON(paths.portalKeys(), { headers: bearer(session) }),
  /** {info, key}: the whole key, shown this once. */
  portalCreateKey: (session, name) => api.postJSON(paths.portalKeys(), { name }, { headers: bearer(session) }),
  portalRotateKey: (session, id) => api.postJSON(paths.portalRotate(id), {}, { headers: bearer(session) }),
  portalRevokeKey: (session, id) => api.deleteJSON(paths.portalKey(id), { headers: bearer(session) }),
  /** {hours: [{key, method, hour, requests, errors, refused}], days: [{day, key, requests, errors, refused}]} (last 24 hours). */
  portalUsage: (session, key) => api.getJSON(paths.portalUsage(key), { headers: bearer(session) }),
};

function bearer(session) { return { Authorization: `Bearer ${session}` }; }
