// Amounts (js/lib/amount.js): the one units-per-coin constant and every text form of an amount, so the
// wallet and the explorer show an amount the same way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as A from "../../../Sources/WalletFront/Public/js/lib/amount.js";

const PUBLIC_JS = new URL("../../../Sources/WalletFront/Public/js/", import.meta.url).pathname;

test("formatAmount: exact, 8 decimals, grouped; Number and BigInt alike", () => {
  assert.equal(A.formatAmount(123_450_000_000), "1,234.50000000");
  assert.equal(A.formatAmount(123_450_000_000n), "1,234.50000000");
  assert.equal(A.formatAmount(0), "0.00000000");
  assert.equal(A.formatAmount(null), "0.00000000");
  assert.equal(A.formatAmount(-1), "-0.00000001");
  assert.equal(A.formatAmount(2_100_000_000_000_000), "21,000,000.00000000");
  assert.equal(A.formatAmount(2n ** 70n), "11,805,916,207,174.11303424");
  // A Number that is not a safe integer is not an amount: shown as it is, not rounded into one.
  assert.equal(A.formatAmount(1.5), "1.5");
  assert.equal(A.formatAmount(2 ** 60), String(2 ** 60));
});

test("formatCoins, formatCRN and formatSigned: trailing zeros dropped, grouped; formatSigned: explicit + for incoming", () => {
  assert.equal(A.formatCoins(123_450_000_000), "1,234.5");
  assert.equal(A.formatCoins(123_450_000_000n), "1,234.5");
  assert.equal(A.formatCoins(100_000_000_000), "1,000");
  assert.equal(A.formatCoins(150_000_000), "1.5");
  assert.equal(A.formatCoins(1), "0.00000001");
  assert.equal(A.formatCoins(-250_000_000), "-2.5");
  assert.equal(A.formatCoins(-1), "-0.00000001");
  assert.equal(A.formatCoins(0), "0");
  assert.equal(A.formatCoins(Number.NaN), "NaN");
  assert.equal(A.formatCRN(50_000_000), "0.5 CRN");
  assert.equal(A.formatCRN(A.MAX_MONEY), "21,000,000 CRN");
  assert.equal(A.formatSigned(1), "+0.00000001");
  assert.equal(A.formatSigned(125_000_000), "+1.25");
  assert.equal(A.formatSigned(123_450_000_000n), "+1,234.5");
  assert.equal(A.formatSigned(0), "0");
  assert.equal(A.formatSigned(-100_000_000n), "-1");
  // The two styles are one amount: the short one is the exact one without its trailing zeros.
  for (const v of [0, 1, 150_000_000, 123_456_789_012, 2_100_000_000_000_000]) {
    assert.equal(A.formatAmount(v).replace(/\.?0+$/, ""), A.formatCoins(v));
  }
});

test("plainAmount: never grouped, what an input field, a payment URI or a CSV reads back", () => {
  assert.equal(A.plainAmount(123_450_000_000), "1234.5");
  assert.equal(A.plainAmount(123_450_000_000n), "1234.5");
  assert.equal(A.plainAmount(2_100_000_000_000_000), "21000000");
  assert.equal(A.plainAmount(0), "0");
  assert.equal(A.plainAmount(1), "0.00000001");
  assert.equal(A.plainAmount(-150_000_000), "-1.5");
  assert.equal(A.plainAmount(123_450_000_000, { fixed: true }), "1234.50000000");
  assert.equal(A.plainAmount(-150_002_000, { fixed: true }), "-1.50002000");
  assert.equal(A.plainAmount(0, { fixed: true }), "0.00000000");
  // What it writes, parseAmount reads back to the same units.
  for (const v of [1, 99, 100_000_000, 123_456_789_012, A.MAX_MONEY]) {
    assert.equal(A.parseAmount(A.plainAmount(v)), v);
    assert.equal(A.parseAmount(A.plainAmount(v, { fixed: true })), v);
  }
});

test("parseAmount: like Swift's Units", () => {
  assert.equal(A.parseAmount("12.5"), 1_250_000_000);
  assert.equal(A.parseAmount("0.00000001"), 1);
  assert.equal(A.parseAmount("21000000"), A.MAX_MONEY);
  assert.equal(A.MAX_MONEY, 21_000_000 * A.UNITS_PER_COIN);
  for (const bad of ["", ".5", "1.", "1.123456789", "-1", "1e3", "abc", "1,5"]) assert.equal(A.parseAmount(bad), null, bad);
});

/** Every .js file under Public/js, with its path relative to it. */
function sources(dir = PUBLIC_JS) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith(".js") ? [{ path: relative(PUBLIC_JS, p), text: readFileSync(p, "utf8") }] : [];
  });
}

test("lib/amount.js is the only module that knows the units per coin or writes an amount as text", () => {
  const offenders = [];
  for (const { path, text } of sources()) {
    if (path === "lib/amount.js") continue;
    // 100000000 written any way (1e8, 100_000_000, 100000000n), or a formatter of amounts defined again or renamed.
    if (/\b(1e8|100_?000_?000n?)\b/.test(text)) offenders.push(`${path}: units per coin`);
    if (/\b(function|const|let)\s+(formatAmount|formatCoins|formatCRN|formatSigned|plainAmount|parseAmount)\b/.test(text)) offenders.push(`${path}: defines an amount formatter`);
    if (/export\s*\{[^}]*\b(formatAmount|formatCoins|formatCRN|formatSigned|plainAmount|UNITS_PER_COIN)\b[^}]*\}/.test(text)) offenders.push(`${path}: re-exports an amount formatter`);
  }
  assert.deepEqual(offenders, []);
});
