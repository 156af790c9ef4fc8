// The usage charts, drawn with Debian's Chart.js (libjs-chart.js, 3.9), which the wallet front
// serves as /vendor/chart.js from where the package installs it. It is a classic (UMD) script
// defining the global `Chart`; it is loaded once, on first use. Without it the page still shows
// the same figures in its tables.

import { loadVendorScript } from "../ui/vendor.js";
import { hourLabel } from "./usage.js";

/** Loads /vendor/chart.js once; resolves to the `Chart` global. */
export function loadChart(src = "vendor/chart.js") {
  return loadVendorScript(src, "Chart", "chart library");
}

const COLORS = { requests: "#2f6fdf", errors: "#d08a00", refused: "#c0392b" };
const SERIES = ["requests", "errors", "refused"];

function datasets(points) {
  return SERIES.map((s) => ({ label: s, data: points.map((p) => p[s]), backgroundColor: COLORS[s], stack: s === "requests" ? "a" : "b" }));
}

/** Draws (or redraws) a bar chart on `canvas`: one bar group per label, requests / errors / refused. */
function draw(Chart, canvas, labels, points, { horizontal = false } = {}) {
  const existing = Chart.getChart(canvas);
  if (existing) {
    existing.data.labels = labels;
    existing.data.datasets.forEach((d, i) => { d.data = points.map((p) => p[SERIES[i]]); });
    existing.update("none");
    return existing;
  }
  return new Chart(canvas, {
    type: "bar",
    data: { labels, datasets: datasets(points) },
    options: {
      animation: false,
      maintainAspectRatio: false,
      indexAxis: horizontal ? "y" : "x",
      scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: "bottom" } },
    },
  });
}

/** Requests, errors and refused per hour (UTC) of the last 24 hours. */
export async function drawHours(canvas, hourly) {
  const Chart = await loadChart();
  return draw(Chart, canvas, hourly.map((h) => hourLabel(h.hour)), hourly);
}

/** Requests, errors and refused per method (REST routes as "GET /api/…", JSON-RPC methods by name). */
export async function drawMethods(canvas, methods) {
  const Chart = await loadChart();
  return draw(Chart, canvas, methods.map((m) => m.method), methods, { horizontal: true });
}
