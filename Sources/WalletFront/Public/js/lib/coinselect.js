// Coin selection, fees and signing against this node's relay policy
// (Sources/Mempool/Policy.swift: min relay fee 1 unit/byte, dust 1,000 units,
// 100 kB transactions). The same algorithm as `cairn wallet send`
// (Sources/Wallet/TxBuilder.swift): largest coins first until they cover
// amount + fee; change back to the sender unless it would be dust, in which case
// it is left to the fee.

import { signedTxSize, encodeTx, sighash, txid as computeTxid, toHex } from "./encoding.js";
import { MAX_MONEY, formatCRN } from "./amount.js";
import { sign } from "./keys.js";

export const POLICY = {
  minFeeRate: 1.0,
  dustLimit: 1_000,
  maxTxSize: 100_000,
  maxInputs: 900,
  defaultFeeRate: 2,
};

/** kind: "dust" | "insufficient-funds" | "no-coins" | "too-many-inputs" | "bad-amount" | "bad-fee-rate". */
export class SendError extends Error {
  constructor(kind, message, extra = {}) {
    super(message);
    this.name = "SendError";
    this.kind = kind;
    Object.assign(this, extra);
  }
}

export function feeFor(size, rate) {
  // As TxBuilder.fee in Swift: (size × rate) rounded up.
  return Math.ceil(size * rate);
}

/**
 * Splits the UTXO list into what can be spent now and what cannot.
 * coin = { txid, vout, value, confirmed, height?, coinbase? }. A coinbase output may
 * be spent by a transaction in block H only when H − height ≥ maturity; the next
 * block is tipHeight + 1. An unconfirmed coinbase never exists (coinbases are only in blocks).
 */
export function partitionCoins(coins, { tipHeight, maturity }) {
  const spendable = [];
  const immature = [];
  for (const c of coins) {
    if (c.coinbase) {
      const ok = c.confirmed && Number.isInteger(c.height) && Number.isInteger(tipHeight) && tipHeight + 1 - c.height >= maturity;
      (ok ? spendable : immature).push(c);
    } else {
      spendable.push(c);
    }
  }
  return { spendable, immature };
}

/** How many more blocks until a coinbase coin matures (0 if it already has). */
export function blocksToMaturity(coin, { tipHeight, maturity }) {
  if (!coin.coinbase || !coin.confirmed) return 0;
  return Math.max(0, maturity - (tipHeight + 1 - coin.height));
}

/**
 * plan(coins, recipient, amount, change, feeRate) →
 *   { inputs: [coin], outputs: [{ value, publicKey }], fee, change: value|null, size }
 */
export function plan({ coins, recipient, amount, change, feeRate = POLICY.defaultFeeRate, policy = POLICY }) {
  if (!Number.isSafeInteger(amount) || amount <= 0 || amount > MAX_MONEY) {
    throw new SendError("bad-amount", "the amount must be a positive number of CRN, at most 21,000,000");
  }
  if (!(typeof feeRate === "number" && Number.isFinite(feeRate)) || feeRate < policy.minFeeRate || feeRate > 1_000_000) {
    throw new SendError("bad-fee-rate", `the fee rate must be at least ${policy.minFeeRate} unit/byte (this node's minimum relay fee)`);
  }
  if (amount < policy.dustLimit) {
    throw new SendError("dust", `dust: ${formatCRN(amount)} is below the dust limit of ${formatCRN(policy.dustLimit)}; nodes refuse such outputs`,
      { amount, limit: policy.dustLimit });
  }
  if (!coins.length) throw new SendError("no-coins", "insufficient funds: this wallet has no spendable coins", { available: 0, needed: amount });
  const sorted = [...coins].sort((a, b) => {
    if (a.value !== b.value) return b.value - a.value;
    if (!!a.confirmed !== !!b.confirmed) return a.confirmed ? -1 : 1;
    return (a.height ?? Infinity) - (b.height ?? Infinity);
  });
  const chosen = [];
  let total = 0;
  let lastNeeded = amount;
  for (const coin of sorted) {
    chosen.push(coin);
    total += coin.value;
    if (chosen.length > policy.maxInputs) {
      throw new SendError("too-many-inputs", `the payment would need ${chosen.length} inputs, more than fits in one transaction: send a smaller amount`);
    }
    const sizeWithChange = signedTxSize(chosen.length, 2);
    const feeWithChange = feeFor(sizeWithChange, feeRate);
    if (total >= amount + feeWithChange && total - amount - feeWithChange >= policy.dustLimit) {
      const c = total - amount - feeWithChange;
      return {
        inputs: chosen,
        outputs: [{ value: amount, publicKey: recipient }, { value: c, publicKey: change }],
        fee: feeWithChange, change: c, size: sizeWithChange,
      };
    }
    const sizeAlone = signedTxSize(chosen.length, 1);
    const feeAlone = feeFor(sizeAlone, feeRate);
    if (total >= amount + feeAlone) {
      return { inputs: chosen, outputs: [{ value: amount, publicKey: recipient }], fee: total - amount, change: null, size: sizeAlone };
    }
    lastNeeded = amount + feeAlone;
  }
  throw new SendError("insufficient-funds",
    `insufficient funds: need ${formatCRN(lastNeeded)} (amount + fee), spendable ${formatCRN(total)}`,
    { available: total, needed: lastNeeded });
}

/**
 * Builds the transaction of a plan and signs every input (all spend outputs of
 * `ownerPublicKey`). `key` is a CryptoKey (Ed25519, "sign") or a 32-byte seed.
 * Returns { tx, hex, txid, size, fee }.
 */
export async function signPlan(p, { key, ownerPublicKey, network }) {
  const tx = {
    version: 1,
    inputs: p.inputs.map((c) => ({ txid: c.txid, vout: c.vout, payload: new Uint8Array(0) })),
    outputs: p.outputs.map((o) => ({ value: o.value, publicKey: Uint8Array.from(o.publicKey) })),
  };
  const spent = p.inputs.map((c) => ({ value: c.value, publicKey: ownerPublicKey }));
  const message = await sighash(tx, spent, network);
  const signature = await sign(key, message);
  for (const input of tx.inputs) input.payload = signature;
  const bytes = encodeTx(tx);
  return { tx, hex: toHex(bytes), txid: await computeTxid(tx), size: bytes.length, fee: p.fee };
}
