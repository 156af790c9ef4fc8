// The usage panel: the account's usage (all keys or one) per hour and per method, as charts
// (charts.js) and a table, refreshed every 10 seconds while the page is open and on demand.

import { routes } from "../routes.js";
import { $, h, fill, show, setMessage } from "../ui/dom.js";
import { lastHours, perHour, perMethod, totals } from "./usage.js";
import { drawHours, drawMethods } from "./charts.js";

export class UsageView {
  constructor({ getSession, onError, intervalMs = 10000 }) {
    this.getSession = getSession;
    this.onError = onError;
    this.intervalMs = intervalMs;
    this.timer = null;
    $("usage-refresh").addEventListener("click", () => this.load());
    $("usage-key").addEventListener("change", () => this.load());
  }

  /** The key picker follows the account's keys. */
  setKeys(keys) {
    const select = $("usage-key");
    const current = select.value;
    fill(select, h("option", { value: "", text: "all keys" }),
      keys.map((k) => h("option", { value: k.id, text: `${k.name} (${k.id})${k.revoked != null ? " · revoked" : ""}` })));
    select.value = keys.some((k) => k.id === current) ? current : "";
  }

  start() {
    this.stop();
    this.load();
    this.timer = setInterval(() => this.load(), this.intervalMs);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async load() {
    const session = this.getSession();
    if (!session) return;
    const key = $("usage-key").value || null;
    let usage;
    try {
      usage = await routes.portalUsage(session, key);
    } catch (err) {
      this.onError(err);
      return;
    }
    const rows = usage.hours || [];
    const t = totals(rows);
    $("usage-totals").textContent = `${t.requests} requests, ${t.errors} errors, ${t.refused} refused`;
    $("usage-totals").dataset.requests = String(t.requests);
    $("usage-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    const methods = perMethod(rows);
    fill($("usage-methods-body"), methods.length === 0
      ? h("tr", {}, h("td", { colspan: "4", class: "muted", text: "No request yet." }))
      : methods.map((m) => h("tr", { testid: "usage-method", dataset: { method: m.method, requests: m.requests, errors: m.errors, refused: m.refused } },
        h("td", { class: "mono", text: m.method }), h("td", { text: m.requests }), h("td", { text: m.errors }), h("td", { text: m.refused }))));
    try {
      await drawHours($("usage-hours"), perHour(rows, lastHours(Date.now() / 1000)));
      await drawMethods($("usage-methods"), methods);
      show($("usage-chart-note"), false);
    } catch (err) {
      setMessage($("usage-chart-note"), `${err.message || err}: the table has the same figures.`);
    }
  }
}
