// bech32 (BIP-173) and bech32m (BIP-350), and Cairn addresses (docs/PROTOCOL.md §8).
// A line-by-line counterpart of Sources/ChainCore/Address/{Bech32,Address}.swift:
// the same errors, the same codes, the same strings out.

import { NETWORKS } from "./networks.js";

export const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const REVERSE = new Int8Array(128).fill(-1);
for (let i = 0; i < CHARSET.length; i++) REVERSE[CHARSET.charCodeAt(i)] = i;

export const BECH32 = "bech32";
export const BECH32M = "bech32m";
const CONST = { [BECH32]: 1, [BECH32M]: 0x2bc830a3 };

/** A bech32 decoding error; `kind` names the case (as Swift's Bech32.Error). */
export class Bech32Error extends Error {
  constructor(kind, message, extra = {}) {
    super(message);
    this.name = "Bech32Error";
    this.kind = kind;
    Object.assign(this, extra);
  }
}

function polymod(values) {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = (((chk & 0x1ffffff) << 5) ^ v) >>> 0;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk = (chk ^ gen[i]) >>> 0;
  }
  return chk >>> 0;
}

function expandPrefix(hrp) {
  const out = [];
  for (const c of hrp) out.push(c >> 5);
  out.push(0);
  for (const c of hrp) out.push(c & 31);
  return out;
}

function asciiBytes(s) {
  // UTF-8 bytes (so a non-ASCII character counts as its bytes, as in Swift's `utf8`).
  return Array.from(new TextEncoder().encode(s));
}

