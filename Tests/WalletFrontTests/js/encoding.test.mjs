// Canonical encoding, CompactSize, txid, sighash and Ed25519 (docs/PROTOCOL.md §1, §2, §5, §7).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "../../../Sources/WalletFront/Public/js/lib/encoding.js";
import * as K from "../../../Sources/WalletFront/Public/js/lib/keys.js";
import { NETWORKS, networkParams } from "../../../Sources/WalletFront/Public/js/lib/networks.js";

const hex = E.toHex;
const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 7) & 255);

test("CompactSize: shortest forms, boundaries, and non-minimal ones refused", () => {
  const cases = [[0, "00"], [0xfc, "fc"], [0xfd, "fdfd00"], [0xffff, "fdffff"], [0x10000, "fe00000100"],
    [0xffffffff, "feffffffff"], [0x100000000, "ff0000000001000000"]];
  for (const [n, h] of cases) {
    assert.equal(hex(new E.ByteWriter().compact(n).bytes()), h, String(n));
    assert.equal(E.compactSizeLength(n), h.length / 2);
    assert.equal(new E.ByteReader(E.fromHex(h)).compact("n"), n);
  }
  for (const bad of ["fdfc00", "fe ffff0000".replace(" ", ""), "ff ffffffff00000000".replace(" ", "")]) {
    assert.throws(() => new E.ByteReader(E.fromHex(bad)).compact("n"), /non-minimal/);
  }
  assert.throws(() => new E.ByteReader(E.fromHex("fd01")).compact("n"), /ends early/);
});

test("u64 little-endian, and base64 round trips", () => {
  assert.equal(hex(new E.ByteWriter().u64(5_000_000_000).bytes()), "00f2052a01000000");
  assert.equal(new E.ByteReader(E.fromHex("00f2052a01000000")).u64("v"), 5_000_000_000);
  assert.throws(() => new E.ByteWriter().u64(-1));
  for (const n of [0, 1, 2, 3, 16, 32, 48]) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
    assert.deepEqual(E.fromBase64(E.toBase64(b)), b);
    assert.equal(E.toBase64(b), Buffer.from(b).toString("base64"));
  }
  assert.throws(() => E.fromBase64("abc"));
  assert.throws(() => E.fromBase64("ab!="));
});

// The same literals as PinnedVectorTests.encodingTxidAndSighash (Swift).
const vectorTx = {
  version: 1,
  inputs: [
    { txid: "11".repeat(32), vout: 1, payload: new Uint8Array(64).fill(9) },
    { txid: "22".repeat(31) + "33", vout: 0, payload: new Uint8Array(0) },
  ],
  outputs: [{ value: 123456789, publicKey: key }, { value: 1000, publicKey: new Uint8Array(32).fill(0xab) }],
};
const vectorHex = "01000000021111111111111111111111111111111111111111111111111111111111111111010000004009090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909332222222222222222222222222222222222222222222222222222222222222200000000000215cd5b070000000000070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e803000000000000abababababababababababababababababababababababababababababababab";

test("transaction encoding, decoding and txid (pinned to Swift's)", async () => {
  assert.equal(hex(E.encodeTx(vectorTx)), vectorHex);
  const back = E.decodeTx(E.fromHex(vectorHex));
  assert.equal(hex(E.encodeTx(back)), vectorHex);
  assert.equal(back.inputs[1].txid, "22".repeat(31) + "33");
  assert.equal(await E.txid(vectorTx), "3a13d83fb37319c59f4cf9c51a60805c513cdce883d49ee67b082b3908421416");
  // the decoder refuses trailing bytes, truncation and impossible counts
  assert.throws(() => E.decodeTx(E.fromHex(vectorHex + "00")), /left over/);
  assert.throws(() => E.decodeTx(E.fromHex(vectorHex.slice(0, -2))), /cannot fit/);
  assert.throws(() => E.decodeTx(E.fromHex(vectorHex.slice(0, 200))), /ends early/);
  assert.throws(() => E.decodeTx(E.fromHex("01000000fd0001")), /cannot fit/);
});

