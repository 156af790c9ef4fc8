// QR codes of addresses, drawn as SVG from Debian's qrcode-generator (node-qrcode-generator),
// which the wallet front serves as /vendor/qrcode.js from where the package installs it.
// It is a classic script defining the global `qrcode`; it is loaded once, on first use.
// The modules are drawn with DOM calls (no innerHTML: the page's CSP allows no inline markup).

import { loadVendorScript } from "../ui/vendor.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/** Loads /vendor/qrcode.js once; resolves to the `qrcode` global. */
export function loadQRCode(src = "vendor/qrcode.js") {
  return loadVendorScript(src, "qrcode", "QR code library");
}

/** The dark modules of `text` as a square matrix of booleans (error correction M, smallest version that fits). */
export function qrMatrix(factory, text) {
  const q = factory(0, "M");
  q.addData(text);
  q.make();
  const n = q.getModuleCount();
  const rows = [];
  for (let r = 0; r < n; r++) {
    const row = [];
    for (let c = 0; c < n; c++) row.push(q.isDark(r, c));
    rows.push(row);
  }
  return rows;
}

/** One SVG path (a unit square per dark module) for a matrix, with a quiet zone of `margin` modules. */
export function qrPath(matrix, margin = 4) {
  let d = "";
  matrix.forEach((row, r) => row.forEach((dark, c) => {
    if (dark) d += `M${c + margin} ${r + margin}h1v1h-1z`;
  }));
  return d;
}

/** An <svg> of `text`'s QR code, `px` pixels wide, labelled for screen readers. */
export async function qrSVG(text, { px = 184, margin = 4, label } = {}) {
  const factory = await loadQRCode();
  const matrix = qrMatrix(factory, text);
  const size = matrix.length + 2 * margin;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("width", String(px));
  svg.setAttribute("height", String(px));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label || `QR code of ${text}`);
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.classList.add("qr");
  const bg = document.createElementNS(SVG_NS, "rect");
  bg.setAttribute("width", String(size));
  bg.setAttribute("height", String(size));
  bg.setAttribute("fill", "#fff");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", qrPath(matrix, margin));
  path.setAttribute("fill", "#000");
  svg.append(bg, path);
  svg.dataset.text = text;
  return svg;
}
