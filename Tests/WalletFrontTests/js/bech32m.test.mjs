// BIP-350 vectors (the same lists as Tests/ChainCoreTests/AddressTests.swift) and Cairn addresses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encode, decode, convertBits, Bech32Error, BECH32, BECH32M, encodeAddress, decodeAddress, AddressError }
  from "../../../Sources/WalletFront/Public/js/lib/bech32m.js";

const validBech32m = [
  "A1LQFN3A",
  "a1lqfn3a",
  "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
  "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
  "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
  "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
  "?1v759aa",
];

const invalidBech32m = [
  ["\u0020" + "1xj0phk", "prefixCharacterOutOfRange"],
  ["\u007f" + "1g6xzxy", "prefixCharacterOutOfRange"],
  ["\u0080" + "1vctc34", "prefixCharacterOutOfRange"],
  ["an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4", "tooLong"],
  ["qyrz8wqd2c9m", "noSeparator"],
  ["1qyrz8wqd2c9m", "emptyPrefix"],
  ["y1b0jsk6g", "invalidDataCharacter", "b"],
  ["lt1igcx5c0", "invalidDataCharacter", "i"],
  ["in1muywd", "checksumTooShort"],
  ["mm1crxm3i", "invalidDataCharacter", "i"],
  ["au1s5cgom", "invalidDataCharacter", "o"],
  ["M1VUXWEZ", "invalidChecksum"],
  ["16plkw9", "emptyPrefix"],
  ["1p2gdwpf", "emptyPrefix"],
];

test("BIP-350 valid bech32m strings decode as bech32m and re-encode", () => {
  for (const s of validBech32m) {
    const d = decode(s);
    assert.equal(d.variant, BECH32M, s);
    assert.equal(encode(d.prefix, d.data, BECH32M), s.toLowerCase(), s);
  }
});

test("BIP-350 invalid bech32m strings are refused with the Swift error", () => {
  for (const [s, kind, ch] of invalidBech32m) {
    assert.throws(() => decode(s), (e) => {
      assert.ok(e instanceof Bech32Error, s);
      assert.equal(e.kind, kind, JSON.stringify(s));
      if (ch) assert.equal(e.character, ch);
      if (kind === "tooLong") { assert.equal(e.length, 91); assert.equal(e.limit, 90); }
      return true;
    });
  }
});

const validAddresses = [
  ["BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"],
  ["tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"],
  ["bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"],
  ["BC1SW50QGDZ25J", "6002751e"],
  ["bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"],
  ["tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"],
  ["tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"],
  ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"],
];

const invalidAddresses = [
  "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
  "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
  "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
  "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
  "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
  "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
  "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
  "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
  "bc1pw5dgrnzv",
  "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
  "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
  "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
  "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
  "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
  "bc1gmk9yu",
];

/** BIP-350's segwit rules on top of the primitives (as the Swift test does). */
function decodeSegwit(address) {
  let d;
  try { d = decode(address); } catch { return null; }
  if (!["bc", "tb"].includes(d.prefix) || d.data.length === 0) return null;
  const version = d.data[0];
  if (version > 16) return null;
  let program;
  try { program = convertBits(d.data.slice(1), 5, 8, false); } catch { return null; }
  if (program.length < 2 || program.length > 40) return null;
  if (version === 0 && program.length !== 20 && program.length !== 32) return null;
  if ((version === 0) !== (d.variant === BECH32)) return null;
  const op = version === 0 ? 0 : 0x50 + version;
  return Buffer.from([op, program.length, ...program]).toString("hex");
}

test("BIP-350 valid segwit addresses", () => {
  for (const [a, script] of validAddresses) assert.equal(decodeSegwit(a), script, a);
});

test("BIP-350 invalid segwit addresses", () => {
  for (const a of invalidAddresses) assert.equal(decodeSegwit(a), null, a);
});

const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 7) & 255);

test("Cairn addresses match the Swift encoder (same literals as PinnedVectorTests)", () => {
  assert.equal(encodeAddress(key, "main"), "crn1qqqrsu9guyv4rzwplgex4gkmzd9c8wl593jfe4gdg47mtm3xt6tvs3acqv7");
  assert.equal(encodeAddress(key, "testnet"), "tcrn1qqqrsu9guyv4rzwplgex4gkmzd9c8wl593jfe4gdg47mtm3xt6tvs6ju7nt");
  assert.equal(encodeAddress(key, "regtest"), "rcrn1qqqrsu9guyv4rzwplgex4gkmzd9c8wl593jfe4gdg47mtm3xt6tvsqtqxkr");
  for (const n of ["main", "testnet", "regtest"]) {
    const a = encodeAddress(key, n);
    assert.deepEqual(decodeAddress(a, n), key);
    assert.deepEqual(decodeAddress(a.toUpperCase(), n), key);
    assert.deepEqual(decodeAddress(`  ${a}\n`, n), key);
  }
});

function code(fn) {
  try { fn(); } catch (e) { assert.ok(e instanceof AddressError, String(e)); return e.code; }
  return null;
}

test("address errors: checksum, network, prefix, length, version, malformed are distinct", () => {
  const good = encodeAddress(key, "regtest");
  const chars = [...good];
  chars[10] = chars[10] === "q" ? "p" : "q";
  assert.equal(code(() => decodeAddress(chars.join(""), "regtest")), "address-bad-checksum");
  assert.equal(code(() => decodeAddress(encodeAddress(key, "main"), "regtest")), "address-wrong-network");
  assert.equal(code(() => decodeAddress(encodeAddress(key, "testnet"), "main")), "address-wrong-network");
  const short = encode("rcrn", [0, ...convertBits([...key.slice(0, 20)], 8, 5, true)], BECH32M);
  assert.equal(code(() => decodeAddress(short, "regtest")), "address-bad-length");
  const v0 = encode("rcrn", [0, ...convertBits([...key], 8, 5, true)], BECH32);
  assert.equal(code(() => decodeAddress(v0, "regtest")), "address-bad-checksum");
  assert.equal(code(() => decodeAddress("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "regtest")), "address-unknown-prefix");
  const v1 = encode("rcrn", [1, ...convertBits([...key], 8, 5, true)], BECH32M);
  assert.equal(code(() => decodeAddress(v1, "regtest")), "address-bad-version");
  assert.equal(code(() => decodeAddress("hello", "regtest")), "address-malformed");
  assert.equal(code(() => decodeAddress(good.slice(0, 5) + good.slice(5).toUpperCase(), "regtest")), "address-malformed");
  assert.equal(code(() => decodeAddress(good + "q".repeat(40), "regtest")), "address-malformed");
  // the messages differ from each other
  const msgs = new Set();
  for (const f of [() => decodeAddress(chars.join(""), "regtest"), () => decodeAddress(encodeAddress(key, "main"), "regtest"),
    () => decodeAddress(short, "regtest")]) {
    try { f(); } catch (e) { msgs.add(e.message); }
  }
  assert.equal(msgs.size, 3);
});
