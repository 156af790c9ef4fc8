// WebCrypto for the wallet's library (in the browser and in node ≥ 20 alike): the one place that finds
// crypto.subtle and says clearly when the page cannot have it (it needs https or localhost).

/** crypto.subtle, or an Error a person can act on. */
export function subtle() {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error("WebCrypto (crypto.subtle) is not available: it needs https or localhost");
  return s;
}

/** SHA-256 of the bytes. */
export async function sha256(bytes) {
  return new Uint8Array(await subtle().digest("SHA-256", Uint8Array.from(bytes)));
}
