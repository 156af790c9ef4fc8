// Fee bump and cancel (lib/replace.js): the replacement meets the node's rules (Sources/Mempool/Pool.swift).
import { test } from "node:test";
import assert from "node:assert/strict";
import { replacementPlan, minReplacementFee, canReplace, INCREMENTAL_FEE_RATE } from "../../../Sources/WalletFront/Public/js/lib/replace.js";
import { signPlan, SendError, POLICY } from "../../../Sources/WalletFront/Public/js/lib/coinselect.js";
import { signedTxSize, decodeTx, fromHex, toHex } from "../../../Sources/WalletFront/Public/js/lib/encoding.js";
import { publicKeyFromSeed } from "../../../Sources/WalletFront/Public/js/lib/keys.js";

const COIN = 100_000_000;
const meHex = "01".repeat(32);
const themHex = "02".repeat(32);

/** A pending Esplora transaction of `me` paying `amount` to `them`, change back, at `rate`. */
function pending({ values = [10 * COIN], amount = 2 * COIN, rate = 2, change = true, confirmed = false } = {}) {
  const size = signedTxSize(values.length, change ? 2 : 1);
  const fee = Math.ceil(size * rate);
  const total = values.reduce((s, v) => s + v, 0);
  const vout = [{ value: amount, pubkey: themHex, address: "them" }];
  if (change) vout.push({ value: total - amount - fee, pubkey: meHex, address: "me" });
  return {
    txid: "ab".repeat(32), size, fee, status: { confirmed },
    vin: values.map((v, i) => ({ txid: (i + 1).toString(16).padStart(64, "0"), vout: i, is_coinbase: false, prevout: { value: v, pubkey: meHex, address: "me" } })),
    vout,
  };
}

/** The node's acceptance of a replacement: rate above the old one, fee ≥ old fee + incremental × size. */
function nodeAccepts(p, tx) {
  return p.fee / p.size > tx.fee / tx.size && p.fee >= tx.fee + Math.ceil(INCREMENTAL_FEE_RATE * p.size);
}

test("a bump keeps the payment and the coins, takes the higher fee from the change", () => {
  const tx = pending();
  const p = replacementPlan({ tx, ownPublicKey: meHex, kind: "bump", feeRate: 5 });
  assert.deepEqual(p.inputs.map((c) => [c.txid, c.vout]), tx.vin.map((i) => [i.txid, i.vout]));
  assert.equal(p.outputs[0].value, 2 * COIN);
  assert.equal(toHex(p.outputs[0].publicKey), themHex);
  assert.equal(toHex(p.outputs[1].publicKey), meHex);
  assert.equal(p.size, tx.size);
  assert.equal(p.fee, 5 * p.size);
  assert.equal(p.outputs[1].value, 10 * COIN - 2 * COIN - p.fee);
  assert.equal(p.amount, 2 * COIN);
  assert.equal(p.replaces, tx.txid);
  assert.equal(p.oldFee, tx.fee);
  assert.ok(nodeAccepts(p, tx));
});

test("a rate asked at or below the original's is raised to the node's minimum for a replacement", () => {
  const tx = pending({ rate: 3 });
  for (const feeRate of [1, 2, 3]) {
    const p = replacementPlan({ tx, ownPublicKey: meHex, kind: "bump", feeRate });
    assert.equal(p.fee, minReplacementFee({ oldFee: tx.fee, oldSize: tx.size, size: p.size }));
    assert.equal(p.fee, tx.fee + p.size);
    assert.ok(nodeAccepts(p, tx));
  }
});

test("minReplacementFee is strictly above the old rate when the replacement is smaller", () => {
  // a cancel drops an output: fewer bytes, so old fee + size alone could be at or below the old rate
  const fee = minReplacementFee({ oldFee: 10_000, oldSize: 100, size: 50 });
  assert.ok(fee / 50 > 10_000 / 100);
  assert.ok(fee >= 10_000 + 50);
});

test("a cancel pays everything back to this account, minus the higher fee", () => {
  const tx = pending({ values: [3 * COIN, 1 * COIN] });
  const p = replacementPlan({ tx, ownPublicKey: fromHex(meHex), kind: "cancel", feeRate: 2 });
  assert.equal(p.outputs.length, 1);
  assert.equal(toHex(p.outputs[0].publicKey), meHex);
  assert.equal(p.size, signedTxSize(2, 1));
  assert.equal(p.outputs[0].value, 4 * COIN - p.fee);
  assert.equal(p.amount, p.outputs[0].value);
  assert.ok(nodeAccepts(p, tx));
});

test("dust change goes to the fee; too little change to bump says to cancel instead", () => {
  // change that will fall under the dust limit once the fee rises
  const size = signedTxSize(1, 2);
  const tx = pending({ values: [2 * COIN + 2 * size + 1_100], amount: 2 * COIN });
  const p = replacementPlan({ tx, ownPublicKey: meHex, kind: "bump", feeRate: 2 });
  assert.equal(p.outputs.length, 1);
  assert.equal(p.change, null);
  assert.equal(p.fee, tx.vin[0].prevout.value - 2 * COIN);
  assert.ok(nodeAccepts(p, tx));
  // no change at all, nothing to take the fee from
  const bare = pending({ values: [2 * COIN + signedTxSize(1, 1) * 2], change: false });
  assert.throws(() => replacementPlan({ tx: bare, ownPublicKey: meHex, kind: "bump", feeRate: 2 }),
    (e) => e instanceof SendError && e.kind === "insufficient-funds" && /cancel/.test(e.message));
  // but it can be cancelled
  assert.ok(nodeAccepts(replacementPlan({ tx: bare, ownPublicKey: meHex, kind: "cancel", feeRate: 2 }), bare));
});

test("only the sender's pending transactions can be replaced", () => {
  assert.ok(canReplace(pending(), meHex));
  assert.ok(!canReplace(pending(), themHex));
  assert.throws(() => replacementPlan({ tx: pending(), ownPublicKey: themHex, kind: "bump" }), (e) => e.kind === "not-ours");
  assert.throws(() => replacementPlan({ tx: pending({ confirmed: true }), ownPublicKey: meHex, kind: "bump" }), (e) => e.kind === "confirmed");
  assert.throws(() => replacementPlan({ tx: pending(), ownPublicKey: meHex, kind: "bump", feeRate: 0.5 }), (e) => e.kind === "bad-fee-rate");
});

test("the plan signs into a transaction spending exactly the original's coins", async () => {
  const seed = new Uint8Array(32).fill(7);
  const pub = await publicKeyFromSeed(seed);
  const tx = pending();
  for (const i of tx.vin) i.prevout.pubkey = toHex(pub);
  tx.vout[1].pubkey = toHex(pub);
  const p = replacementPlan({ tx, ownPublicKey: pub, kind: "bump", feeRate: 4 });
  const signed = await signPlan(p, { key: seed, ownerPublicKey: pub, network: "regtest" });
  const decoded = decodeTx(fromHex(signed.hex));
  assert.deepEqual(decoded.inputs.map((i) => [i.txid, i.vout]), tx.vin.map((i) => [i.txid, i.vout]));
  assert.equal(signed.size, p.size);
  assert.equal(decoded.outputs.reduce((s, o) => s + o.value, 0) + p.fee, 10 * COIN);
});
