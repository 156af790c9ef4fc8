// The mempool view's and the charts' pure models (js/explorer/mempoolmodel.js), and their routes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { histogramBars, rateLabel, expectedConfirmation, blockSeries, lineModel, compact } from "../../../Sources/WalletFront/Public/js/explorer/mempoolmodel.js";
import { parseRoute } from "../../../Sources/WalletFront/Public/js/explorer/logic.js";
import { paths } from "../../../Sources/WalletFront/Public/js/routes.js";

test("histogram bars: lowest rate first, heights proportional to bytes, empty buckets left out", () => {
  const m = histogramBars([[8, 400], [2, 1000], [0, 200], [4, 0]], { width: 400, height: 200, pad: { top: 0, right: 0, bottom: 0, left: 0 } });
  assert.equal(m.empty, false);
  assert.deepEqual(m.bars.map((b) => b.from), [0, 2, 8]);
  assert.deepEqual(m.bars.map((b) => b.label), ["<1", "2–4", "8–16"]);
  assert.equal(m.max, 1000);
  assert.equal(m.bars[1].h, 200);
  assert.equal(m.bars[2].h, 80);
  assert.equal(m.bars[1].y, 0);
  assert.ok(m.bars[0].x < m.bars[1].x && m.bars[1].x < m.bars[2].x);
  assert.equal(histogramBars([]).empty, true);
  assert.equal(histogramBars(null).empty, true);
  assert.equal(rateLabel(16, 32), "16–32");
});

test("expected confirmation from the projected block", () => {
  assert.equal(expectedConfirmation(0, 3), "in the next block");
  assert.equal(expectedConfirmation(1, 3), "in about 2 blocks");
  assert.equal(expectedConfirmation(2, 3), "in about 3 blocks or more");
  assert.equal(expectedConfirmation(0, 1), "in the next block");
  assert.equal(expectedConfirmation(null, 1), "unknown");
});

test("block series: hash rate is the window's work over its time span", () => {
  const blocks = [0, 1, 2, 3].map((i) => ({ height: 10 + i, timestamp: 1000 + 10 * i, size: 100 + i, tx_count: 1, fees: i * 5, difficulty: 2, work: 600 }));
  const s = blockSeries(blocks.slice().reverse(), { window: 2 });
  assert.deepEqual(s.map((p) => p.height), [10, 11, 12, 13]);
  assert.equal(s[0].hashrate, null);
  assert.equal(s[1].hashrate, 60);          // 600 hashes in 10 s
  assert.equal(s[3].hashrate, 60);          // (600 + 600) over 20 s
  assert.deepEqual(s.map((p) => p.fees), [0, 5, 10, 15]);
});

test("line model: points inside the plot, gaps skipped, flat series drawn", () => {
  const m = lineModel([{ x: 0, y: 0 }, { x: 5, y: null }, { x: 10, y: 10 }], { width: 110, height: 110, pad: { top: 10, right: 0, bottom: 0, left: 10 } });
  assert.equal(m.points.length, 2);
  assert.deepEqual([m.points[0].px, m.points[0].py], [10, 110]);
  assert.deepEqual([m.points[1].px, m.points[1].py], [110, 10]);
  const flat = lineModel([{ x: 1, y: 5 }, { x: 2, y: 5 }], { zero: false });
  assert.equal(flat.empty, false);
  assert.ok(flat.points.every((p) => Number.isFinite(p.py)));
  assert.equal(lineModel([]).empty, true);
  assert.equal(compact(1234), "1.23k");
  assert.equal(compact(5e6), "5M");
  assert.equal(compact(12), "12");
});

test("routes: the mempool view and the charts", () => {
  assert.deepEqual(parseRoute("#/mempool"), { name: "mempool" });
  assert.deepEqual(parseRoute("#/charts"), { name: "charts" });
  const T = "ab".repeat(32);
  assert.equal(paths.txOutspends(T), `/api/tx/${T}/outspends`);
  assert.equal(paths.mempoolBlocks(), "/api/v1/fees/mempool-blocks");
  assert.equal(paths.mempoolPosition(T), `/api/mempool/position/${T}`);
  assert.equal(paths.chartBlocks(100), "/api/charts/blocks/100");
  assert.equal(paths.chartMempool(3600), "/api/charts/mempool/3600");
});
