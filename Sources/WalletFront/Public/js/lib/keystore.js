// The keystore file of docs/PROTOCOL.md ("Keystore file"), the same format
// `cairn wallet new` writes (Sources/CairnCLI/Keystore.swift):
// PBKDF2-HMAC-SHA256(password, 16-byte salt, 600,000 rounds) → AES-256-GCM key;
// the 32-byte seed sealed with a 12-byte nonce, no AAD, ciphertext ‖ 16-byte tag.

import { encodeAddress, decodeAddress } from "./bech32m.js";
import { toHex, fromHex, toBase64, fromBase64 } from "./encoding.js";
import { publicKeyFromSeed } from "./keys.js";
import { subtle } from "./webcrypto.js";

export const KEYSTORE_VERSION = 1;
export const ITERATIONS = 600_000;
export const MAX_ITERATIONS = 10_000_000;
export const KDF_NAME = "pbkdf2-sha256";
export const CIPHER_NAME = "aes-256-gcm";
const NETWORK_NAMES = ["main", "testnet", "regtest"];

/** kind: "wrong-password" | "damaged" | "unsupported". */
export class KeystoreError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = "KeystoreError";
    this.kind = kind;
  }
}

async function wrappingKey(password, salt, iterations) {
  const pw = await subtle().importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveKey"]);
  return subtle().deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, pw,
    { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

/** Encrypts a 32-byte seed into a keystore object (JSON-ready). */
export async function seal(seed, password, network, { iterations = ITERATIONS, publicKey } = {}) {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new Error("the key to seal is a 32-byte seed");
  if (typeof password !== "string" || password.length === 0) throw new Error("an empty password is not allowed");
  if (!NETWORK_NAMES.includes(network)) throw new Error(`unknown network '${network}'`);
  const pub = publicKey ?? await publicKeyFromSeed(seed);
  const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const wrap = await wrappingKey(password, salt, iterations);
  const ct = new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv: nonce }, wrap, seed));
  return {
    version: KEYSTORE_VERSION,
    network,
    address: encodeAddress(pub, network),
    public_key: toHex(pub),
    kdf: { name: KDF_NAME, iterations, salt: toBase64(salt) },
    cipher: { name: CIPHER_NAME, nonce: toBase64(nonce), ciphertext: toBase64(ct) },
  };
}

/** The file's text as written (pretty JSON with sorted keys, like cairn's, plus a newline). */
export function serialize(file) {
  const sorted = (v) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]))
    : v);
  return JSON.stringify(sorted(file), null, 2) + "\n";
}

const damaged = (why) => new KeystoreError("damaged", `the keystore file is damaged: ${why}`);

/**
 * Checks everything but the password (as Keystore.check in Swift) and returns the
 * parsed pieces. `input` is the file's text or an already parsed object.
 */
export function check(input) {
  let file = input;
  if (typeof input === "string") {
    try { file = JSON.parse(input); } catch (e) { throw damaged(`not JSON (${e.message})`); }
  }
  if (!file || typeof file !== "object" || Array.isArray(file)) throw damaged("not a JSON object");
  const need = (obj, key, type, path = key) => {
    if (!obj || typeof obj !== "object" || !(key in obj)) throw damaged(`missing ${path}`);
    if (typeof obj[key] !== type) throw damaged(`wrong type at ${path}`);
    return obj[key];
  };
  const version = need(file, "version", "number");
  const network = need(file, "network", "string");
  const address = need(file, "address", "string");
  const publicKeyHex = need(file, "public_key", "string");
  const kdf = need(file, "kdf", "object");
  const cipher = need(file, "cipher", "object");
  const kdfName = need(kdf, "name", "string", "kdf.name");
  const iterations = need(kdf, "iterations", "number", "kdf.iterations");
  const saltB64 = need(kdf, "salt", "string", "kdf.salt");
  const cipherName = need(cipher, "name", "string", "cipher.name");
  const nonceB64 = need(cipher, "nonce", "string", "cipher.nonce");
  const ctB64 = need(cipher, "ciphertext", "string", "cipher.ciphertext");

  if (version !== KEYSTORE_VERSION) throw new KeystoreError("unsupported", `keystore version ${version} is not supported (this wallet reads version ${KEYSTORE_VERSION})`);
  if (!NETWORK_NAMES.includes(network)) throw damaged(`unknown network '${network}'`);
  if (kdfName !== KDF_NAME) throw new KeystoreError("unsupported", `key derivation '${kdfName}' is not supported (expected ${KDF_NAME})`);
  if (cipherName !== CIPHER_NAME) throw new KeystoreError("unsupported", `cipher '${cipherName}' is not supported (expected ${CIPHER_NAME})`);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) throw damaged(`kdf.iterations ${iterations} is out of range`);
  let publicKey;
  try { publicKey = fromHex(publicKeyHex); } catch { throw damaged("public_key is not 32 bytes of hex"); }
  if (publicKey.length !== 32) throw damaged("public_key is not 32 bytes of hex");
  let addrKey;
  try { addrKey = decodeAddress(address, network); } catch (e) { throw damaged(`address: ${e.message}`); }
  if (toHex(addrKey) !== toHex(publicKey)) throw damaged("address and public_key do not match");
  let salt, nonce, ct;
  try { salt = fromBase64(saltB64); } catch { salt = null; }
  if (!salt || salt.length < 8) throw damaged("kdf.salt is not base64 of at least 8 bytes");
  try { nonce = fromBase64(nonceB64); } catch { nonce = null; }
  if (!nonce || nonce.length !== 12) throw damaged("cipher.nonce is not base64 of 12 bytes");
  try { ct = fromBase64(ctB64); } catch { ct = null; }
  if (!ct || ct.length !== 48) throw damaged("cipher.ciphertext is not base64 of 48 bytes (32-byte key + 16-byte tag)");
  return { file, version, network, address: address.trim().toLowerCase(), publicKey, iterations, salt, nonce, ciphertext: ct };
}

/** Decrypts: { seed, publicKey, address, network, file }. A wrong password → KeystoreError("wrong-password"). */
export async function open(input, password) {
  const k = check(input);
  let plain;
  try {
    const wrap = await wrappingKey(password, k.salt, k.iterations);
    plain = new Uint8Array(await subtle().decrypt({ name: "AES-GCM", iv: k.nonce }, wrap, k.ciphertext));
  } catch {
    throw new KeystoreError("wrong-password", "wrong password: the encrypted key could not be opened with it (AES-GCM authentication failed)");
  }
  if (plain.length !== 32) throw damaged("the decrypted key is not 32 bytes");
  let pub;
  try { pub = await publicKeyFromSeed(plain); } catch { throw damaged("the decrypted key is not an Ed25519 key"); }
  if (toHex(pub) !== toHex(k.publicKey)) throw damaged("the decrypted key does not match public_key");
  return { seed: plain, publicKey: pub, address: encodeAddress(pub, k.network), network: k.network, file: k.file };
}
