// The page as a whole from the state: the account picker, the create/unlock panel, the import panel and
// the account's view (each part drawn by its own module).

import { el, show, setMessage } from "../ui/dom.js";
import { shortHash } from "../ui/format.js";
import { ui } from "./ui.js";
import { state, isUnlocked, authPanelMode } from "./state.js";
import { renderReceive } from "./receive.js";
import { renderFaucet, renderFaucetPaid } from "./faucet.js";
import { renderBalances, renderHistory } from "./history.js";
import { renderSendResult, closeReview } from "./send.js";
import { renderPhrase, renderRestore } from "./phrase.js";
import { needsBackup } from "./model.js";

function accountLabel(a) {
  return `${a.name || "Account"} — ${shortHash(a.address, 12, 6)}`;
}

export function render() {
  const a = state.current;
  const hasAccounts = state.accounts.length > 0;

  // picker
  ui["account-select"].replaceChildren(...state.accounts.map((acc) =>
    el("option", { value: acc.address, selected: acc.address === a?.address }, accountLabel(acc))));
  show(ui["account-picker"], hasAccounts);
  if (hasAccounts) ui["no-accounts"].classList.remove("notice-error");
  if (state.network) {
    setMessage(ui["no-accounts"], hasAccounts ? "" : `No ${state.network} account yet: create one (its key is made and encrypted in this browser) or import a keystore file.`);
  }
  const unlocked = isUnlocked(state);
  ui["lock-state"].textContent = a ? (unlocked ? "unlocked" : "locked") : "";
  ui["lock-state"].dataset.state = unlocked ? "unlocked" : "locked";

  // create / unlock
  const mode = authPanelMode(state);
  state.renderedAuthMode = mode;
  show(ui["auth-panel"], mode !== null);
  if (mode) {
    const create = mode === "create";
    ui["auth-title"].textContent = create ? "Create an account" : `Unlock ${a.name || "account"}`;
    show(ui["name-field"], create);
    show(ui["confirm-field"], create);
    show(ui["phrase-words-field"], create);
    show(ui["auth-hint"], create);
    show(ui["create-account"], create);
    show(ui.unlock, !create);
    show(ui["auth-cancel"], create && hasAccounts);
    ui.password.autocomplete = create ? "new-password" : "current-password";
    ui["auth-username"].value = create ? "" : (a?.address ?? "");
  }
  // The recovery phrase being shown or checked; restore from a phrase.
  renderPhrase();
  renderRestore();
  // With no account yet, importing a backup is offered next to creating one.
  show(ui["import-panel"], !state.phrase && !state.restoreOpen && (state.importOpen || !hasAccounts));
  show(ui["import-cancel"], hasAccounts);

  // the account
  show(ui["account-view"], !!a);
  if (!a) return;
  renderReceive(a.address);
  show(ui["backup-reminder"], needsBackup(a));
  show(ui.lock, unlocked);
  show(ui["send-locked"], !unlocked);
  ui["send-submit"].disabled = !unlocked || state.busy;
  if (!unlocked && state.review) closeReview();
  ui["send-max"].disabled = !unlocked;
  renderFaucet();
  renderBalances();
  renderHistory();
  renderSendResult();
  renderFaucetPaid();
}
