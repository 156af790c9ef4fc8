// The one set of DOM helpers of both pages (CSP-safe: no innerHTML with data, no inline styles or handlers).
//
//   h("a", {href, class, dataset: {...}, testid, text, on: {click}}, ...children)   (el is the same function)
//   $("id") → the element (throws when the page lacks it), show(el, visible), setMessage(el, ...content)

import { shortHash } from "./format.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/** The element with this id; a missing one is a bug of the page, so it throws. */
export const $ = (id) => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing element #${id}`);
  return e;
};

/** h("a", {href, class, dataset: {...}, testid, text, on: {click}}, ...children) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** The wallet's name for h(). */
export const el = h;

/** An SVG element built with createElementNS. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

function apply(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") el.setAttribute("class", Array.isArray(v) ? v.filter(Boolean).join(" ") : v);
    else if (k === "text") el.textContent = v;
    else if (k === "testid") el.setAttribute("data-testid", v);
    else if (k === "dataset") for (const [dk, dv] of Object.entries(v)) { if (dv != null) el.dataset[dk] = dv; }
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function show(e, visible = true) {
  e.hidden = !visible;
}

/** Shows a message in an element (hidden when empty). Accepts text or nodes. */
export function setMessage(e, ...content) {
  e.replaceChildren(...content.filter((c) => c !== undefined && c !== null && c !== ""));
  e.hidden = e.childNodes.length === 0;
}

/** A definition list from [[term, value, testid?, dataset?], …] (value: node or text; testid and dataset go on the <dd>). */
export function fields(rows, attrs = {}) {
  return h("dl", { class: "fields", ...attrs }, rows.filter(Boolean).map(([k, v, testid, dataset]) => [
    h("dt", { text: k }),
    h("dd", testid ? { testid, dataset } : {}, v),
  ]));
}

/** A monospace hash that may break anywhere, optionally a link. */
export function hashText(hash, href) {
  return href ? h("a", { class: "mono hash", href }, hash) : h("span", { class: "mono hash" }, hash);
}

/** A status line in a panel ("Loading…", an error). */
export function notice(text, kind = "info") {
  return h("p", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** A panel with a heading. */
export function panel(title, attrs = {}, ...children) {
  return h("section", { class: "panel", ...attrs }, title ? h("h2", { text: title }) : null, ...children);
}

/** A link from the wallet to a transaction's explorer page. */
export function txLink(txid, text) {
  return h("a", { href: `explorer.html#/tx/${txid}`, class: "mono hash", title: txid }, text ?? shortHash(txid, 12, 8));
}

/** A link from the wallet to an address's explorer page. */
export function addressLink(address, text) {
  return h("a", { href: `explorer.html#/address/${address}`, class: "mono hash", title: address }, text ?? shortHash(address, 12, 6));
}
