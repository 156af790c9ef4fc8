// Sending: the form (recipient, amount, fee rate), the live preview, the review step (nothing is signed until
// it is confirmed), then signing and posting, and the result. The fee presets are fees.js; a fee bump or
// cancel (bump.js) plans a replacement and shows it in the same review step.

import { ApiError } from "../api.js";
import { routes } from "../routes.js";
import { decodeAddress, encodeAddress } from "../lib/bech32m.js";
import { signedTxSize } from "../lib/encoding.js";
import { plan, signPlan, SendError, POLICY, feeFor } from "../lib/coinselect.js";
import { $, el, show, setMessage, addressLink, txLink } from "../ui/dom.js";
import { formatCoins, plainAmount } from "../lib/amount.js";
import { addressMessage, amountInput, contactFor } from "./model.js";
import { confirmations } from "../lib/esplora.js";
import { ui, cap } from "./ui.js";
import { state, touch } from "./state.js";
import { refresh, scheduleRefresh } from "./refresh.js";
import { contacts } from "./contacts.js";
import { isPaymentURI, parsePaymentURI } from "../lib/payuri.js";

function readRecipient() {
  const text = ui["send-to"].value.trim();
  if (!text) return { error: "Enter the address to pay." };
  if (isPaymentURI(text)) {
    try { parsePaymentURI(text); } catch (e) { return { error: `${cap(e.message)}.` }; }
  }
  try {
    return { key: decodeAddress(text, state.network), address: encodeAddress(decodeAddress(text, state.network), state.network) };
  } catch (e) {
    return { error: addressMessage(e), code: e.code };
  }
}

function readAmount() {
  return amountInput(ui["send-amount"].value);
}

export function readFeeRate() {
  const text = String(ui["send-fee"].value).trim();
  const r = Number(text);
  if (!text || !Number.isFinite(r)) return { error: "Enter a fee rate in units per byte (e.g. 2)." };
  if (r < POLICY.minFeeRate) return { error: `The fee rate must be at least ${POLICY.minFeeRate} unit per byte: the node refuses less (min-relay-fee-not-met).` };
  if (r > 100_000) return { error: "That fee rate is far too high (over 100,000 units per byte)." };
  return { value: r };
}

function sendErrorText(e) {
  if (e instanceof SendError) {
    if ((e.kind === "insufficient-funds" || e.kind === "no-coins") && state.data?.partition.immature.length) {
      const sum = state.data.partition.immature.reduce((s, c) => s + c.value, 0);
      return `${cap(e.message)} (another ${formatCoins(sum)} CRN is mining reward that is not mature yet).`;
    }
    return cap(e.message);
  }
  return cap(e.message);
}

/** The fee, coins and change the form would give, under the form (nothing is signed). */
export function updatePreview() {
  const p = ui["send-preview"];
  const d = state.data;
  if (!d || !state.current || !state.unlocked) { p.textContent = ""; return; }
  const r = readRecipient();
  const amt = readAmount();
  const fee = readFeeRate();
  ui["send-to-error"].textContent = ui["send-to"].value.trim() && r.error ? r.error : "";
  show(ui["send-to-error"], !!ui["send-to-error"].textContent);
  if (amt.error || fee.error) { p.textContent = fee.error && ui["send-fee"].value ? fee.error : ""; return; }
  try {
    const pl = plan({ coins: d.partition.spendable, recipient: r.key ?? new Uint8Array(32), amount: amt.value, change: new Uint8Array(32), feeRate: fee.value });
    p.textContent = `Fee ${formatCoins(pl.fee)} CRN (${pl.size} bytes × ${fee.value}), ${pl.inputs.length} coin${pl.inputs.length === 1 ? "" : "s"}, `
      + (pl.change ? `change ${formatCoins(pl.change)} CRN back to you. ` : "no change. ")
      + `Total ${formatCoins(amt.value + pl.fee)} CRN.`;
  } catch (e) {
    p.textContent = sendErrorText(e);
  }
}

function onSendMax() {
  const d = state.data;
  const fee = readFeeRate();
  if (!d || fee.error) return;
  const coins = d.partition.spendable;
  const total = coins.reduce((s, c) => s + c.value, 0);
  const max = total - feeFor(signedTxSize(coins.length, 1), fee.value);
  // An input's value: plain digits and a dot, as the amount field reads it.
  ui["send-amount"].value = plainAmount(Math.max(0, max));
  updatePreview();
}

/** A new attempt (a send, a bump or a cancel): no error, no review, and no last result, which would
 * read as if this one was sent. */
export function startAttempt() {
  setMessage(ui["send-error"]);
  closeReview();
  state.lastSend = null;
  setMessage(ui["send-result"]);
  delete ui["send-result"].dataset.status;
}

