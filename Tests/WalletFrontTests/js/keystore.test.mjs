// The keystore file format of docs/PROTOCOL.md: round trip, wrong password, damaged files.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as KS from "../../../Sources/WalletFront/Public/js/lib/keystore.js";
import { publicKeyFromSeed, generateSeed } from "../../../Sources/WalletFront/Public/js/lib/keys.js";
import { encodeAddress } from "../../../Sources/WalletFront/Public/js/lib/bech32m.js";
import { toHex, fromBase64 } from "../../../Sources/WalletFront/Public/js/lib/encoding.js";

const seed = Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + 5) & 255);

test("seal writes the documented format with 600,000 iterations, and opens again", async () => {
  const file = await KS.seal(seed, "correct horse ☃", "regtest");
  assert.deepEqual(Object.keys(file).sort(), ["address", "cipher", "kdf", "network", "public_key", "version"]);
  assert.equal(file.version, 1);
  assert.equal(file.network, "regtest");
  assert.equal(file.kdf.name, "pbkdf2-sha256");
  assert.equal(file.kdf.iterations, 600000);
  assert.equal(fromBase64(file.kdf.salt).length, 16);
  assert.equal(file.cipher.name, "aes-256-gcm");
  assert.equal(fromBase64(file.cipher.nonce).length, 12);
  assert.equal(fromBase64(file.cipher.ciphertext).length, 48);
  const pub = await publicKeyFromSeed(seed);
  assert.equal(file.public_key, toHex(pub));
  assert.equal(file.address, encodeAddress(pub, "regtest"));
  const text = KS.serialize(file);
  assert.ok(text.endsWith("}\n"));
  const opened = await KS.open(text, "correct horse ☃");
  assert.deepEqual(opened.seed, seed);
  assert.equal(opened.address, file.address);
  assert.equal(opened.network, "regtest");
  // Fresh salt and nonce every time.
  const again = await KS.seal(seed, "correct horse ☃", "regtest", { iterations: 1000 });
  assert.notEqual(again.kdf.salt, file.kdf.salt);
  assert.notEqual(again.cipher.nonce, file.cipher.nonce);
});

test("a wrong password is reported as such", async () => {
  const file = await KS.seal(seed, "right", "testnet", { iterations: 1000 });
  await assert.rejects(KS.open(file, "wrong"), (e) => e instanceof KS.KeystoreError && e.kind === "wrong-password" && /wrong password/.test(e.message));
  await assert.rejects(KS.open(file, ""), (e) => e.kind === "wrong-password");
  // an altered ciphertext cannot be told from a wrong password
  const ct = fromBase64(file.cipher.ciphertext);
  ct[3] ^= 1;
  const altered = { ...file, cipher: { ...file.cipher, ciphertext: Buffer.from(ct).toString("base64") } };
  await assert.rejects(KS.open(altered, "right"), (e) => e.kind === "wrong-password");
});

test("damaged and unsupported files are refused before any decryption", async () => {
  const file = await KS.seal(seed, "pw", "regtest", { iterations: 1000 });
  const other = await publicKeyFromSeed(generateSeed());
  const cases = [
    ["not json {", "damaged", /not JSON/],
    ["[]", "damaged", /object/],
    [JSON.stringify({ ...file, version: 2 }), "unsupported", /version 2/],
    [JSON.stringify({ ...file, network: "moon" }), "damaged", /network/],
    [JSON.stringify({ ...file, kdf: { ...file.kdf, name: "scrypt" } }), "unsupported", /scrypt/],
    [JSON.stringify({ ...file, cipher: { ...file.cipher, name: "aes-128-cbc" } }), "unsupported", /aes-128-cbc/],
    [JSON.stringify({ ...file, kdf: { ...file.kdf, iterations: 0 } }), "damaged", /iterations/],
    [JSON.stringify({ ...file, kdf: { ...file.kdf, iterations: 20_000_000 } }), "damaged", /iterations/],
    [JSON.stringify({ ...file, public_key: "zz" }), "damaged", /public_key/],
    [JSON.stringify({ ...file, public_key: toHex(other) }), "damaged", /do not match/],
    [JSON.stringify({ ...file, address: file.address.slice(0, -1) + (file.address.endsWith("q") ? "p" : "q") }), "damaged", /checksum/],
    [JSON.stringify({ ...file, network: "main" }), "damaged", /address/],
    [JSON.stringify({ ...file, kdf: { ...file.kdf, salt: "!!" } }), "damaged", /salt/],
    [JSON.stringify({ ...file, cipher: { ...file.cipher, nonce: "AAAA" } }), "damaged", /nonce/],
    [JSON.stringify({ ...file, cipher: { ...file.cipher, ciphertext: "AAAA" } }), "damaged", /ciphertext/],
    [JSON.stringify({ ...file, cipher: undefined }), "damaged", /missing cipher/],
    [JSON.stringify({ ...file, version: "1" }), "damaged", /wrong type at version/],
  ];
  for (const [text, kind, re] of cases) {
    await assert.rejects(KS.open(text, "pw"), (e) => {
      assert.ok(e instanceof KS.KeystoreError, text);
      assert.equal(e.kind, kind, text);
      assert.match(e.message, re);
      return true;
    });
  }
});

test("a file whose key does not match its public_key is damaged, not a wrong password", async () => {
  // Seal one seed but claim another key (and its address): decryption works, the check fails.
  const file = await KS.seal(seed, "pw", "regtest", { iterations: 1000 });
  const other = await publicKeyFromSeed(generateSeed());
  const lying = { ...file, public_key: toHex(other), address: encodeAddress(other, "regtest") };
  await assert.rejects(KS.open(lying, "pw"), (e) => e.kind === "damaged" && /does not match public_key/.test(e.message));
});
