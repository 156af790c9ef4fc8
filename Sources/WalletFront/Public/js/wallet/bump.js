// A fee bump or cancel of a pending transaction of this account (the history's buttons), planned by
// lib/replace.js and shown in the send form's review step.
import { ApiError } from "../api.js";
import { routes } from "../routes.js";
import { replacementPlan } from "../lib/replace.js";
import { setMessage } from "../ui/dom.js";
import { ui } from "./ui.js";
import { state, touch } from "./state.js";
import { readFeeRate, openReview, startAttempt } from "./send.js";

/**
 * Fee bump or cancel of a pending transaction of this account (the history's buttons): reads it fresh
 * from the node, plans the replacement (lib/replace.js) at the form's fee rate or the node's minimum
 * for a replacement, whichever is higher, and shows it in the review step (nothing is signed yet).
 */
export async function startReplacement(txid, kind) {
  startAttempt();
  const a = state.current;
  const u = state.unlocked;
  const what = kind === "cancel" ? "cancel" : "bump the fee of";
  if (!a || !u || u.address !== a.address) return setMessage(ui["send-error"], `Unlock the account first to ${what} a transaction.`);
  const fee = readFeeRate();
  if (fee.error) { ui["send-error"].dataset.code = "fee"; return setMessage(ui["send-error"], fee.error); }
  state.busy = true;
  try {
    let tx;
    try {
      tx = await routes.tx(txid);
    } catch (e) {
      ui["send-error"].dataset.code = e.code ?? "unreachable";
      return setMessage(ui["send-error"], e instanceof ApiError && e.status === 404
        ? "That transaction is no longer known to the node: it was replaced or dropped."
        : `Cannot read the transaction from the node: ${e.message}.`);
    }
    if (state.unlocked !== u) return;
    let p;
    try {
      p = replacementPlan({ tx, ownPublicKey: u.publicKey, kind, feeRate: fee.value });
    } catch (e) {
      ui["send-error"].dataset.code = e.kind ?? "plan";
      return setMessage(ui["send-error"], `Cannot ${what} this transaction: ${e.message}.`);
    }
    openReview({ plan: p, to: p.to ?? a.address, amount: p.amount, rate: p.rate, own: null, account: a.address, replacement: p });
    ui["send-review"].scrollIntoView?.({ block: "nearest" });
  } finally {
    state.busy = false;
    touch();
  }
}
