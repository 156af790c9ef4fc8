// Payment requests as `cairn:` URIs, in BIP-21's shape (bitcoin:<address>?amount=<coins>&label=<text>):
//   cairn:rcrn1q…?amount=1.5&label=Coffee%20%26%20cake
// `amount` is in CRN with at most 8 decimals and no trailing zeros; `label` (and `message`) are
// percent-encoded UTF-8. A parameter named `req-…` that we do not know makes the request invalid, as
// BIP-21 says; other unknown parameters are ignored. Pure: no DOM. Tested by payuri.test.mjs.

import { parseAmount, plainAmount } from "./amount.js";

export const SCHEME = "cairn";

/** The request's URI; just `cairn:<address>` when there is neither amount nor label. */
export function paymentURI({ address, amount = null, label = "", message = "" }) {
  if (!address) throw new Error("a payment request needs an address");
  const q = [];
  if (amount !== null && amount !== undefined) {
    if (!(Number.isSafeInteger(amount) && amount > 0)) throw new Error("the amount must be a positive number of base units");
    q.push(`amount=${plainAmount(amount)}`);
  }
  if (label) q.push(`label=${encodeURIComponent(label)}`);
  if (message) q.push(`message=${encodeURIComponent(message)}`);
  return `${SCHEME}:${address}${q.length ? "?" + q.join("&") : ""}`;
}

/** True when the text looks like a payment request (so a pasted address field can be read as one). */
export function isPaymentURI(text) {
  return /^cairn:/i.test(String(text).trim());
}

/** `cairn:` URI → { address, amount (base units or null), label, message }; throws with a message a person can act on. */
export function parsePaymentURI(text) {
  const s = String(text).trim();
  if (!isPaymentURI(s)) throw new Error("not a cairn: payment request");
  const rest = s.slice(SCHEME.length + 1).replace(/^\/\//, "");
  const [address, query = ""] = rest.split("?", 2);
  if (!address) throw new Error("the payment request names no address");
  const out = { address, amount: null, label: "", message: "" };
  for (const part of query.split("&").filter(Boolean)) {
    const eq = part.indexOf("=");
    const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    let value;
    try { value = decodeURIComponent((eq < 0 ? "" : part.slice(eq + 1)).replace(/\+/g, " ")); } catch { throw new Error(`the payment request's ${key} is not valid percent-encoding`); }
    if (key === "amount") {
      const units = parseAmount(value);
      if (units === null || units <= 0) throw new Error(`the payment request's amount '${value.slice(0, 40)}' is not a positive amount in CRN with at most 8 decimals`);
      out.amount = units;
    } else if (key === "label") out.label = value;
    else if (key === "message") out.message = value;
    else if (key.startsWith("req-")) throw new Error(`the payment request needs '${key}', which this wallet does not understand`);
  }
  return out;
}
