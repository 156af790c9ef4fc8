// The one formatter of hashes, durations and times for the pages (pure: no DOM); amounts are
// lib/amount.js's (the same amount shown the same way by the wallet and the explorer).
// Tested by Tests/WalletFrontTests/js/format.test.mjs.

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
