// The one formatter of amounts, hashes and durations for both pages (pure: no DOM), so the wallet
// and the explorer show the same amount the same way. Tested by Tests/WalletFrontTests/js/format.test.mjs.
//
// Two styles of one amount, both grouped by thousands:
//   formatAmount(123450000000) → "1,234.50000000"   exact, 8 decimals (columns, tables, fees)
//   formatCoins(123450000000)  → "1,234.5"          trailing zeros dropped (balances, headlines)
//   formatCRN(123450000000)    → "1,234.5 CRN"
// (lib/encoding.js's formatAmount is a different thing: the CLI's ungrouped text, used in library messages.)

const UNITS = 100_000_000n;

/** Base units (Number or BigInt) as a BigInt; null for a Number that is not a safe integer (shown as it is). */
function units(v) {
  if (typeof v === "bigint") return v;
  const n = v ?? 0;
  return Number.isSafeInteger(n) ? BigInt(n) : null;
}

function parts(v) {
  const neg = v < 0n;
  const a = neg ? -v : v;
  return {
    sign: neg ? "-" : "",
    whole: (a / UNITS).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ","),
    frac: (a % UNITS).toString().padStart(8, "0"),
  };
}

/** Base units → "12.34500000": 8 decimals, grouped, exact for any safe integer or BigInt. */
export function formatAmount(value) {
  const v = units(value);
  if (v === null) return String(value);
  const { sign, whole, frac } = parts(v);
  return `${sign}${whole}.${frac}`;
}

/** Signed amount with an explicit + for incoming: "+1.25000000". */
export function formatSigned(value) {
  const v = units(value);
  return (v !== null && v > 0n ? "+" : "") + formatAmount(value);
}

/** Base units as CRN without trailing zeros, grouped: 150000000 → "1.5", 2100000000000000 → "21,000,000". */
export function formatCoins(value) {
  const v = units(value);
  if (v === null) return String(value);
  const { sign, whole, frac } = parts(v);
  const f = frac.replace(/0+$/, "");
  return `${sign}${whole}${f ? `.${f}` : ""}`;
}

/** Coins for a headline: "2,350 CRN", "0.5 CRN". */
export function formatCRN(value) {
  return `${formatCoins(value)} CRN`;
}

/** "0a1b2c3d…9f8e7d6c": `head` characters, an ellipsis, `tail` characters (the whole text when that is not shorter). */
export function shortHash(h, head = 8, tail = head) {
  const s = String(h ?? "");
  return s.length > head + tail + 1 ? `${s.slice(0, head)}…${s.slice(-tail)}` : s;
}

/** "3 s", "4 min", "2 h 5 min", "3 d 4 h" (seconds, non-negative). */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 && m < 10 ? ` ${s % 60} s` : ""}`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h${m % 60 ? ` ${m % 60} min` : ""}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ""}`;
}

/** "5 s ago" from unix seconds; "in the future" tolerated (clock skew shows as "just now"). */
export function formatAgo(unixSeconds, nowMs = Date.now()) {
  const d = nowMs / 1000 - Number(unixSeconds);
  if (d < 2) return "just now";
  return `${formatDuration(d)} ago`;
}

/** Milliseconds relative to the first step: "+0 ms", "+12.3 ms", "+1.24 s", "+2 min 3 s". */
export function formatRelative(ms) {
  const v = Math.max(0, ms);
  if (v < 10) return `+${v.toFixed(1)} ms`;
  if (v < 1000) return `+${Math.round(v)} ms`;
  if (v < 60_000) return `+${(v / 1000).toFixed(2)} s`;
  return `+${formatDuration(v / 1000)}`;
}
