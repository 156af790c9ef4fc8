// The wallet page's elements, looked up once by id (index.html): ui["send-to"], ui.address, …

import { $, el } from "../ui/dom.js";

const IDS = ["boot-notice", "wallet-root", "secure-context-warning", "secure-context-text", "connection-status",
  "network-badge", "offline-banner", "offline-text", "offline-retry", "show-create", "show-import", "account-picker",
  "account-select", "lock-state", "no-accounts", "auth-panel", "auth-title", "auth-form", "name-field", "account-name",
  "password", "confirm-field", "password-confirm", "auth-hint", "auth-error", "create-account", "unlock", "auth-cancel",
  "auth-busy", "auth-username", "import-panel", "import-form", "import-file", "import-name", "import-password", "import-error",
  "import-submit", "import-cancel", "import-busy", "account-view", "export-keystore", "lock", "address", "copy-address",
  "copy-status", "address-link", "address-qr", "faucet-row", "faucet", "faucet-status", "balance-confirmed", "balance-pending",
  "balance-note", "send-form", "send-locked", "send-to", "send-to-error", "send-amount", "send-max", "send-fee",
  "fee-picks", "history-more", "history-csv", "contacts", "contacts-list", "contact-form", "contact-name", "contact-address",
  "contact-error", "send-preview", "send-review", "review-warning", "review-to", "review-to-name", "review-amount", "review-fee",
  "review-fee-detail", "review-total", "review-change", "review-coins", "send-confirm", "send-back", "send-error", "send-submit",
  "send-result", "history", "history-empty", "autolock", "edge-info",
  // payment requests (receive.js, send.js)
  "request", "request-amount", "request-label", "request-error", "request-uri", "send-request", "backup-reminder",
  // the recovery phrase (phrase.js)
  "show-restore", "phrase-words-field", "phrase-words", "phrase-panel", "phrase-show", "phrase-list", "phrase-written",
  "phrase-cancel", "phrase-check", "phrase-asked", "phrase-error", "phrase-confirm", "phrase-back", "phrase-busy",
  "restore-panel", "restore-form", "restore-phrase", "restore-count", "restore-name", "restore-password",
  "restore-password-confirm", "restore-error", "restore-submit", "restore-cancel", "restore-busy"];

export const ui = {};

/** Looks every element up (a missing one throws: the page and this list disagree). */
export function bindUI() {
  for (const id of IDS) ui[id] = $(id);
}

/** First letter upper-cased (library messages are lower-case, as the CLI's). */
export const cap = (t) => (t ? t[0].toUpperCase() + t.slice(1) : t);

/** Saves text as a file download (a blob link clicked once, revoked a minute later). */
export function download(text, type, filename) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = el("a", { href: url, download: filename, class: "visually-hidden" }, "download");
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
