// Canonical encodings of docs/PROTOCOL.md §1–2 and the signature hash of §5:
// CompactSize, transactions, txid = SHA256d displayed byte-reversed, sighash.
// Amounts are JavaScript numbers holding integer base units (lib/amount.js: every valid
// amount is ≤ MAX_MONEY = 2.1e15 < 2^53, so they are exact); the networks' parameters are lib/networks.js.

import { networkParams } from "./networks.js";
import { sha256 } from "./webcrypto.js";

export const SIGNATURE_SIZE = 64;
export const PUBLIC_KEY_SIZE = 32;
export const MAX_PAYLOAD = 100;
export const MAX_TX_SIZE = 1_000_000;

// ---------------------------------------------------------------------------
// Hex and base64

export function toHex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

export function fromHex(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Error("not an even-length hex string");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

/** Display hex (byte-reversed) ↔ internal bytes. */
export function hashFromDisplay(hex) {
  const b = fromHex(hex);
  if (b.length !== 32) throw new Error("a hash is 32 bytes (64 hex digits)");
  return b.reverse();
}

export function hashToDisplay(bytes) {
  return toHex(Uint8Array.from(bytes).reverse());
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 with padding. */
export function toBase64(bytes) {
  let out = "";
  const b = Uint8Array.from(bytes);
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < b.length ? B64[(n >> 6) & 63] : "=";
    out += i + 2 < b.length ? B64[n & 63] : "=";
  }
  return out;
}

/** Strict standard base64 (padding required, no whitespace); throws on anything else. */
export function fromBase64(text) {
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new Error("not base64");
  }
  const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const v = [0, 1, 2, 3].map((k) => (text[i + k] === "=" ? 0 : B64.indexOf(text[i + k])));
    const n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Byte writer / reader

export function compactSizeLength(n) {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

export class ByteWriter {
  constructor() { this.parts = []; this.length = 0; }
  raw(bytes) { const b = Uint8Array.from(bytes); this.parts.push(b); this.length += b.length; return this; }
  u8(v) { return this.raw([v & 255]); }
  u16(v) { return this.raw([v & 255, (v >>> 8) & 255]); }
  u32(v) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`u32 out of range: ${v}`);
    return this.raw([v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255]);
  }
  u64(v) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 must be a non-negative safe integer: ${v}`);
    const lo = v % 0x100000000;
    const hi = Math.floor(v / 0x100000000);
    this.u32(lo);
    return this.u32(hi);
  }
  compact(n) {
    if (n < 0xfd) return this.u8(n);
    if (n <= 0xffff) { this.u8(0xfd); return this.u16(n); }
    if (n <= 0xffffffff) { this.u8(0xfe); return this.u32(n); }
    this.u8(0xff); return this.u64(n);
  }
  varBytes(b) { this.compact(b.length); return this.raw(b); }
  bytes() {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

export class DecodeError extends Error {
  constructor(message) { super(message); this.name = "DecodeError"; }
}

export class ByteReader {
  constructor(bytes) { this.b = Uint8Array.from(bytes); this.pos = 0; }
  get remaining() { return this.b.length - this.pos; }
  take(n, what) {
    if (n > this.remaining) throw new DecodeError(`${what}: input ends early`);
    const out = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8(what) { return this.take(1, what)[0]; }
  u16(what) { const b = this.take(2, what); return b[0] | (b[1] << 8); }
  u32(what) { const b = this.take(4, what); return (b[0] | (b[1] << 8) | (b[2] << 16)) + b[3] * 0x1000000; }
  u64(what) {
    const lo = this.u32(what);
    const hi = this.u32(what);
    const v = hi * 0x100000000 + lo;
    if (!Number.isSafeInteger(v)) throw new DecodeError(`${what}: value too large`);
    return v;
  }
  compact(what) {
    const first = this.u8(what);
    if (first < 0xfd) return first;
    if (first === 0xfd) { const v = this.u16(what); if (v < 0xfd) throw new DecodeError(`${what}: non-minimal CompactSize`); return v; }
    if (first === 0xfe) { const v = this.u32(what); if (v <= 0xffff) throw new DecodeError(`${what}: non-minimal CompactSize`); return v; }
    const v = this.u64(what);
    if (v <= 0xffffffff) throw new DecodeError(`${what}: non-minimal CompactSize`);
    return v;
  }
  count(what, minItemSize) {
    const n = this.compact(what);
    if (n > Math.floor(this.remaining / minItemSize)) throw new DecodeError(`${what}: count ${n} cannot fit in the remaining input`);
    return n;
  }
  expectEnd() { if (this.remaining !== 0) throw new DecodeError(`${this.remaining} bytes left over`); }
}

// ---------------------------------------------------------------------------
// Transactions
//
// tx = { version: 1, inputs: [{ txid: "<display hex>", vout, payload: Uint8Array }],
//        outputs: [{ value, publicKey: Uint8Array(32) }] }

export const NULL_TXID = "0".repeat(64);

export function encodeTx(tx, { blankPayloads = false } = {}) {
  const w = new ByteWriter();
  w.u32(tx.version ?? 1);
  w.compact(tx.inputs.length);
  for (const input of tx.inputs) {
    w.raw(hashFromDisplay(input.txid));
    w.u32(input.vout);
    w.varBytes(blankPayloads ? [] : (input.payload ?? []));
  }
  w.compact(tx.outputs.length);
  for (const output of tx.outputs) {
    if (output.publicKey.length !== PUBLIC_KEY_SIZE) throw new RangeError("an output's public key is 32 bytes");
    w.u64(output.value);
    w.raw(output.publicKey);
  }
  return w.bytes();
}

export function decodeTx(bytes) {
  if (bytes.length > MAX_TX_SIZE) throw new DecodeError(`transaction of ${bytes.length} bytes is over the limit`);
  const r = new ByteReader(bytes);
  const version = r.u32("tx.version");
  const nIn = r.count("tx.inputs", 37);
  const inputs = [];
  for (let i = 0; i < nIn; i++) {
    const txid = hashToDisplay(r.take(32, "input.txid"));
    const vout = r.u32("input.index");
    const len = r.compact("input.payload");
    if (len > MAX_PAYLOAD) throw new DecodeError(`input.payload of ${len} bytes is over the limit`);
    inputs.push({ txid, vout, payload: r.take(len, "input.payload") });
  }
  const nOut = r.count("tx.outputs", 40);
  const outputs = [];
  for (let i = 0; i < nOut; i++) {
    const value = r.u64("output.value");
    outputs.push({ value, publicKey: r.take(32, "output.publicKey") });
  }
  r.expectEnd();
  return { version, inputs, outputs };
}

export function isCoinbaseTx(tx) {
  return tx.inputs.length === 1 && tx.inputs[0].txid === NULL_TXID && tx.inputs[0].vout === 0xffffffff;
}

/** Exact size of a signed transaction with `inputs` ordinary inputs and `outputs` outputs. */
export function signedTxSize(inputs, outputs) {
  return 4 + compactSizeLength(inputs) + inputs * (36 + compactSizeLength(SIGNATURE_SIZE) + SIGNATURE_SIZE)
    + compactSizeLength(outputs) + outputs * (8 + PUBLIC_KEY_SIZE);
}

// ---------------------------------------------------------------------------
// Hashes (lib/webcrypto.js's SHA-256)

/** SHA-256 twice: txids, block hashes and the signature hash. */
export async function sha256d(bytes) {
  return sha256(await sha256(bytes));
}

/** txid: SHA256d of the whole encoding, displayed byte-reversed. */
export async function txid(tx) {
  return hashToDisplay(await sha256d(encodeTx(tx)));
}

export const SIGHASH_TAG = new TextEncoder().encode("CAIRN/sighash/v1");

/** The preimage of the signature hash (PROTOCOL.md §5); `spent` = [{ value, publicKey }] per input. */
export function sighashPreimage(tx, spent, network) {
  const params = typeof network === "string" ? networkParams(network) : network;
  if (spent.length !== tx.inputs.length) throw new Error("one spent output per input");
  const w = new ByteWriter();
  w.raw(SIGHASH_TAG);
  w.raw(params.magic);
  w.raw(hashFromDisplay(params.genesisHash));
  w.raw(encodeTx(tx, { blankPayloads: true }));
  for (const o of spent) {
    w.u64(o.value);
    if (o.publicKey.length !== PUBLIC_KEY_SIZE) throw new RangeError("a spent output's public key is 32 bytes");
    w.raw(o.publicKey);
  }
  return w.bytes();
}

/** The 32-byte message every input signs. */
export async function sighash(tx, spent, network) {
  return sha256d(sighashPreimage(tx, spent, network));
}
