// The regtest faucet (GET/POST /api/faucet): its button, its payment until it is in a block, and the
// "too soon" countdown.

import { ApiError } from "../api.js";
import { routes } from "../routes.js";
import { show, txLink } from "../ui/dom.js";
import { formatCoins } from "../lib/amount.js";
import { ui } from "./ui.js";
import { state } from "./state.js";
import { render } from "./views.js";
import { scheduleRefresh } from "./refresh.js";

/** Reads the faucet's state (regtest only; other networks, or an edge without one, show no button). */
export async function loadFaucet() {
  state.faucetCheckedAt = Date.now();
  if (state.network !== "regtest") { state.faucet = null; return renderFaucet(); }
  try {
    const f = await routes.faucet();
    state.faucet = { available: !!f.available, amount: f.amount, spendable: f.spendable };
  } catch (e) {
    // 404: this edge has no faucet (other networks, or an older edge): no button.
    state.faucet = e instanceof ApiError && e.status === 404 ? null : { available: false, error: e.message };
  }
  render();
}

export function renderFaucet() {
  const f = state.faucet;
  show(ui["faucet-row"], state.network === "regtest" && !!f);
  if (f) {
    ui.faucet.textContent = f.available && f.amount ? `Get ${formatCoins(f.amount)} CRN from faucet` : "Get coins from faucet";
    // A hint (not a block): the button still asks, and the faucet's own answer is shown.
    const st = ui["faucet-status"];
    if (!st.dataset.state || st.dataset.state === "hint") {
      const empty = Number.isFinite(f.spendable) && Number.isFinite(f.amount) && f.spendable < f.amount;
      st.textContent = empty ? "The faucet's mined coins are not mature yet: try again in a few blocks." : "";
      st.dataset.state = empty ? "hint" : "";
    }
  }
}

/** The faucet's payment, pending until the history shows it in a block (then its confirmation). */
export function renderFaucetPaid() {
  const f = state.faucetPaid;
  const st = ui["faucet-status"];
  if (!f || f.address !== state.current?.address || st.dataset.state !== "ok") return;
  const tx = state.data?.address === f.address ? state.data.txs.find((t) => t.txid === f.txid) : null;
  const tail = tx?.status?.confirmed ? ` — confirmed in block ${tx.status.block_height}.` : " — pending until the next block.";
  st.replaceChildren(`Faucet sent ${formatCoins(f.amount)} CRN: `, txLink(f.txid), tail);
  st.dataset.paid = tx?.status?.confirmed ? "confirmed" : "pending";
}

function stopCountdown() {
  clearInterval(state.faucetTimer);
  state.faucetTimer = null;
}

/** Clears the faucet's status line and countdown (another account was selected). */
export function resetFaucetStatus() {
  ui["faucet-status"].textContent = "";
  stopCountdown();
  ui["faucet-status"].dataset.state = "";
}

/** "Too soon": the wait the faucet named, counted down to the moment the button works again. */
function faucetCountdown(message) {
  const m = /try again in (\d+) s/.exec(message || "");
  const until = Date.now() + (m ? Number(m[1]) : 60) * 1000;
  const st = ui["faucet-status"];
  const reason = String(message || "").replace(/; try again in \d+ s$/, "");
  clearInterval(state.faucetTimer);
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      stopCountdown();
      st.replaceChildren("You can ask the faucet again now.");
      st.dataset.state = "";
      return;
    }
    st.replaceChildren(`Too soon: ${reason}. Try again in ${left} s.`);
    st.dataset.state = "error";
  };
  tick();
  state.faucetTimer = setInterval(tick, 1000);
}

async function onFaucet() {
  const a = state.current;
  if (!a) return;
  ui.faucet.disabled = true;
  stopCountdown();
  ui["faucet-status"].replaceChildren("Asking the faucet…");
  ui["faucet-status"].dataset.state = "busy";
  try {
    const r = await routes.faucetPay(a.address);
    state.faucetPaid = { txid: r.txid, amount: r.amount, address: a.address };
    ui["faucet-status"].dataset.state = "ok";
    renderFaucetPaid();
    scheduleRefresh(0);
  } catch (e) {
    let msg;
    if (!(e instanceof ApiError)) msg = `Faucet failed: ${e.message}`;
    else if (e.status === 429) return faucetCountdown(e.message);
    else if (e.status === 503) msg = `The faucet has no mature coins yet: ${e.message}`;
    else if (e.status === 404) msg = "This node has no faucet (faucets exist only on regtest).";
    else if (e.status === 0) msg = `The node is not reachable: ${e.message}`;
    else msg = `The faucet refused: ${e.message} (${e.code})`;
    ui["faucet-status"].replaceChildren(msg);
    ui["faucet-status"].dataset.state = "error";
  } finally {
    ui.faucet.disabled = false;
  }
}

export function wireFaucet() {
  ui.faucet.addEventListener("click", onFaucet);
}
