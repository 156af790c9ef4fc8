// The one formatter of both pages (js/ui/format.js): the wallet and the explorer show an amount the same way.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as F from "../../../Sources/WalletFront/Public/js/ui/format.js";
import * as explorer from "../../../Sources/WalletFront/Public/js/explorer/logic.js";
import * as wallet from "../../../Sources/WalletFront/Public/js/wallet/model.js";

test("formatAmount: exact, 8 decimals, grouped; Number and BigInt alike", () => {
  assert.equal(F.formatAmount(123_450_000_000), "1,234.50000000");
  assert.equal(F.formatAmount(123_450_000_000n), "1,234.50000000");
  assert.equal(F.formatAmount(0), "0.00000000");
  assert.equal(F.formatAmount(null), "0.00000000");
  assert.equal(F.formatAmount(-1), "-0.00000001");
  assert.equal(F.formatAmount(2_100_000_000_000_000), "21,000,000.00000000");
  assert.equal(F.formatAmount(2n ** 70n), "11,805,916,207,174.11303424");
  // A Number that is not a safe integer is not an amount: shown as it is, not rounded into one.
  assert.equal(F.formatAmount(1.5), "1.5");
  assert.equal(F.formatAmount(2 ** 60), String(2 ** 60));
});

test("formatCoins and formatCRN: trailing zeros dropped, grouped; formatSigned: explicit +", () => {
  assert.equal(F.formatCoins(123_450_000_000), "1,234.5");
  assert.equal(F.formatCoins(123_450_000_000n), "1,234.5");
  assert.equal(F.formatCoins(100_000_000_000), "1,000");
  assert.equal(F.formatCoins(-1), "-0.00000001");
  assert.equal(F.formatCoins(0), "0");
  assert.equal(F.formatCoins(Number.NaN), "NaN");
  assert.equal(F.formatCRN(50_000_000), "0.5 CRN");
  assert.equal(F.formatSigned(1), "+0.00000001");
  assert.equal(F.formatSigned(0), "0.00000000");
  assert.equal(F.formatSigned(-100_000_000n), "-1.00000000");
});

test("the wallet and the explorer use the same functions", () => {
  assert.equal(wallet.formatCoins, F.formatCoins);
  assert.equal(explorer.formatCoins, F.formatCRN);
  for (const name of ["formatAmount", "formatSigned", "formatDuration", "formatAgo", "formatRelative", "shortHash"]) {
    assert.equal(explorer[name], F[name], name);
  }
  // One amount, both pages: the wallet's balance text is the explorer's headline without the unit.
  for (const v of [0, 1, 150_000_000, 123_456_789_012, 2_100_000_000_000_000]) {
    assert.equal(`${wallet.formatCoins(v)} CRN`, explorer.formatCoins(v));
    assert.equal(F.formatAmount(v).replace(/\.?0+$/, ""), F.formatCoins(v));
  }
});

test("shortHash: head and tail (symmetric by default), whole when not shorter", () => {
  const h = "0123456789abcdef0123456789abcdef";
  assert.equal(F.shortHash(h), "01234567…89abcdef");
  assert.equal(F.shortHash(h, 12, 6), "0123456789ab…abcdef");
  assert.equal(F.shortHash("0123456789abcdefg", 8), "0123456789abcdefg"); // 17 = 8 + 8 + 1: no shorter
  assert.equal(F.shortHash("abcdefghij", 4, 4), "abcd…ghij");
  assert.equal(F.shortHash("abcdefghi", 4, 4), "abcdefghi");
  assert.equal(F.shortHash(undefined), "");
});

test("durations: formatDuration, formatAgo, formatRelative", () => {
  assert.equal(F.formatDuration(0), "0 s");
  assert.equal(F.formatDuration(599), "9 min 59 s");
  assert.equal(F.formatDuration(600), "10 min");
  assert.equal(F.formatAgo(1000, 1_001_000), "just now");
  assert.equal(F.formatAgo(1000, 1_065_000), "1 min 5 s ago");
  assert.equal(F.formatRelative(125_000), "+2 min 5 s");
});
