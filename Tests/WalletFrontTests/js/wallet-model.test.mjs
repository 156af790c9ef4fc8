// The wallet page's pure logic: messages, fee presets, amounts typed, CSV, the address book (balances, net
// amounts and confirmations are lib/esplora.js's: esplora.test.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { addressMessage, feePresets, needsBackup }
  from "../../../Sources/WalletFront/Public/js/wallet/model.js";
import { decodeAddress, encodeAddress } from "../../../Sources/WalletFront/Public/js/lib/bech32m.js";

const me = encodeAddress(new Uint8Array(32).fill(1), "regtest");
const other = encodeAddress(new Uint8Array(32).fill(2), "regtest");

test("address messages: checksum, network and malformed say different things", () => {
  const msg = (text) => { try { decodeAddress(text, "regtest"); return null; } catch (e) { return addressMessage(e); } };
  const typo = me.slice(0, -1) + (me.endsWith("q") ? "p" : "q");
  const m1 = msg(typo);
  const m2 = msg(encodeAddress(new Uint8Array(32).fill(1), "main"));
  const m3 = msg("not an address");
  assert.match(m1, /checksum/);
  assert.match(m2, /Wrong network: address is for main \(crn1…\), this node runs regtest \(rcrn1…\)/);
  assert.match(m3, /Not a valid address/);
  assert.equal(new Set([m1, m2, m3]).size, 3);
  assert.equal(msg(me), null);
});

test("fee presets: never below the relay minimum; the default is at least 2 units/byte", () => {
  const empty = feePresets({ 1: 1, 3: 1, 6: 1, 25: 1 });
  assert.deepEqual(empty.map((p) => p.rate), [1, 2, 2]);
  assert.equal(empty.find((p) => p.isDefault).name, "Normal");
  const busy = feePresets({ 1: 16, 3: 8.333, 6: 4, 25: 0.5 });
  assert.deepEqual(busy.map((p) => p.rate), [1, 8.34, 16]);
  assert.deepEqual(feePresets(null).map((p) => p.rate), [1, 2, 2]);
});

test("amounts: each wrong amount says what is wrong (they were all 'not a number'); .5 is 0.5", async () => {
  const { amountInput } = await import("../../../Sources/WalletFront/Public/js/wallet/model.js");
  assert.deepEqual(amountInput(".5"), { value: 50_000_000 });
  assert.deepEqual(amountInput("0.5"), { value: 50_000_000 });
  assert.deepEqual(amountInput(" 1.50 "), { value: 150_000_000 });
  assert.deepEqual(amountInput("2."), { value: 200_000_000 });
  assert.deepEqual(amountInput("21000000"), { value: 21_000_000 * 100_000_000 });
  assert.match(amountInput("21000000000").error, /more than the 21,000,000 CRN that can ever exist/);
  assert.match(amountInput("21000000.00000001").error, /more than the 21,000,000 CRN/);
  assert.match(amountInput("-1").error, /must be positive/);
  assert.match(amountInput("1,5").error, /dot for decimals: 1\.5/);
  assert.match(amountInput("0.123456789").error, /At most 8 decimals/);
  assert.match(amountInput("0").error, /more than 0/);
  assert.match(amountInput("").error, /Enter the amount/);
  assert.match(amountInput("abc").error, /not a number/);
});

test("history as CSV: header, newest first, net amounts and fees in exact CRN, pending rows", async () => {
  const { historyCSV } = await import("../../../Sources/WalletFront/Public/js/wallet/model.js");
  const sent = {
    txid: "aa".repeat(32), fee: 2_000,
    vin: [{ prevout: { address: me, value: 500_000_000 } }],
    vout: [{ address: other, value: 150_000_000 }, { address: me, value: 349_998_000 }],
    status: { confirmed: true, block_height: 10, block_time: 1_700_000_000 },
  };
  const pending = {
    txid: "bb".repeat(32), fee: 1_000,
    vin: [{ prevout: { address: other, value: 300_000_000 } }],
    vout: [{ address: me, value: 100_000_000 }, { address: other, value: 199_999_000 }],
    status: { confirmed: false },
  };
  const lines = historyCSV([pending, sent], me, 12).split("\r\n");
  assert.equal(lines[0], "txid,status,confirmations,block_height,block_time_utc,amount_crn,fee_crn,counterparty");
  assert.equal(lines[1], `${"bb".repeat(32)},pending,0,,,1.00000000,,${other}`);
  assert.equal(lines[2], `${"aa".repeat(32)},confirmed,3,10,2023-11-14T22:13:20.000Z,-1.50002000,0.00002000,${other}`);
  assert.equal(lines[3], "");
  assert.equal(lines.length, 4);
});

test("address book: named, checked, one entry per address, sorted", async () => {
  const { addContact, removeContact, contactFor } = await import("../../../Sources/WalletFront/Public/js/wallet/model.js");
  let book = addContact([], " Bob ", other, "regtest");
  assert.deepEqual(book, [{ name: "Bob", address: other }]);
  book = addContact(book, "Alice", me.toUpperCase(), "regtest");
  assert.deepEqual(book.map((c) => c.name), ["Alice", "Bob"]);
  assert.equal(contactFor(book, me).name, "Alice", "stored in lower case, as addresses are shown");
  book = addContact(book, "Bobby", other, "regtest");
  assert.deepEqual(book.map((c) => c.name), ["Alice", "Bobby"], "the same address is renamed, not added twice");
  assert.throws(() => addContact(book, "alice", other, "regtest"), /already names another address/);
  assert.throws(() => addContact(book, "", other, "regtest"), /Give the address a name/);
  const typo = other.slice(0, -1) + (other.endsWith("q") ? "p" : "q");
  assert.throws(() => addContact(book, "Carol", typo, "regtest"), /checksum/);
  assert.throws(() => addContact(book, "Dave", encodeAddress(new Uint8Array(32).fill(3), "main"), "regtest"), /Wrong network/);
  assert.deepEqual(removeContact(book, me).map((c) => c.name), ["Bobby"]);
  assert.equal(contactFor(book, "rcrn1nothing"), null);
});

test("needsBackup: a checked phrase, an imported keystore or an export is a backup; an old account without one is not", () => {
  assert.equal(needsBackup(null), false);
  assert.equal(needsBackup({ address: "a", phrase: { path: "m/44'/7369'/0'/0'/0'", words: 12 } }), false);
  assert.equal(needsBackup({ address: "a", imported: true }), false);
  assert.equal(needsBackup({ address: "a", exportedAt: 1 }), false);
  assert.equal(needsBackup({ address: "a", createdAt: 1 }), true);
});