/** Step 1: check the form, plan the transaction from fresh coins, and show it for review (nothing is signed). */
async function onSend(ev) {
  ev.preventDefault();
  startAttempt();
  const a = state.current;
  const u = state.unlocked;
  if (!a || !u || u.address !== a.address) return setMessage(ui["send-error"], "Unlock the account first.");
  const r = readRecipient();
  if (r.error) {
    ui["send-to-error"].textContent = r.error;
    show(ui["send-to-error"], true);
    ui["send-error"].dataset.code = r.code ?? "address";
    return setMessage(ui["send-error"], r.error);
  }
  const amt = readAmount();
  if (amt.error) { ui["send-error"].dataset.code = "amount"; return setMessage(ui["send-error"], amt.error); }
  const fee = readFeeRate();
  if (fee.error) { ui["send-error"].dataset.code = "fee"; return setMessage(ui["send-error"], fee.error); }

  state.busy = true;
  ui["send-submit"].disabled = true;
  try {
    let d;
    try {
      d = await refresh(); // fresh coins and tip
    } catch (e) {
      ui["send-error"].dataset.code = "unreachable";
      return setMessage(ui["send-error"], `Cannot read this account's coins from the node: ${e.message}. Nothing was sent.`);
    }
    if (!d || state.unlocked !== u) return;
    let p;
    try {
      p = plan({ coins: d.partition.spendable, recipient: r.key, amount: amt.value, change: u.publicKey, feeRate: fee.value });
    } catch (e) {
      ui["send-error"].dataset.code = e.kind ?? "plan";
      return setMessage(ui["send-error"], sendErrorText(e));
    }
    const own = state.accounts.find((x) => x.address === r.address) ?? null;
    openReview({ plan: p, to: r.address, amount: amt.value, rate: fee.value, own, account: a.address });
  } finally {
    state.busy = false;
    ui["send-submit"].disabled = !state.unlocked;
    touch();
  }
}

const rateText = (r) => String(Math.round(r * 100) / 100);

export function openReview(review) {
  state.review = review;
  const p = review.plan;
  const named = contactFor(contacts(), review.to);
  ui["review-to"].textContent = review.to;
  ui["review-to-name"].textContent = named ? named.name : "";
  show(ui["review-to-name"], !!named);
  ui["review-amount"].textContent = formatCoins(review.amount);
  ui["review-fee"].textContent = formatCoins(p.fee);
  ui["review-fee-detail"].textContent = `(${p.size} bytes × ${rateText(review.rate)} units/byte)`;
  ui["review-total"].textContent = formatCoins(review.amount + p.fee);
  ui["review-change"].textContent = formatCoins(p.change || 0);
  ui["review-coins"].textContent = `(${p.inputs.length} coin${p.inputs.length === 1 ? "" : "s"} spent)`;
  const w = ui["review-warning"];
  if (review.own) {
    const self = review.own.address === review.account;
    w.textContent = self
      ? "This is this account's own address: the coins come back to you and only the fee is spent."
      : `This is one of your own addresses (${review.own.name || "another account"} in this wallet): the coins stay yours and only the fee is spent.`;
  }
  const r = review.replacement;
  if (r) {
    $("review-title").textContent = r.kind === "cancel" ? "Check the cancel before signing" : "Check the fee bump before signing";
    const link = $("review-replaces");
    link.textContent = r.replaces;
    link.href = `explorer.html#/tx/${r.replaces}`;
    $("review-old-fee").textContent = formatCoins(r.oldFee);
    $("review-old-rate").textContent = rateText(r.oldRate);
    $("review-new-fee").textContent = formatCoins(r.fee);
    $("review-new-rate").textContent = rateText(r.rate);
    w.textContent = r.kind === "cancel"
      ? "Cancel: this replaces the pending transaction; everything it spent comes back to this account, minus the higher fee. If the original is mined first, the node refuses the cancel."
      : "Fee bump: this replaces the pending transaction with the same payment at a higher fee, taken from the change. If the original is mined first, the node refuses the bump.";
  }
  show($("review-replaces-row"), !!r);
  show(w, !!review.own || !!r);
  ui["send-submit"].textContent = "Review again";
  show(ui["send-review"], true);
  ui["send-confirm"].focus?.();
}

/** Drops the review: what is confirmed is only ever what was shown. */
export function closeReview() {
  state.review = null;
  show(ui["send-review"], false);
  show($("review-replaces-row"), false);
  $("review-title").textContent = "Check before signing";
  ui["send-submit"].textContent = "Review";
}

