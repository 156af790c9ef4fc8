// BIP-39 recovery phrases with WebCrypto: entropy ↔ words (11 bits a word, SHA-256 checksum
// bits at the end) and the 64-byte seed = PBKDF2-HMAC-SHA512(NFKD(phrase), "mnemonic" +
// NFKD(passphrase), 2048 rounds). The same as Sources/Wallet/Mnemonic.swift.
//
// The English word list is not in this repository: the wallet front serves it as
// /vendor/bip39-english.txt from where Debian's python3-mnemonic installs it.

import { subtle, sha256 } from "./webcrypto.js";

export const WORD_COUNTS = [12, 15, 18, 21, 24];
export const SEED_ROUNDS = 2048;

/**
 * kind: "word-list" | "word-count" | "unknown-word" | "checksum" | "entropy".
 * For "unknown-word": position (1-based), word, suggestion; for "checksum": word (the last one).
 */
export class PhraseError extends Error {
  constructor(kind, message, extra = {}) {
    super(message);
    this.name = "PhraseError";
    this.kind = kind;
    Object.assign(this, extra);
  }
}

/** The word list from the file's text: 2048 different words, one a line. */
export function parseWordList(text) {
  const words = String(text).split(/\r?\n/).map((w) => w.trim()).filter((w) => w.length > 0);
  if (words.length !== 2048 || new Set(words).size !== 2048) {
    throw new PhraseError("word-list", `a BIP-39 word list has 2048 different words, this one has ${words.length}`);
  }
  return { words, index: new Map(words.map((w, i) => [w, i])) };
}

let loaded = null;
/** Fetches /vendor/bip39-english.txt once. */
export function loadWordList(src = "vendor/bip39-english.txt") {
  if (!loaded) {
    loaded = (async () => {
      let r;
      try { r = await fetch(src); } catch (e) { throw new PhraseError("word-list", `the word list could not be loaded (${e.message})`); }
      if (!r.ok) {
        let why = `HTTP ${r.status}`;
        try { why = (await r.json()).error?.message ?? why; } catch { /* not JSON */ }
        throw new PhraseError("word-list", `the BIP-39 word list is not available: ${why}`);
      }
      return parseWordList(await r.text());
    })();
    loaded.catch(() => { loaded = null; });
  }
  return loaded;
}

/** Splits a typed phrase into lowercased words (any run of spaces or newlines separates them). */
export function splitPhrase(text) {
  return String(text).normalize("NFKD").toLowerCase().split(/\s+/).filter((w) => w.length > 0);
}

function editDistance(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * What a mistyped word probably was: the list's word with the same first four letters (BIP-39
 * English words are unique by them), else the nearest within two edits; null if none.
 */
export function suggestion(word, list) {
  if (word.length >= 4) {
    const p = word.slice(0, 4);
    const same = list.words.find((w) => w.startsWith(p));
    if (same) return same;
  }
  let best = null, bestDistance = 3;
  for (const w of list.words) {
    const d = editDistance(word, w);
    if (d < bestDistance) { best = w; bestDistance = d; }
  }
  return best;
}

/** The words of `entropy` (16…32 bytes, a multiple of 4). */
export async function entropyToWords(entropy, list) {
  const e = Uint8Array.from(entropy);
  if (e.length < 16 || e.length > 32 || e.length % 4 !== 0) {
    throw new PhraseError("entropy", `entropy of ${e.length} bytes: BIP-39 takes 16, 20, 24, 28 or 32`);
  }
  const hash = await sha256(e);
  const bits = [];
  for (const byte of [...e, hash[0]]) for (let i = 7; i >= 0; i--) bits.push((byte >> i) & 1);
  const total = e.length * 8 + e.length / 4;
  const words = [];
  for (let start = 0; start < total; start += 11) {
    let v = 0;
    for (let k = 0; k < 11; k++) v = (v << 1) | bits[start + k];
    words.push(list.words[v]);
  }
  return words;
}

/** A fresh phrase of `count` words (12: 128 bits, 24: 256 bits) from the platform's CSPRNG. */
export async function generatePhrase(count, list) {
  if (!WORD_COUNTS.includes(count)) throw new PhraseError("word-count", `a recovery phrase has 12, 15, 18, 21 or 24 words, not ${count}`);
  return entropyToWords(globalThis.crypto.getRandomValues(new Uint8Array((count * 4) / 3)), list);
}

/** Checks the words and the checksum; returns the entropy. Errors name the bad word. */
export async function wordsToEntropy(words, list) {
  if (!WORD_COUNTS.includes(words.length)) {
    throw new PhraseError("word-count", `a recovery phrase has 12, 15, 18, 21 or 24 words, this one has ${words.length}`);
  }
  const bits = [];
  words.forEach((w, i) => {
    const v = list.index.get(w);
    if (v === undefined) {
      const s = suggestion(w, list);
      throw new PhraseError("unknown-word", `word ${i + 1} '${w}' is not in the BIP-39 English list${s ? ` (did you mean '${s}'?)` : ""}`,
        { position: i + 1, word: w, suggestion: s });
    }
    for (let k = 10; k >= 0; k--) bits.push((v >> k) & 1);
  });
  const checksumBits = bits.length / 33;
  const entropyBits = bits.length - checksumBits;
  const entropy = new Uint8Array(entropyBits / 8);
  for (let i = 0; i < entropyBits; i++) if (bits[i]) entropy[i >> 3] |= 0x80 >> (i % 8);
  const hash = await sha256(entropy);
  for (let i = 0; i < checksumBits; i++) {
    if (bits[entropyBits + i] !== ((hash[0] >> (7 - i)) & 1)) {
      const last = words[words.length - 1];
      throw new PhraseError("checksum",
        `the phrase's checksum does not match: the last word '${last}' does not fit the ${words.length - 1} words before it (a word is mistyped, missing or out of order)`,
        { position: words.length, word: last });
    }
  }
  return entropy;
}

/** The 64-byte BIP-39 seed (the phrase is not checked here: wordsToEntropy does that). */
export async function phraseToSeed(words, passphrase = "") {
  const enc = new TextEncoder();
  const password = enc.encode(words.join(" ").normalize("NFKD"));
  const salt = enc.encode(("mnemonic" + passphrase).normalize("NFKD"));
  const key = await subtle().importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await subtle().deriveBits({ name: "PBKDF2", hash: "SHA-512", salt, iterations: SEED_ROUNDS }, key, 512));
}
