// One of each helper in the browser code: no two modules export a function or constant of the same name, and WebCrypto is
// found in one place (lib/webcrypto.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { subtle, sha256 } from "../../../Sources/WalletFront/Public/js/lib/webcrypto.js";

const ROOT = new URL("../../../Sources/WalletFront/Public/js/", import.meta.url).pathname;
const files = (dir) => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith(".js") ? [join(dir, n)] : []));
const sources = files(ROOT).map((p) => ({ path: relative(ROOT, p), text: readFileSync(p, "utf8") }));

test("sha256 through lib/webcrypto.js: FIPS 180-2's \"abc\"", async () => {
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  assert.equal(hex(await sha256(new TextEncoder().encode("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(subtle(), globalThis.crypto.subtle);
});

test("no two modules export a function or a constant of the same name", () => {
  // Each page wires its own sign-in form (the wallet's accounts, the portal's session): same role, two pages.
  const perPage = new Set(["wireAuth"]);
  const where = new Map();
  for (const { path, text } of sources) {
    for (const m of text.matchAll(/^export\s+(?:(?:async\s+)?function\*?|const|let|class)\s+(\w+)/gm)) {
      if (perPage.has(m[1])) continue;
      where.set(m[1], [...(where.get(m[1]) ?? []), path]);
    }
  }
  assert.deepEqual([...where].filter(([, paths]) => paths.length > 1), []);
});

test("crypto.subtle is found only by lib/webcrypto.js (and asked about by the wallet's boot)", () => {
  const users = sources.filter(({ text }) => /crypto(\?)?\.subtle/.test(text)).map(({ path }) => path).sort();
  assert.deepEqual(users, ["lib/webcrypto.js", "wallet/main.js"]);
});
