// The address book: names and checked addresses in localStorage, per network (nothing secret). An entry
// fills the send form; the review names a known recipient.

import { el, setMessage } from "../ui/dom.js";
import { addContact, removeContact } from "./model.js";
import { ui } from "./ui.js";
import { state, LS_CONTACTS } from "./state.js";
import { closeReview, updatePreview } from "./send.js";

/** This network's entries (an unreadable list reads as empty). */
export function contacts() {
  if (!state.network) return [];
  try {
    const list = JSON.parse(localStorage.getItem(LS_CONTACTS + state.network) || "[]");
    return Array.isArray(list) ? list.filter((c) => c && typeof c.name === "string" && typeof c.address === "string") : [];
  } catch {
    return [];
  }
}

function saveContacts(list) {
  localStorage.setItem(LS_CONTACTS + state.network, JSON.stringify(list));
  renderContacts();
}

export function renderContacts() {
  const list = contacts();
  ui["contacts-list"].replaceChildren(...list.map((c) => el("option", { value: c.address, label: c.name })));
  ui.contacts.replaceChildren(...list.map((c) => {
    const pay = el("button", { type: "button", class: "link", "data-testid": "contact-pay" }, "Pay");
    pay.addEventListener("click", () => {
      ui["send-to"].value = c.address;
      closeReview();
      updatePreview();
      ui["send-amount"].focus?.();
    });
    const remove = el("button", { type: "button", class: "link", "data-testid": "contact-remove" }, "Remove");
    remove.addEventListener("click", () => saveContacts(removeContact(contacts(), c.address)));
    return el("li", { class: "contact", dataset: { address: c.address } },
      el("strong", { class: "contact-name" }, c.name), " ", el("code", { class: "hash small" }, c.address), " ", pay, " ", remove);
  }));
}

function onAddContact(ev) {
  ev.preventDefault();
  setMessage(ui["contact-error"]);
  if (!state.network) return setMessage(ui["contact-error"], "The node's network is not known yet.");
  try {
    saveContacts(addContact(contacts(), ui["contact-name"].value, ui["contact-address"].value, state.network));
    ui["contact-name"].value = "";
    ui["contact-address"].value = "";
  } catch (e) {
    setMessage(ui["contact-error"], e.message);
  }
}

export function wireContacts() {
  ui["contact-form"].addEventListener("submit", onAddContact);
  // An entry saved in another tab of this wallet appears here too.
  globalThis.addEventListener("storage", (e) => { if (e.key && e.key.startsWith(LS_CONTACTS)) renderContacts(); });
}
