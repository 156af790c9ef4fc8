// The account's keys: the list (name, id, limits, created, revoked), create, rotate (a new secret
// shown once), revoke (after a confirmation), and per key the ready-made curl and fetch snippets.
// The whole key of one created or rotated while the page is open is kept in memory only, so that
// its snippets work as they are; otherwise they say YOUR_SECRET.

import { routes } from "../routes.js";
import { $, h, fill, show } from "../ui/dom.js";
import { curlSnippet, fetchSnippet, keyText } from "./snippets.js";
import { copyButton } from "./copy.js";

export class KeysView {
  constructor({ edge, getSession, onChange, onError }) {
    this.edge = edge;
    this.getSession = getSession;
    this.onChange = onChange;
    this.onError = onError;
    this.keys = [];
    /** id → the whole key, for keys created or rotated on this page. */
    this.secrets = new Map();
    $("create-key-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.act(async () => {
        const created = await routes.portalCreateKey(this.getSession(), $("key-name").value.trim());
        $("key-name").value = "";
        this.shown(created);
      });
    });
    $("copy-secret").replaceWith(copyButton(() => $("new-secret-key").textContent, { testid: "copy-secret" }));
  }

  /** Runs a change, then reloads the list; errors go to the page. */
  async act(change) {
    try {
      await change();
      await this.load();
    } catch (err) {
      this.onError(err);
    }
  }

  /** A key just created or rotated: its secret shown once. */
  shown(created) {
    this.secrets.set(created.info.id, created.key);
    $("new-secret-key").textContent = created.key;
    show($("new-secret"), true);
  }

  async load() {
    this.keys = await routes.portalKeys(this.getSession());
    this.render();
    this.onChange(this.keys);
  }

  render() {
    show($("keys-empty"), this.keys.length === 0);
    fill($("keys"), this.keys.slice().reverse().map((k) => this.card(k)));
  }

  card(k) {
    const revoked = k.revoked != null;
    const key = keyText(k.id, this.secrets.get(k.id));
    const limits = [k.rps ? `${k.rps} requests a second` : "no per-second limit", k.daily ? `${k.daily.toLocaleString("en")} a day` : "no daily quota"];
    const actions = revoked ? [] : [
      h("button", { type: "button", testid: "rotate-key", text: "Rotate secret",
        on: { click: () => this.act(async () => this.shown(await routes.portalRotateKey(this.getSession(), k.id))) } }),
      h("button", { type: "button", testid: "revoke-key", text: "Revoke", on: { click: (e) => this.confirmRevoke(e.currentTarget, k) } }),
    ];
    return h("article", { class: ["key", revoked && "revoked"], testid: "key", dataset: { id: k.id, name: k.name, state: revoked ? "revoked" : "active" } },
      h("div", { class: "key-head" },
        h("h3", { text: k.name }),
        h("code", { class: "mono", testid: "key-id", text: k.id }),
        revoked ? h("span", { class: "badge bad", text: `revoked ${new Date(k.revoked * 1000).toLocaleString()}` }) : h("span", { class: "badge ok", text: "active" })),
      h("p", { class: "muted small", text: `${limits.join(", ")} · created ${new Date(k.created * 1000).toLocaleString()}` }),
      h("div", { class: "key-actions" }, actions),
      revoked ? null : [
        this.snippet("curl", curlSnippet(this.edge, key), "snippet-curl"),
        this.snippet("JavaScript (fetch, in an async function or a module)", fetchSnippet(this.edge, key), "snippet-fetch"),
      ]);
  }

  snippet(title, text, testid) {
    const pre = h("pre", { testid }, h("code", { text }));
    return h("div", { class: "snippet" },
      h("div", { class: "snippet-head" }, h("span", { class: "muted small", text: title }), copyButton(() => text, { testid: `${testid}-copy` })),
      pre);
  }

  /** "Revoke" becomes "Really revoke?" for a moment: a second click revokes. */
  confirmRevoke(button, k) {
    const confirm = h("button", { type: "button", class: "primary", testid: "revoke-confirm", text: `Really revoke ${k.name}?`,
      on: { click: () => this.act(async () => { await routes.portalRevokeKey(this.getSession(), k.id); this.secrets.delete(k.id); }) } });
    button.replaceWith(confirm);
    setTimeout(() => { if (confirm.isConnected) confirm.replaceWith(button); }, 8000);
  }
}
