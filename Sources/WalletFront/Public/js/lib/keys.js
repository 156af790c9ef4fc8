// Ed25519 with WebCrypto. A private key is kept as its 32-byte RFC 8032 seed
// (what the keystore file encrypts); WebCrypto imports Ed25519 private keys
// only as PKCS#8 or JWK, so the seed is wrapped in the fixed 16-byte PKCS#8
// prefix of docs/PROTOCOL.md ("Keystore file").

import { subtle } from "./webcrypto.js";

export const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

function b64urlDecode(s) {
  const std = s.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(std + "===".slice((std.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function seedToPkcs8(seed) {
  if (seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
  const out = new Uint8Array(48);
  out.set(PKCS8_PREFIX, 0);
  out.set(seed, 16);
  return out;
}

export function pkcs8ToSeed(pkcs8) {
  const b = new Uint8Array(pkcs8);
  if (b.length !== 48 || !PKCS8_PREFIX.every((v, i) => b[i] === v)) throw new Error("not an Ed25519 PKCS#8 private key");
  return b.slice(16);
}

/** Whether this environment's WebCrypto can do Ed25519 (older browsers cannot). */
export async function ed25519Supported() {
  try {
    await subtle().importKey("pkcs8", seedToPkcs8(new Uint8Array(32).fill(1)), { name: "Ed25519" }, false, ["sign"]);
    return true;
  } catch {
    return false;
  }
}

/** A fresh 32-byte seed from the platform's CSPRNG. */
export function generateSeed() {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}

/** Imports a seed as a non-extractable signing key. */
export async function importSigningKey(seed) {
  return subtle().importKey("pkcs8", seedToPkcs8(seed), { name: "Ed25519" }, false, ["sign"]);
}

/** The 32-byte public key of a seed. */
export async function publicKeyFromSeed(seed) {
  // Imported extractable only for this call, to read the public half ("x") of the JWK.
  const k = await subtle().importKey("pkcs8", seedToPkcs8(seed), { name: "Ed25519" }, true, ["sign"]);
  const jwk = await subtle().exportKey("jwk", k);
  const pub = b64urlDecode(jwk.x);
  if (pub.length !== 32) throw new Error("unexpected Ed25519 public key length");
  return pub;
}

/** A new key pair: { seed, publicKey }. */
export async function generateKeyPair() {
  const seed = generateSeed();
  return { seed, publicKey: await publicKeyFromSeed(seed) };
}

/** Ed25519 signature (64 bytes) of `message` by a CryptoKey or a 32-byte seed. */
export async function sign(keyOrSeed, message) {
  const key = keyOrSeed instanceof Uint8Array ? await importSigningKey(keyOrSeed) : keyOrSeed;
  return new Uint8Array(await subtle().sign({ name: "Ed25519" }, key, Uint8Array.from(message)));
}

export async function verify(publicKey, signature, message) {
  const k = await subtle().importKey("raw", Uint8Array.from(publicKey), { name: "Ed25519" }, false, ["verify"]);
  return subtle().verify({ name: "Ed25519" }, k, Uint8Array.from(signature), Uint8Array.from(message));
}