test("sighash on every network (pinned to Swift's), and blanked payloads", async () => {
  const spent = [{ value: 5_000_000_000, publicKey: key }, { value: 1, publicKey: key }];
  assert.equal(E.hashToDisplay(await E.sighash(vectorTx, spent, "main")), "db8ccc225ecdd57809e4b667d0c4a604adf3e3987536632baf84e21eadea59c6");
  assert.equal(E.hashToDisplay(await E.sighash(vectorTx, spent, "testnet")), "8c292080a716368a0e61e652a59ab11ea0cfc0fda7704c17ad14ebac13050eb8");
  assert.equal(E.hashToDisplay(await E.sighash(vectorTx, spent, "regtest")), "4d85879a0f48403341ca31e14776a853bce2e3be76db19e5f9b254139773c959");
  // Payloads do not enter it: changing a signature leaves it unchanged, changing an amount does not.
  const other = structuredClone(vectorTx);
  other.inputs[0].payload = new Uint8Array(64).fill(1);
  assert.deepEqual(await E.sighash(other, spent, "regtest"), await E.sighash(vectorTx, spent, "regtest"));
  other.outputs[0].value += 1;
  assert.notDeepEqual(await E.sighash(other, spent, "regtest"), await E.sighash(vectorTx, spent, "regtest"));
  const pre = E.sighashPreimage(vectorTx, spent, "regtest");
  assert.equal(new TextDecoder().decode(pre.slice(0, 16)), "CAIRN/sighash/v1");
  assert.equal(hex(pre.slice(16, 20)), "c41e724e");
});

/** Rebuilds a genesis block from the PROTOCOL.md recipe and checks its hash (an independent check of encoding + SHA256d). */
async function genesisHash(network, bits, nonce) {
  const msg = new TextEncoder().encode(`Cairn ${network} genesis 2026-11-25: keys stay in the browser`);
  const cb = {
    version: 1,
    inputs: [{ txid: E.NULL_TXID, vout: 0xffffffff, payload: Uint8Array.from([0, 0, 0, 0, ...msg]) }],
    outputs: [{ value: 0, publicKey: new Uint8Array(32) }],
  };
  assert.ok(E.isCoinbaseTx(cb));
  const merkle = E.hashFromDisplay(await E.txid(cb));
  const w = new E.ByteWriter().u32(1).raw(new Uint8Array(32)).raw(merkle).u32(1795564800).u32(bits).u32(nonce);
  assert.equal(w.length, 80);
  return E.hashToDisplay(await E.sha256d(w.bytes()));
}

test("the three genesis blocks rebuild to the hashes of PROTOCOL.md §7", async () => {
  assert.equal(await genesisHash("main", 0x1e0fffff, 213765), NETWORKS.main.genesisHash);
  assert.equal(await genesisHash("testnet", 0x1f00ffff, 29185), NETWORKS.testnet.genesisHash);
  assert.equal(await genesisHash("regtest", 0x207fffff, 0), NETWORKS.regtest.genesisHash);
});

test("signed size formula matches real encodings", () => {
  for (const [i, o] of [[1, 1], [1, 2], [3, 2], [300, 2]]) {
    const tx = {
      version: 1,
      inputs: Array.from({ length: i }, (_, k) => ({ txid: "ab".repeat(32), vout: k, payload: new Uint8Array(64) })),
      outputs: Array.from({ length: o }, () => ({ value: 1, publicKey: key })),
    };
    assert.equal(E.encodeTx(tx).length, E.signedTxSize(i, o));
  }
});

test("Ed25519 through WebCrypto: RFC 8032 test 1, PKCS#8 wrapping", async () => {
  const seed = E.fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  const pub = await K.publicKeyFromSeed(seed);
  assert.equal(hex(pub), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const sig = await K.sign(seed, new Uint8Array(0));
  assert.equal(hex(sig), "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  assert.ok(await K.verify(pub, sig, new Uint8Array(0)));
  assert.deepEqual(K.pkcs8ToSeed(K.seedToPkcs8(seed)), seed);
  const kp = await K.generateKeyPair();
  assert.equal(kp.seed.length, 32);
  assert.deepEqual(await K.publicKeyFromSeed(kp.seed), kp.publicKey);
  assert.ok(await K.ed25519Supported());
});
