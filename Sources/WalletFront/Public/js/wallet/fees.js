// The fee presets of the send form, from the mempool's estimates.
import { routes } from "../routes.js";
import { el } from "../ui/dom.js";
import { feePresets } from "./model.js";
import { ui } from "./ui.js";
import { state } from "./state.js";
import { closeReview, updatePreview } from "./send.js";

/** Fee presets from the mempool (GET /api/fee-estimates); the default preset fills the field until the user picks a rate. */
export async function loadFeeEstimates() {
  state.feesCheckedAt = Date.now();
  try {
    state.feeEstimates = await routes.feeEstimates();
  } catch {
    state.feeEstimates = null;
  }
  const presets = feePresets(state.feeEstimates);
  ui["fee-picks"].replaceChildren(...presets.map(({ name, hint, rate }) => {
    const b = el("button", { type: "button", class: "chip", title: `${hint}: ${rate} units/byte`, dataset: { rate: String(rate) } }, `${name} · ${rate}`);
    b.addEventListener("click", () => {
      ui["send-fee"].value = String(rate);
      state.feeTouched = true;
      closeReview();
      updatePreview();
    });
    return b;
  }));
  if (!state.feeTouched || !ui["send-fee"].value) ui["send-fee"].value = String(presets.find((p) => p.isDefault).rate);
  updatePreview();
}
