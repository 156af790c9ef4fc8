// Small DOM helpers (no innerHTML with data: text goes in as text nodes).

export const $ = (id) => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing element #${id}`);
  return e;
};

/** el("a", { href, class: "x", dataset: { txid } }, "text", child…) */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function show(e, visible = true) {
  e.hidden = !visible;
}

/** Shows a message in an error element (hidden when empty). Accepts text or nodes. */
export function setMessage(e, ...content) {
  e.replaceChildren(...content.filter((c) => c !== undefined && c !== null && c !== ""));
  e.hidden = e.childNodes.length === 0;
}

export function shortHash(h, head = 10, tail = 6) {
  return h.length > head + tail + 1 ? `${h.slice(0, head)}…${h.slice(-tail)}` : h;
}

export function txLink(txid, text) {
  return el("a", { href: `explorer.html#/tx/${txid}`, class: "mono hash", title: txid }, text ?? shortHash(txid, 12, 8));
}

export function addressLink(address, text) {
  return el("a", { href: `explorer.html#/address/${address}`, class: "mono hash", title: address }, text ?? shortHash(address, 12, 6));
}
