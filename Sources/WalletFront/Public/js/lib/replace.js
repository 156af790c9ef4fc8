// Fee bump and cancel: a replacement of one of this account's pending transactions, spending the
// same coins with a higher fee. The node's replacement rules (Sources/Mempool/Pool.swift,
// replacementPlan; full-RBF, BIP-125 rules 2-6 as Bitcoin Core applies them) that a wallet must meet:
//   - a fee rate above the original's (rule 6),
//   - a fee of at least the original's plus the incremental relay rate × its own size (rules 3 and 4),
//   - no new unconfirmed coin (rule 2): the replacement spends exactly the original's coins.
// A bump keeps the payments and takes the extra fee from the change; a cancel pays everything back to
// this account, minus the higher fee.

import { signedTxSize, fromHex } from "./encoding.js";
import { formatCRN } from "./amount.js";
import { POLICY, SendError, feeFor } from "./coinselect.js";

/** Units per byte a replacement pays on top of what it replaces (the node's Policy.incrementalFeeRate). */
export const INCREMENTAL_FEE_RATE = 1.0;

/**
 * The smallest fee a replacement of `size` bytes may pay for an original that paid `oldFee` for
 * `oldSize` bytes (no descendants in the pool: the node asks for theirs too).
 */
export function minReplacementFee({ oldFee, oldSize, size, incremental = INCREMENTAL_FEE_RATE }) {
  let fee = oldFee + Math.ceil(size * incremental);
  if (fee * oldSize <= oldFee * size) fee = Math.floor((oldFee * size) / oldSize) + 1; // strictly above the old rate
  return fee;
}

/** Whether `tx` (an Esplora transaction) is one this account can replace: pending, every coin its own. */
export function canReplace(tx, ownPublicKeyHex) {
  return !tx?.status?.confirmed && Array.isArray(tx?.vin) && tx.vin.length > 0
    && tx.vin.every((i) => !i.is_coinbase && i.prevout && i.prevout.pubkey === ownPublicKeyHex);
}

/**
 * replacementPlan({ tx, ownPublicKey, kind: "bump" | "cancel", feeRate }) →
 *   the shape of coinselect.plan ({ inputs, outputs, fee, change, size }, signable by signPlan) plus
 *   { kind, replaces, oldFee, oldSize, oldRate, rate, amount, to } (amount: what the recipients get,
 *   for a cancel what comes back). `tx` is the Esplora transaction of the history; `feeRate` the rate
 *   asked for: the fee is the larger of that rate × size and the node's minimum for a replacement.
 */
export function replacementPlan({ tx, ownPublicKey, kind, feeRate = POLICY.defaultFeeRate, policy = POLICY }) {
  const own = ownPublicKey instanceof Uint8Array ? ownPublicKey : fromHex(ownPublicKey);
  const ownHex = Array.from(own, (b) => b.toString(16).padStart(2, "0")).join("");
  if (tx?.status?.confirmed) throw new SendError("confirmed", "this transaction is already confirmed: there is nothing to replace");
  if (!canReplace(tx, ownHex)) throw new SendError("not-ours", "only the account that sent a transaction can replace it: it spends coins of another address");
  if (kind !== "bump" && kind !== "cancel") throw new SendError("bad-kind", `unknown replacement '${kind}'`);
  if (!(typeof feeRate === "number" && Number.isFinite(feeRate)) || feeRate < policy.minFeeRate) {
    throw new SendError("bad-fee-rate", `the fee rate must be at least ${policy.minFeeRate} unit/byte (this node's minimum relay fee)`);
  }
  const inputs = tx.vin.map((i) => ({ txid: i.txid, vout: i.vout, value: i.prevout.value, confirmed: false }));
  const total = inputs.reduce((s, c) => s + c.value, 0);
  const old = { oldFee: tx.fee, oldSize: tx.size, oldRate: tx.fee / tx.size };
  const feeAt = (size) => Math.max(feeFor(size, feeRate), minReplacementFee({ oldFee: tx.fee, oldSize: tx.size, size }));
  const done = (outputs, fee, change, size, amount, to) =>
    ({ kind, replaces: tx.txid, inputs, outputs, fee, change, size, rate: fee / size, amount, to, ...old });

  const payments = kind === "bump" ? tx.vout.filter((o) => o.pubkey !== ownHex) : [];
  if (payments.length === 0) {
    // A cancel (or a bump of a payment to yourself): one output back to this account.
    const size = signedTxSize(inputs.length, 1);
    const fee = feeAt(size);
    const back = total - fee;
    if (back < policy.dustLimit) {
      throw new SendError("insufficient-funds", `the coins (${formatCRN(total)}) cannot pay the higher fee of ${formatCRN(fee)}`);
    }
    return done([{ value: back, publicKey: own }], fee, back, size, back, null);
  }
  const paid = payments.reduce((s, o) => s + o.value, 0);
  const outputs = payments.map((o) => ({ value: o.value, publicKey: fromHex(o.pubkey) }));
  const to = payments[0].address;
  const size2 = signedTxSize(inputs.length, outputs.length + 1);
  const fee2 = feeAt(size2);
  if (total - paid - fee2 >= policy.dustLimit) {
    const change = total - paid - fee2;
    return done([...outputs, { value: change, publicKey: own }], fee2, change, size2, paid, to);
  }
  // The change left would be dust: it goes to the fee, if that is enough.
  const size1 = signedTxSize(inputs.length, outputs.length);
  const fee1 = total - paid;
  if (fee1 >= feeAt(size1)) return done(outputs, fee1, null, size1, paid, to);
  throw new SendError("insufficient-funds",
    `the change (${formatCRN(Math.max(0, total - paid - tx.fee))}) cannot pay the higher fee of ${formatCRN(feeAt(size1))}: cancel the payment instead`);
}
