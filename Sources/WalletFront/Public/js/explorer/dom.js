// Small DOM helpers (CSP-safe: no innerHTML with data, no inline styles or handlers).

const SVG_NS = "http://www.w3.org/2000/svg";

/** h("a", {href, class, dataset: {...}, testid, text, on: {click}}, ...children) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

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
