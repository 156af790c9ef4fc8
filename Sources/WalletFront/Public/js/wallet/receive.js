// Receiving: the account's address as text, a QR code and an explorer link, and copying it.

import { el } from "../ui/dom.js";
import { qrSVG } from "../lib/qr.js";
import { ui } from "./ui.js";
import { state } from "./state.js";

/** The receive address, its QR code and its explorer link. */
export function renderReceive(address) {
  ui.address.textContent = address;
  renderQR(address);
  ui["address-link"].href = `explorer.html#/address/${address}`;
}

/** The receive address as a QR code (drawn once per address). */
function renderQR(address) {
  const box = ui["address-qr"];
  if (box.dataset.address === address) return;
  box.dataset.address = address;
  box.replaceChildren();
  qrSVG(address, { label: `QR code of your address ${address}` }).then((svg) => {
    if (box.dataset.address === address) box.replaceChildren(svg);
  }).catch((e) => {
    if (box.dataset.address === address) box.replaceChildren(el("p", { class: "small muted" }, `No QR code: ${e.message}.`));
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
}