/** Step 2, after the user confirmed what the review showed: sign that plan and post it. */
async function onConfirmSend() {
  const review = state.review;
  const u = state.unlocked;
  if (!review) return;
  if (!u || u.address !== review.account || state.current?.address !== review.account) {
    closeReview();
    return setMessage(ui["send-error"], "Unlock the account first.");
  }
  state.busy = true;
  ui["send-confirm"].disabled = true;
  ui["send-back"].disabled = true;
  ui["send-confirm"].textContent = "Sending…";
  try {
    const p = review.plan;
    const signed = await signPlan(p, { key: u.key, ownerPublicKey: u.publicKey, network: state.network });
    let answer;
    try {
      answer = (await routes.broadcast(signed.hex)).trim();
    } catch (e) {
      closeReview();
      if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
        ui["send-error"].dataset.code = e.code;
        return setMessage(ui["send-error"], `The node refused the transaction: ${e.message} (${e.code}). Nothing was sent.`);
      }
      ui["send-error"].dataset.code = "unreachable";
      return setMessage(ui["send-error"], `The transaction could not be delivered: ${e.message}. It may or may not have reached the node: check the history before sending again.`);
    }
    if (answer !== signed.txid) console.warn("edge answered txid", answer, "expected", signed.txid);
    closeReview();
    state.lastSend = { txid: signed.txid, amount: review.amount, to: review.to, fee: p.fee, size: signed.size, rate: review.rate,
      replaces: review.replacement?.replaces, kind: review.replacement?.kind };
    if (!review.replacement) ui["send-amount"].value = "";
    renderSendResult();
    show(ui["send-result"], true);
    scheduleRefresh(0);
  } catch (e) {
    closeReview();
    ui["send-error"].dataset.code = "internal";
    setMessage(ui["send-error"], `Could not send: ${e.message}`);
  } finally {
    state.busy = false;
    ui["send-confirm"].disabled = false;
    ui["send-back"].disabled = false;
    ui["send-confirm"].textContent = "Sign and send";
    ui["send-submit"].disabled = !state.unlocked;
    touch();
  }
}

/** The last payment sent from this page: pending, then confirmed in its block. */
export function renderSendResult() {
  const s = state.lastSend;
  if (!s) return;
  const d = state.data;
  const tx = d?.txs.find((t) => t.txid === s.txid);
  let status;
  if (tx && tx.status?.confirmed) {
    const n = confirmations(tx.status, d.tipHeight);
    status = el("span", { class: "badge ok", dataset: { status: "confirmed" } }, `confirmed in block ${tx.status.block_height} (${n} confirmation${n === 1 ? "" : "s"})`);
  } else {
    status = el("span", { class: "badge warn", dataset: { status: "pending" } }, "pending: in the mempool, waiting for a block");
  }
  const what = s.replaces
    ? el("p", {}, s.kind === "cancel" ? `Cancelled: ${formatCoins(s.amount)} CRN back to `
                                      : `Fee bumped: ${formatCoins(s.amount)} CRN to `,
      addressLink(s.to), `, fee ${formatCoins(s.fee)} CRN (${s.size} bytes at ${rateText(s.rate)} units/byte); replaces `, txLink(s.replaces), ".")
    : el("p", {}, `Sent ${formatCoins(s.amount)} CRN to `, addressLink(s.to), `, fee ${formatCoins(s.fee)} CRN (${s.size} bytes at ${s.rate} units/byte).`);
  setMessage(ui["send-result"],
    what,
    el("p", {}, "Transaction ", el("a", { href: `explorer.html#/tx/${s.txid}`, class: "mono hash txid", dataset: { txid: s.txid } }, s.txid)),
    el("p", {}, "Status: ", status));
  ui["send-result"].dataset.txid = s.txid;
  ui["send-result"].dataset.status = tx?.status?.confirmed ? "confirmed" : "pending";
}

/** A `cairn:` payment request pasted (or scanned) into the address field fills the form from it. */
function takePaymentRequest() {
  const note = ui["send-request"];
  const text = ui["send-to"].value.trim();
  if (!isPaymentURI(text)) {
    if (text !== note.dataset.address) { note.textContent = ""; show(note, false); }
    return;
  }
  let r;
  try { r = parsePaymentURI(text); } catch { return; }   // readRecipient says why
  ui["send-to"].value = r.address;
  if (r.amount !== null) ui["send-amount"].value = plainAmount(r.amount);
  note.dataset.address = r.address;
  note.textContent = `From a payment request${r.label ? `: “${r.label}”` : ""}${r.message ? ` (${r.message})` : ""}. Check the address and the amount, then review.`;
  show(note, true);
}

export function wireSend() {
  ui["send-to"].addEventListener("input", takePaymentRequest);
  ui["send-form"].addEventListener("submit", onSend);
  ui["send-max"].addEventListener("click", () => { closeReview(); onSendMax(); });
  ui["send-confirm"].addEventListener("click", onConfirmSend);
  ui["send-back"].addEventListener("click", () => { closeReview(); ui["send-amount"].focus?.(); });
  // Editing the form after a review drops the review: what is confirmed is what was shown.
  for (const id of ["send-to", "send-amount"]) ui[id].addEventListener("input", () => { closeReview(); updatePreview(); });
  ui["send-fee"].addEventListener("input", () => { state.feeTouched = true; closeReview(); updatePreview(); });
}
