// The edge's Esplora-shaped answers as both pages read them (js/lib/esplora.js): one model for the wallet and the explorer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { balancesFrom, netForAddress, isCoinbase, confirmations } from "../../../Sources/WalletFront/Public/js/lib/esplora.js";

test("balances: confirmed from chain stats, pending as the signed mempool change", () => {
  const stats = {
    chain_stats: { funded_txo_count: 3, funded_txo_sum: 1000, spent_txo_count: 1, spent_txo_sum: 400, tx_count: 3 },
    mempool_stats: { funded_txo_count: 1, funded_txo_sum: 50, spent_txo_count: 1, spent_txo_sum: 300, tx_count: 1 },
  };
  assert.deepEqual(balancesFrom(stats), { confirmed: 600, pending: -250 });
});

test("net effect of a transaction on an address, coinbase detection", () => {
  const spend = {
    vin: [{ is_coinbase: false, prevout: { address: "a", value: 5000 } }, { is_coinbase: false, prevout: null }],
    vout: [{ address: "b", value: 3000 }, { address: "a", value: 1900 }],
  };
  assert.equal(netForAddress(spend, "a"), -3100);
  assert.equal(netForAddress(spend, "b"), 3000);
  assert.equal(netForAddress(spend, "c"), 0);
  const cb = { vin: [{ is_coinbase: true, prevout: null }], vout: [{ address: "a", value: 5_000_000_000 }] };
  assert.equal(netForAddress(cb, "a"), 5_000_000_000);
  assert.ok(isCoinbase(cb));
  assert.ok(!isCoinbase(spend));
  // Exact up to the most coins there can be.
  const all = { vin: [], vout: [{ address: "a", value: 2_000_000_000_000_000 }, { address: "a", value: 99_999_999_999_999 }] };
  assert.equal(netForAddress(all, "a"), 2_099_999_999_999_999);
});

test("confirmations: 0 pending, tip − height + 1 once in a block, at least 1", () => {
  assert.equal(confirmations({ confirmed: false }, 100), 0);
  assert.equal(confirmations(undefined, 100), 0);
  assert.equal(confirmations({ confirmed: true, block_height: 100 }, 100), 1);
  assert.equal(confirmations({ confirmed: true, block_height: 91 }, 100), 10);
  assert.equal(confirmations({ confirmed: true, block_height: 70 }, 79), 10);
  // The tip the page knows has not caught up with the block yet, or is not known: in a block is one confirmation.
  assert.equal(confirmations({ confirmed: true, block_height: 101 }, 100), 1);
  assert.equal(confirmations({ confirmed: true, block_height: 70 }, null), 1);
});

test("no other module reads an address's net, balances or confirmations its own way", () => {
  const root = new URL("../../../Sources/WalletFront/Public/js/", import.meta.url).pathname;
  const files = (dir) => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith(".js") ? [join(dir, n)] : []));
  const offenders = files(root).map((p) => ({ path: relative(root, p), text: readFileSync(p, "utf8") }))
    .filter(({ path }) => path !== "lib/esplora.js")
    .filter(({ text }) => /\b(function|const|let)\s+(txNet|netForAddress|confirmations|confirmationsOf|balancesFrom|isCoinbase|isCoinbaseEsplora)\b/.test(text)
      || /funded_txo_sum\)?\s*-/.test(text) || /tipHeight\s*-\s*\w+\.block_height|tip\s*-\s*\w+\.height\s*\+\s*1/.test(text))
    .map(({ path }) => path);
  assert.deepEqual(offenders, []);
});
