// Receiving: the account's address as text, a QR code and an explorer link, copying it, and a
// payment request (a `cairn:` URI with an amount and a label, js/lib/payuri.js) in the same QR code.

import { el, show } from "../ui/dom.js";
import { qrSVG } from "../lib/qr.js";
import { paymentURI } from "../lib/payuri.js";
import { amountInput } from "./model.js";
import { ui } from "./ui.js";
import { state } from "./state.js";

/** The receive address, its QR code (or the payment request's) and its explorer link. */
export function renderReceive(address) {
  ui.address.textContent = address;
  renderRequest(address);
  ui["address-link"].href = `explorer.html#/address/${address}`;
}

/** What the QR code carries: the address alone, or a payment request when an amount or a label is given. */
function renderRequest(address) {
  const amountText = ui["request-amount"].value.trim(), label = ui["request-label"].value.trim();
  let amount = null, error = "";
  if (amountText) {
    const r = amountInput(amountText);
    if (r.error) error = r.error; else amount = r.value;
  }
  ui["request-error"].textContent = error;
  show(ui["request-error"], !!error);
  const requesting = !error && (amount !== null || !!label);
  const content = requesting ? paymentURI({ address, amount, label }) : address;
  ui["request-uri"].textContent = requesting ? content : "";
  renderQR(content, requesting ? `QR code of a payment request to ${address}` : `QR code of your address ${address}`);
}

/** A QR code of `content` (drawn once per content). */
function renderQR(content, label) {
  const box = ui["address-qr"];
  if (box.dataset.content === content) return;
  box.dataset.content = content;
  box.replaceChildren();
  qrSVG(content, { label }).then((svg) => {
    if (box.dataset.content === content) box.replaceChildren(svg);
  }).catch((e) => {
    if (box.dataset.content === content) box.replaceChildren(el("p", { class: "small muted" }, `No QR code: ${e.message}.`));
  });
}

async function onCopy() {
  const a = state.current;
  if (!a) return;
  try {
    await navigator.clipboard.writeText(a.address);
    ui["copy-status"].textContent = "Copied.";
  } catch {
    const range = document.createRange();
    range.selectNodeContents(ui.address);
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    ui["copy-status"].textContent = ok ? "Copied." : "Selected: press Ctrl+C (⌘C) to copy.";
  }
  setTimeout(() => { if (ui["copy-status"].textContent === "Copied.") ui["copy-status"].textContent = ""; }, 4000);
}

export function wireReceive() {
  ui["copy-address"].addEventListener("click", onCopy);
  for (const id of ["request-amount", "request-label"]) {
    ui[id].addEventListener("input", () => { if (state.current) renderRequest(state.current.address); });
  }
}
