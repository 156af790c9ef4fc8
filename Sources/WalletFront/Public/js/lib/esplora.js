// The edge's Esplora-shaped answers as both pages read them (pure: no DOM): an address's balances, what a
// transaction did to an address, whether it is a coinbase, and its confirmations. Amounts are Numbers of
// base units (exact: see lib/amount.js). Tested by Tests/WalletFrontTests/js/esplora.test.mjs.

/** Confirmed balance and the net pending change, from GET /api/address/:addr ({chain_stats, mempool_stats}). */
export function balancesFrom(stats) {
  const cs = stats.chain_stats;
  const ms = stats.mempool_stats;
  return {
    confirmed: cs.funded_txo_sum - cs.spent_txo_sum,
    pending: ms.funded_txo_sum - ms.spent_txo_sum,
  };
}

/** What a transaction did to an address: its outputs to the address minus the address's outputs it spends. */
export function netForAddress(tx, address) {
  let net = 0;
  for (const o of tx.vout ?? []) if (o.address === address) net += o.value;
  for (const i of tx.vin ?? []) if (i.prevout && i.prevout.address === address) net -= i.prevout.value;
  return net;
}

/** A block's first transaction: one input, marked is_coinbase. */
export function isCoinbase(tx) {
  return tx.vin.length === 1 && !!tx.vin[0].is_coinbase;
}

/**
 * Confirmations of a transaction or block with Esplora's status ({confirmed, block_height}) and the tip at
 * `tipHeight`: 0 while unconfirmed; once in a block tip − height + 1, and at least 1 (the tip the page knows
 * may not have caught up with the block yet, or not be known at all).
 */
export function confirmations(status, tipHeight) {
  if (!status?.confirmed) return 0;
  if (!Number.isInteger(tipHeight) || !Number.isInteger(status.block_height)) return 1;
  return Math.max(1, tipHeight - status.block_height + 1);
}
