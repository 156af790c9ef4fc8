// SLIP-0010 key derivation for Ed25519 with WebCrypto's HMAC-SHA512: hardened children only
// (the curve allows no other). The same as Sources/Wallet/SLIP10.swift.
//
// Cairn's accounts from one recovery phrase (docs/PROTOCOL.md, "Recovery phrase"): account n
// is the key at m/44'/7369'/0'/0'/n', the same on every network (only the address prefix differs).

import { publicKeyFromSeed } from "./keys.js";
import { encodeAddress } from "./bech32m.js";
import { phraseToSeed, wordsToEntropy } from "./bip39.js";
import { subtle } from "./webcrypto.js";

export const HARDENED = 0x80000000;
export const COIN_TYPE = 7369;
const CURVE_KEY = new TextEncoder().encode("ed25519 seed");

async function hmacSha512(key, data) {
  const k = await subtle().importKey("raw", key, { name: "HMAC", hash: "SHA-512" }, false, ["sign"]);
  return new Uint8Array(await subtle().sign("HMAC", k, data));
}

const split = (i) => ({ key: i.slice(0, 32), chainCode: i.slice(32, 64) });

export async function masterNode(seed) {
  return split(await hmacSha512(CURVE_KEY, Uint8Array.from(seed)));
}

/** The hardened child `index` (given with or without the hardened bit). */
export async function childNode(parent, index) {
  const data = new Uint8Array(37);
  data.set(parent.key, 1);
  new DataView(data.buffer).setUint32(33, (index | HARDENED) >>> 0, false);
  return split(await hmacSha512(parent.chainCode, data));
}

/** Parses m/44'/7369'/0'/0'/0' (h or H also mark a hardened step) into indexes with the hardened bit. */
export function parsePath(path) {
  const parts = String(path).split("/");
  if (parts[0] !== "m") throw new Error(`'${path}' is not a derivation path such as m/44'/7369'/0'/0'/0'`);
  return parts.slice(1).map((p) => {
    const m = /^(\d+)(['hH])?$/.exec(p);
    if (!m) throw new Error(`'${path}' is not a derivation path such as m/44'/7369'/0'/0'/0'`);
    if (!m[2]) throw new Error(`'${path}': Ed25519 keys (SLIP-0010) derive only hardened children: mark every step with '`);
    const v = Number(m[1]);
    if (v >= HARDENED) throw new Error(`'${path}' is not a derivation path such as m/44'/7369'/0'/0'/0'`);
    return (v | HARDENED) >>> 0;
  });
}

export async function derivePath(seed, path) {
  let node = await masterNode(seed);
  for (const i of parsePath(path)) node = await childNode(node, i);
  return node;
}

export function accountPath(account) {
  if (!Number.isInteger(account) || account < 0 || account >= HARDENED) throw new Error(`account ${account} is not 0…2147483647`);
  return `m/44'/${COIN_TYPE}'/0'/0'/${account}'`;
}

/**
 * The keys of accounts `from` … `from + count - 1` of a phrase (checked first: a bad word or
 * checksum throws PhraseError): [{ account, path, seed, publicKey, address }].
 */
export async function phraseAccounts(words, list, network, { from = 0, count = 1, passphrase = "" } = {}) {
  await wordsToEntropy(words, list);
  const seed = await phraseToSeed(words, passphrase);
  const out = [];
  for (let account = from; account < from + count; account++) {
    const path = accountPath(account);
    const node = await derivePath(seed, path);
    const publicKey = await publicKeyFromSeed(node.key);
    out.push({ account, path, seed: node.key, publicKey, address: encodeAddress(publicKey, network) });
  }
  seed.fill(0);
  return out;
}
