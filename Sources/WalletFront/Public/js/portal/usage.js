// A key's usage as the edge answers it ({hours: [{key, method, hour, requests, errors, refused}], days}),
// summed for the charts and tables (pure: tested by Tests/WalletFrontTests/js/portal.test.mjs).

const zero = () => ({ requests: 0, errors: 0, refused: 0 });
const add = (a, r) => { a.requests += r.requests; a.errors += r.errors; a.refused += r.refused; return a; };

/** The `count` hours ending with the one of `now` (Unix seconds, each the start of its hour), oldest first. */
export function lastHours(now, count = 24) {
  const current = Math.floor(now / 3600) * 3600;
  return Array.from({ length: count }, (_, i) => current - (count - 1 - i) * 3600);
}

/** Per hour of `hours` (Unix seconds): {hour, requests, errors, refused}, over every method of the rows (of `key` when given). */
export function perHour(rows, hours, key = null) {
  const by = new Map(hours.map((h) => [h, { hour: h, ...zero() }]));
  for (const r of rows) {
    if (key && r.key !== key) continue;
    const slot = by.get(r.hour);
    if (slot) add(slot, r);
  }
  return hours.map((h) => by.get(h));
}

/** Per method: [{method, requests, errors, refused}], the most requested first (of `key` when given). */
export function perMethod(rows, key = null) {
  const by = new Map();
  for (const r of rows) {
    if (key && r.key !== key) continue;
    add(by.get(r.method) || by.set(r.method, { method: r.method, ...zero() }).get(r.method), r);
  }
  return [...by.values()].sort((a, b) => b.requests + b.refused - (a.requests + a.refused) || a.method.localeCompare(b.method));
}

/** Totals of the rows (of `key` when given). */
export function totals(rows, key = null) {
  return rows.filter((r) => !key || r.key === key).reduce(add, zero());
}

/** "14:00" (UTC) for an hour's Unix time. */
export function hourLabel(hour) {
  return new Date(hour * 1000).toISOString().slice(11, 16);
}