/** Encodes 5-bit values under a (lower-cased) prefix. */
export function encode(prefix, data, variant = BECH32M) {
  const hrp = asciiBytes(prefix.toLowerCase());
  if (hrp.length === 0) throw new Bech32Error("emptyPrefix", "empty human-readable prefix");
  if (!hrp.every((c) => c >= 33 && c <= 126)) throw new Bech32Error("prefixCharacterOutOfRange", "prefix character outside ASCII 33-126");
  if (!data.every((v) => Number.isInteger(v) && v >= 0 && v < 32)) throw new Bech32Error("invalidFiveBitValue", "data value outside 0-31");
  const mod = (polymod([...expandPrefix(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ CONST[variant]) >>> 0;
  let out = String.fromCharCode(...hrp) + "1";
  for (const v of data) out += CHARSET[v];
  for (let i = 0; i < 6; i++) out += CHARSET[(mod >>> (5 * (5 - i))) & 31];
  return out;
}

/** Decodes a string: { prefix, data (5-bit values, checksum removed), variant }. */
export function decode(string, limit = 90) {
  const bytes = asciiBytes(string);
  if (bytes.length > limit) {
    throw new Bech32Error("tooLong", `string is ${bytes.length} characters long; at most ${limit} are allowed`, { length: bytes.length, limit });
  }
  const inRange = (c) => c >= 33 && c <= 126;
  if (!bytes.every(inRange)) {
    const sep = bytes.lastIndexOf(0x31);
    if (sep >= 0 && bytes.slice(0, sep).every(inRange)) {
      const bad = bytes.slice(sep + 1).find((c) => !inRange(c));
      if (bad !== undefined) throw new Bech32Error("invalidDataCharacter", `'${String.fromCharCode(bad)}' is not a bech32 data character`, { character: String.fromCharCode(bad) });
    }
    throw new Bech32Error("prefixCharacterOutOfRange", "prefix character outside ASCII 33-126");
  }
  const hasLower = bytes.some((c) => c >= 97 && c <= 122);
  const hasUpper = bytes.some((c) => c >= 65 && c <= 90);
  if (hasLower && hasUpper) throw new Bech32Error("mixedCase", "string mixes upper and lower case");
  const lower = bytes.map((c) => (c >= 65 && c <= 90 ? c + 32 : c));
  const sep = lower.lastIndexOf(0x31);
  if (sep < 0) throw new Bech32Error("noSeparator", "no '1' separator");
  if (sep === 0) throw new Bech32Error("emptyPrefix", "empty human-readable prefix");
  const hrp = lower.slice(0, sep);
  const data = [];
  for (const c of lower.slice(sep + 1)) {
    const v = REVERSE[c];
    if (v < 0) throw new Bech32Error("invalidDataCharacter", `'${String.fromCharCode(c)}' is not a bech32 data character`, { character: String.fromCharCode(c) });
    data.push(v);
  }
  if (data.length < 6) throw new Bech32Error("checksumTooShort", "data part is shorter than the 6-character checksum");
  const mod = polymod([...expandPrefix(hrp), ...data]);
  let variant;
  if (mod === CONST[BECH32]) variant = BECH32;
  else if (mod === CONST[BECH32M]) variant = BECH32M;
  else throw new Bech32Error("invalidChecksum", "checksum does not match");
  return { prefix: String.fromCharCode(...hrp), data: data.slice(0, -6), variant };
}

/** Regroups bits (8→5 with padding when encoding; 5→8 without, where leftover bits must be fewer than `from` and zero). */
export function convertBits(data, from, to, pad) {
  let acc = 0;
  let bits = 0;
  const out = [];
  const maxv = (1 << to) - 1;
  for (const value of data) {
    if (value < 0 || value >> from !== 0) throw new Bech32Error("invalidFiveBitValue", "data value outside 0-31");
    acc = ((acc << from) | value) & 0xffffff; // only the low bits are ever read
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    throw new Bech32Error("invalidPadding", "invalid padding in the data part");
  }
  return out;
}

// ---------------------------------------------------------------------------
// Cairn addresses

/** Each network's address prefix ({main: "crn", testnet: "tcrn", regtest: "rcrn"}), from lib/networks.js. */
export const ADDRESS_PREFIXES = Object.freeze(Object.fromEntries(Object.values(NETWORKS).map((n) => [n.name, n.prefix])));
export const ADDRESS_VERSION = 0;

/** Why an address was refused: `code` is the API's code (address-bad-checksum, …). */
export class AddressError extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.name = "AddressError";
    this.code = code;
    Object.assign(this, extra);
  }
}

/** The bech32m address of a 32-byte Ed25519 public key on `network`. */
export function encodeAddress(publicKey, network) {
  const prefix = ADDRESS_PREFIXES[network];
  if (!prefix) throw new Error(`unknown network '${network}'`);
  const key = Array.from(publicKey);
  if (key.length !== 32) throw new Error("an address needs a 32-byte public key");
  return encode(prefix, [ADDRESS_VERSION, ...convertBits(key, 8, 5, true)], BECH32M);
}

/** Parses an address that must belong to `network`; returns the 32-byte public key (Uint8Array). */
export function decodeAddress(text, network) {
  const expected = ADDRESS_PREFIXES[network];
  if (!expected) throw new Error(`unknown network '${network}'`);
  let d;
  try {
    d = decode(String(text).trim());
  } catch (e) {
    if (e instanceof Bech32Error && e.kind === "invalidChecksum") {
      throw new AddressError("address-bad-checksum", "address checksum is wrong: check for a typing mistake");
    }
    throw new AddressError("address-malformed", `not a bech32m address: ${e.message}`);
  }
  if (d.prefix !== expected) {
    const other = Object.keys(ADDRESS_PREFIXES).find((n) => ADDRESS_PREFIXES[n] === d.prefix);
    if (other) {
      throw new AddressError("address-wrong-network",
        `address is for ${other} (${d.prefix}1…), this node runs ${network} (${expected}1…)`, { found: other, expected: network });
    }
    throw new AddressError("address-unknown-prefix", `'${d.prefix}' is not a Cairn address prefix`);
  }
  if (d.variant !== BECH32M) throw new AddressError("address-bad-checksum", "address checksum is wrong: check for a typing mistake");
  if (d.data.length === 0) throw new AddressError("address-bad-length", "address holds 0 bytes; a Cairn address holds a 32-byte public key", { bytes: 0 });
  if (d.data[0] !== ADDRESS_VERSION) throw new AddressError("address-bad-version", `address version ${d.data[0]} is not supported`);
  let key;
  try {
    key = convertBits(d.data.slice(1), 5, 8, false);
  } catch {
    const n = Math.floor(((d.data.length - 1) * 5) / 8);
    throw new AddressError("address-bad-length", `address holds ${n} bytes; a Cairn address holds a 32-byte public key`, { bytes: n });
  }
  if (key.length !== 32) {
    throw new AddressError("address-bad-length", `address holds ${key.length} bytes; a Cairn address holds a 32-byte public key`, { bytes: key.length });
  }
  return Uint8Array.from(key);
}
