// Coin selection, fees, maturity and signing (the algorithm of Sources/CairnCLI/TxBuilder.swift).
import { test } from "node:test";
import assert from "node:assert/strict";
import { plan, partitionCoins, blocksToMaturity, signPlan, SendError, POLICY, feeFor } from "../../../Sources/WalletFront/Public/js/lib/coinselect.js";
import { signedTxSize, decodeTx, fromHex, sighash, toHex } from "../../../Sources/WalletFront/Public/js/lib/encoding.js";
import { publicKeyFromSeed, verify } from "../../../Sources/WalletFront/Public/js/lib/keys.js";

const me = new Uint8Array(32).fill(1);
const them = new Uint8Array(32).fill(2);
const coin = (n, value, extra = {}) => ({ txid: n.toString(16).padStart(64, "0"), vout: 0, value, confirmed: true, height: 1, ...extra });
const COIN = 100_000_000;

test("one large coin: amount + change, fee at the chosen rate on the exact size", () => {
  const p = plan({ coins: [coin(1, 50 * COIN)], recipient: them, amount: 10 * COIN, change: me, feeRate: 2 });
  const size = signedTxSize(1, 2);
  assert.equal(p.size, size);
  assert.equal(p.fee, 2 * size);
  assert.equal(p.outputs.length, 2);
  assert.equal(p.outputs[0].value, 10 * COIN);
  assert.deepEqual(p.outputs[0].publicKey, them);
  assert.equal(p.outputs[1].value, 50 * COIN - 10 * COIN - p.fee);
  assert.deepEqual(p.outputs[1].publicKey, me);
  assert.equal(p.change, p.outputs[1].value);
});

test("largest coins first, as many as needed", () => {
  const coins = [coin(1, 1 * COIN), coin(2, 5 * COIN), coin(3, 3 * COIN), coin(4, 2 * COIN)];
  const p = plan({ coins, recipient: them, amount: 7 * COIN, change: me, feeRate: 1 });
  assert.deepEqual(p.inputs.map((c) => c.value), [5 * COIN, 3 * COIN]);
  assert.equal(p.fee, signedTxSize(2, 2));
});

test("change below the dust limit goes to the fee (one output)", () => {
  const fee1 = feeFor(signedTxSize(1, 1), 1);
  const amount = 100_000;
  const p = plan({ coins: [coin(1, amount + fee1 + 500)], recipient: them, amount, change: me, feeRate: 1 });
  assert.equal(p.outputs.length, 1);
  assert.equal(p.change, null);
  assert.equal(p.fee, fee1 + 500);
});

test("insufficient funds says how much is needed and available", () => {
  assert.throws(() => plan({ coins: [coin(1, 10_000), coin(2, 20_000)], recipient: them, amount: 29_990, change: me, feeRate: 1 }),
    (e) => e instanceof SendError && e.kind === "insufficient-funds" && e.available === 30_000 && e.needed === 29_990 + signedTxSize(2, 1)
      && /insufficient funds: need 0\.0003/.test(e.message));
  assert.throws(() => plan({ coins: [], recipient: them, amount: 5000, change: me }), (e) => e.kind === "no-coins");
});

test("dust amounts, bad amounts and fee rates below the relay minimum are refused", () => {
  assert.throws(() => plan({ coins: [coin(1, COIN)], recipient: them, amount: POLICY.dustLimit - 1, change: me }),
    (e) => e.kind === "dust" && /dust limit of 0\.00001 CRN/.test(e.message));
  assert.doesNotThrow(() => plan({ coins: [coin(1, COIN)], recipient: them, amount: POLICY.dustLimit, change: me }));
  for (const amount of [0, -5, 1.5, NaN, 21_000_001 * COIN]) {
    assert.throws(() => plan({ coins: [coin(1, COIN)], recipient: them, amount, change: me }), (e) => e.kind === "bad-amount", String(amount));
  }
  for (const feeRate of [0, 0.5, NaN, -1]) {
    assert.throws(() => plan({ coins: [coin(1, COIN)], recipient: them, amount: 5000, change: me, feeRate }), (e) => e.kind === "bad-fee-rate");
  }
});

test("immature coinbase outputs are not spendable; maturity counts from the next block", () => {
  const coins = [
    coin(1, 50 * COIN, { coinbase: true, height: 10 }),
    coin(2, 50 * COIN, { coinbase: true, height: 11 }),
    coin(3, 1 * COIN, { coinbase: false, height: 20 }),
    coin(4, 2 * COIN, { coinbase: false, confirmed: false, height: undefined }),
  ];
  // tip 19: the next block is 20; 20 − 10 = 10 ≥ 10 (regtest) → mature; 20 − 11 = 9 → not yet.
  const { spendable, immature } = partitionCoins(coins, { tipHeight: 19, maturity: 10 });
  assert.deepEqual(spendable.map((c) => c.txid.slice(-1)), ["1", "3", "4"]);
  assert.deepEqual(immature.map((c) => c.txid.slice(-1)), ["2"]);
  assert.equal(blocksToMaturity(coins[1], { tipHeight: 19, maturity: 10 }), 1);
  assert.equal(blocksToMaturity(coins[0], { tipHeight: 19, maturity: 10 }), 0);
  // with the tip unknown nothing from a coinbase is taken
  assert.equal(partitionCoins(coins, { tipHeight: undefined, maturity: 10 }).immature.length, 2);
});

test("confirmed coins are preferred among equal values", () => {
  const coins = [coin(1, COIN, { confirmed: false, height: undefined }), coin(2, COIN, { height: 5 })];
  const p = plan({ coins, recipient: them, amount: 1000, change: me, feeRate: 1 });
  assert.equal(p.inputs[0].txid, coins[1].txid);
});

test("signPlan signs every input over the sighash, and the result decodes", async () => {
  const seed = new Uint8Array(32).fill(7);
  const pub = await publicKeyFromSeed(seed);
  const coins = [coin(1, 3 * COIN), coin(2, 2 * COIN)];
  const p = plan({ coins, recipient: them, amount: 4 * COIN, change: pub, feeRate: 3 });
  const s = await signPlan(p, { key: seed, ownerPublicKey: pub, network: "regtest" });
  const tx = decodeTx(fromHex(s.hex));
  assert.equal(tx.inputs.length, 2);
  assert.equal(s.size, p.size);
  assert.equal(s.hex.length, 2 * p.size);
  const msg = await sighash(tx, p.inputs.map((c) => ({ value: c.value, publicKey: pub })), "regtest");
  for (const input of tx.inputs) assert.ok(await verify(pub, input.payload, msg));
  // not valid for another network
  const other = await sighash(tx, p.inputs.map((c) => ({ value: c.value, publicKey: pub })), "main");
  assert.equal(await verify(pub, tx.inputs[0].payload, other), false);
  assert.match(s.txid, /^[0-9a-f]{64}$/);
  assert.notEqual(toHex(msg), "");
});
