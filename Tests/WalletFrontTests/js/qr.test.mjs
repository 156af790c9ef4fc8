// The QR module draws what Debian's qrcode-generator (node-qrcode-generator) computes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { qrMatrix, qrPath } from "../../../Sources/WalletFront/Public/js/lib/qr.js";

const LIB = "/usr/share/javascript/qrcode-generator/qrcode.js";
const ADDR = "rcrn1qej5cmplf26smtzxrm78ys056ave28n6sqx4jjhndn79qeqzqnucq3r0kkl";

test("an address's QR matrix: square, three finder patterns, one path square per dark module", () => {
  assert.ok(existsSync(LIB), `${LIB} is missing: install the Debian package node-qrcode-generator (scripts/install-deps.sh)`);
  const qrcode = createRequire(import.meta.url)(LIB);
  const m = qrMatrix(qrcode, ADDR);
  const n = m.length;
  assert.ok(n >= 21 && (n - 17) % 4 === 0, `a QR code is 17 + 4v modules wide, got ${n}`);
  assert.ok(m.every((row) => row.length === n));
  // Finder patterns: the 7×7 corners have a dark ring and a light ring around a 3×3 dark core.
  for (const [r0, c0] of [[0, 0], [0, n - 7], [n - 7, 0]]) {
    for (let i = 0; i < 7; i++) {
      assert.ok(m[r0][c0 + i] && m[r0 + 6][c0 + i] && m[r0 + i][c0] && m[r0 + i][c0 + 6]);
    }
    assert.ok(!m[r0 + 1][c0 + 1] && m[r0 + 3][c0 + 3]);
  }
  const dark = m.flat().filter(Boolean).length;
  const d = qrPath(m, 4);
  assert.equal((d.match(/M/g) || []).length, dark);
  assert.match(d, /^M\d+ \d+h1v1h-1z/);
  assert.deepEqual(qrMatrix(qrcode, ADDR), m, "the same text gives the same code");
});
