// The formatter of hashes, durations and times of both pages (js/ui/format.js); amounts are amount.test.mjs's.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as F from "../../../Sources/WalletFront/Public/js/ui/format.js";

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
