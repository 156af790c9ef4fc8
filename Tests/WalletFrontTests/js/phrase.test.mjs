// The recovery phrase in the browser: BIP-39's published (Trezor) vectors and SLIP-0010's
// Ed25519 vectors, from the same files as Tests/WalletTests/PhraseTests.swift, with the word
// list read from where Debian's python3-mnemonic installs it (as the wallet front serves it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseWordList, entropyToWords, wordsToEntropy, phraseToSeed, splitPhrase, generatePhrase, PhraseError }
  from "../../../Sources/WalletFront/Public/js/lib/bip39.js";
import { derivePath, parsePath, accountPath, phraseAccounts, HARDENED } from "../../../Sources/WalletFront/Public/js/lib/slip10.js";
import { publicKeyFromSeed } from "../../../Sources/WalletFront/Public/js/lib/keys.js";
import { fromHex, toHex } from "../../../Sources/WalletFront/Public/js/lib/encoding.js";

const fixture = (name) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../WalletTests/Fixtures/${name}`, import.meta.url)), "utf8"));
const WORDS = process.env.CAIRN_BIP39_WORDLIST || "/usr/lib/python3/dist-packages/mnemonic/wordlist/english.txt";
const list = parseWordList(readFileSync(WORDS, "utf8"));

test("the Debian word list is BIP-39's English list", () => {
  assert.equal(list.words.length, 2048);
  assert.equal(list.words[0], "abandon");
  assert.equal(list.words[2047], "zoo");
  assert.throws(() => parseWordList("abandon\nability\n"), PhraseError);
});

test("BIP-39 Trezor vectors: entropy → mnemonic → seed (passphrase TREZOR)", async () => {
  const file = fixture("bip39-trezor.json");
  assert.equal(file.vectors.length, 24);
  for (const v of file.vectors) {
    const words = await entropyToWords(fromHex(v.entropy), list);
    assert.equal(words.join(" "), v.mnemonic);
    assert.equal(toHex(await wordsToEntropy(splitPhrase(v.mnemonic), list)), v.entropy);
    assert.equal(toHex(await phraseToSeed(words, file.passphrase)), v.seed);
  }
});

test("SLIP-0010 Ed25519 vectors 1 and 2: chain codes, private and public keys", async () => {
  const file = fixture("slip10-ed25519.json");
  assert.equal(file.vectors.length, 2);
  for (const v of file.vectors) {
    for (const c of v.chains) {
      const node = await derivePath(fromHex(v.seed), c.path);
      assert.equal(toHex(node.chainCode), c.chainCode, c.path);
      assert.equal(toHex(node.key), c.private, c.path);
      assert.equal("00" + toHex(await publicKeyFromSeed(node.key)), c.public, c.path);
    }
  }
});

test("refusals name the bad word", async () => {
  const words = splitPhrase("legal winner thank year wavy sausage worth useful legal winner thank yellow");
  await assert.rejects(wordsToEntropy(words, list), (e) => e.kind === "unknown-word" && e.position === 5 && e.word === "wavy"
    && e.suggestion === "wave" && /word 5 'wavy'.*did you mean 'wave'/.test(e.message));
  const swapped = splitPhrase("legal winner thank year wave sausage worth useful legal winner yellow thank");
  await assert.rejects(wordsToEntropy(swapped, list), (e) => e.kind === "checksum" && e.word === "thank" && /last word 'thank'/.test(e.message));
  await assert.rejects(wordsToEntropy(swapped.slice(0, 11), list), (e) => e.kind === "word-count");
  assert.deepEqual(splitPhrase("  Legal   WINNER\nthank "), ["legal", "winner", "thank"]);
});

test("generated phrases check and round-trip; paths are hardened only", async () => {
  for (const n of [12, 24]) {
    const words = await generatePhrase(n, list);
    assert.equal(words.length, n);
    assert.equal((await wordsToEntropy(words, list)).length, (n * 4) / 3);
  }
  await assert.rejects(generatePhrase(13, list), PhraseError);
  assert.deepEqual(parsePath("m/44'/7369'/0'/0'/3'"), [44, 7369, 0, 0, 3].map((v) => (v | HARDENED) >>> 0));
  assert.throws(() => parsePath("m/44'/0"), /only hardened/);
  assert.throws(() => parsePath("44'/0'"), /not a derivation path/);
  assert.equal(accountPath(2), "m/44'/7369'/0'/0'/2'");
});

test("accounts of one phrase differ and follow the documented path", async () => {
  const words = splitPhrase("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about");
  const accounts = await phraseAccounts(words, list, "regtest", { count: 3 });
  assert.equal(new Set(accounts.map((a) => a.address)).size, 3);
  assert.ok(accounts.every((a) => a.address.startsWith("rcrn1")));
  const seed = await phraseToSeed(words);
  assert.equal(toHex(accounts[1].seed), toHex((await derivePath(seed, "m/44'/7369'/0'/0'/1'")).key));
  // Pinned: Tests/WalletTests/PhraseTests.swift asserts the same strings.
  assert.equal(toHex(accounts[0].seed), "f6e0c6880debb6c70b22e923bd2a89d047a8828566942779bac5e5acee3fa53d");
  assert.equal(accounts[1].address, "rcrn1qwr7vl2wusw0k6xhd7w5zymaz8ecg6tn49lakm5rvfk20lugp06rsfvgjew");
  const bad = [...words.slice(0, 11), "abandon"];
  await assert.rejects(phraseAccounts(bad, list, "regtest"), (e) => e.kind === "checksum");
});
