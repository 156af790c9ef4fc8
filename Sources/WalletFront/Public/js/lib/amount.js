// Amounts: the base units of one coin, the most coins that can ever exist, and every text form of an
// amount, for both pages and the library's messages (pure: no DOM), so the wallet and the explorer
// show the same amount the same way. Tested by Tests/WalletFrontTests/js/amount.test.mjs.
//
// An amount is an integer number of base units: a JavaScript number (exact: every valid amount is
// ≤ MAX_MONEY = 2.1e15 < 2^53) or a BigInt (sums the explorer adds up). For a person, grouped by thousands:
//   formatAmount(123450000000) → "1,234.50000000"   exact, 8 decimals (columns, tables, fees)
//   formatCoins(123450000000)  → "1,234.5"          trailing zeros dropped (balances, headlines, sentences)
//   formatCRN(123450000000)    → "1,234.5 CRN"
//   formatSigned(123450000000) → "+1,234.5"         formatCoins with an explicit + for incoming (a net change)
// For a machine that reads it back, never grouped:
//   plainAmount(123450000000)                  → "1234.5"          input fields, payment URIs
//   plainAmount(123450000000, { fixed: true }) → "1234.50000000"   CSV (a column of equal decimals)
//   parseAmount("1234.5")                      → 123450000000      as Swift's Units.parse

export const UNITS_PER_COIN = 100_000_000;
export const MAX_MONEY = 21_000_000 * UNITS_PER_COIN;

const UNITS = BigInt(UNITS_PER_COIN);

/** Base units (Number or BigInt) as a BigInt; null for a Number that is not a safe integer (shown as it is). */
function units(v) {
  if (typeof v === "bigint") return v;
  const n = v ?? 0;
  return Number.isSafeInteger(n) ? BigInt(n) : null;
}

/** Sign, whole coins (grouped by thousands or not) and the 8 decimals of an amount. */
function parts(v, group) {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const whole = (a / UNITS).toString();
  return {
    sign: neg ? "-" : "",
    whole: group ? whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") : whole,
    frac: (a % UNITS).toString().padStart(8, "0"),
  };
}

/** "1234.5" from the parts; every decimal kept when `fixed`. */
function join({ sign, whole, frac }, fixed) {
  const f = fixed ? frac : frac.replace(/0+$/, "");
  return `${sign}${whole}${f ? `.${f}` : ""}`;
}

/** Base units → "1,234.50000000": 8 decimals, grouped, exact for any safe integer or BigInt. */
export function formatAmount(value) {
  const v = units(value);
  return v === null ? String(value) : join(parts(v, true), true);
}

/** A net change as formatCoins with an explicit + for incoming: "+1.25", "-0.5", "0". */
export function formatSigned(value) {
  const v = units(value);
  return (v !== null && v > 0n ? "+" : "") + formatCoins(value);
}

/** Base units as CRN without trailing zeros, grouped: 150000000 → "1.5", 2100000000000000 → "21,000,000". */
export function formatCoins(value) {
  const v = units(value);
  return v === null ? String(value) : join(parts(v, true), false);
}

/** Coins for a headline or a sentence: "2,350 CRN", "0.5 CRN". */
export function formatCRN(value) {
  return `${formatCoins(value)} CRN`;
}

/**
 * Base units → "1234.5": no grouping, trailing zeros dropped (8 decimals kept with `fixed`), what an
 * input field, a payment URI or a spreadsheet reads back; parseAmount reads it.
 */
export function plainAmount(value, { fixed = false } = {}) {
  const v = units(value);
  return v === null ? String(value) : join(parts(v, false), fixed);
}

/** "12.5" → 1250000000; null for anything that is not a plain decimal with ≤ 8 places (as Swift's Units.parse). */
export function parseAmount(text) {
  const s = String(text).trim();
  const m = /^([0-9]+)(?:\.([0-9]{1,8}))?$/.exec(s);
  if (!m) return null;
  const whole = Number(m[1]);
  const frac = m[2] ? Number(m[2].padEnd(8, "0")) : 0;
  const v = whole * UNITS_PER_COIN + frac;
  if (!Number.isSafeInteger(v) || m[1].length > 16) return null;
  return v;
}
