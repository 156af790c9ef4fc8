// Payment requests (js/lib/payuri.js): the URI a receive panel shows and a send form reads back.
import test from "node:test";
import assert from "node:assert/strict";
import { paymentURI, parsePaymentURI, isPaymentURI } from "../../../Sources/WalletFront/Public/js/lib/payuri.js";

const A = "rcrn1q75cjvca3z35rdfx99seuru39n3ep3ftd9ruz9sv55surm7zgfr8qyxzxyp";

test("an address alone, or with amount and label, in BIP-21's shape", () => {
  assert.equal(paymentURI({ address: A }), `cairn:${A}`);
  assert.equal(paymentURI({ address: A, amount: 150_000_000, label: "Coffee & cake" }), `cairn:${A}?amount=1.5&label=Coffee%20%26%20cake`);
  assert.equal(paymentURI({ address: A, amount: 1 }), `cairn:${A}?amount=0.00000001`);
  assert.equal(paymentURI({ address: A, amount: 2_100_000_000_000_000 }), `cairn:${A}?amount=21000000`);
});

test("what paymentURI writes, parsePaymentURI reads back", () => {
  for (const r of [{ address: A }, { address: A, amount: 123_456_789, label: "Zoë's ☕ / 50%" }, { address: A, label: "a=b&c" }]) {
    const back = parsePaymentURI(paymentURI(r));
    assert.equal(back.address, r.address);
    assert.equal(back.amount, r.amount ?? null);
    assert.equal(back.label, r.label ?? "");
  }
});

test("other wallets' spellings: upper-case scheme, //, + for spaces, unknown optional keys", () => {
  const r = parsePaymentURI(`CAIRN://${A}?Amount=0.5&label=two+words&foo=bar`);
  assert.deepEqual(r, { address: A, amount: 50_000_000, label: "two words", message: "" });
  assert.ok(isPaymentURI(" cairn:x"));
  assert.ok(!isPaymentURI(A));
});

test("bad requests are refused with a reason", () => {
  assert.throws(() => parsePaymentURI(A), /not a cairn: payment request/);
  assert.throws(() => parsePaymentURI("cairn:?amount=1"), /no address/);
  for (const bad of ["-1", "0", "1e3", ".5.", "1.123456789", "abc"]) {
    assert.throws(() => parsePaymentURI(`cairn:${A}?amount=${bad}`), /amount/, bad);
  }
  assert.throws(() => parsePaymentURI(`cairn:${A}?req-something=1`), /req-something/);
  assert.throws(() => parsePaymentURI(`cairn:${A}?label=%E0%A4%A`), /percent-encoding/);
  assert.throws(() => paymentURI({ address: A, amount: 0 }), /positive/);
});
