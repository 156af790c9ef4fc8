// The node's network and the connection's state: which network the node runs (it decides address
// prefixes), the live/stale/offline badge and banner from the feed, REST reachability and liveness.

import { routes } from "../routes.js";
import { networkParams } from "../lib/networks.js";
import { staleText } from "../lib/liveness.js";
import { show, setMessage } from "../ui/dom.js";
import { ui } from "./ui.js";
import { state, LS_NETWORK, restDownFrom, connectionView } from "./state.js";
import { loadAccounts } from "./auth.js";
import { renderContacts } from "./contacts.js";
import { loadFaucet } from "./faucet.js";
import { loadFeeEstimates } from "./fees.js";
import { scheduleRefresh } from "./refresh.js";

/** Asks the node for its network until it answers (backing off up to 15 s). */
export async function learnNetwork() {
  for (let attempt = 0; ; attempt++) {
    try {
      const node = await routes.node();
      setNetwork(node.network);
      return;
    } catch (e) {
      if (attempt === 0 && !state.network) {
        setMessage(ui["no-accounts"], `The node at ${state.cfg.edge} is not reachable (${e.message}); waiting for it…`);
        show(ui["no-accounts"], true);
      }
      await new Promise((r) => setTimeout(r, Math.min(15000, 1000 * 2 ** Math.min(attempt, 4))));
    }
  }
}

/** The network named by the node (or, provisionally, the last one seen): prefixes, accounts, fees, faucet. */
export async function setNetwork(name, { provisional = false } = {}) {
  let params;
  try { params = networkParams(name); } catch { return; }
  const changed = state.network !== name;
  state.network = name;
  state.params = params;
  state.live?.setSpacing(params.targetSpacing);
  if (!provisional) localStorage.setItem(LS_NETWORK, name);
  ui["network-badge"].textContent = name;
  show(ui["network-badge"], true);
  ui["send-to"].placeholder = `${params.prefix}1q…`;
  ui["contact-address"].placeholder = `${params.prefix}1q…`;
  renderContacts();
  const confirmedNow = !provisional && !state.networkConfirmed;
  if (!provisional) state.networkConfirmed = true;
  if (changed || confirmedNow) {
    await loadAccounts();
    if (confirmedNow) {
      loadFeeEstimates();
      loadFaucet();
    }
  }
}

export function onFeedState(s) {
  const wasOnline = state.feedState === "online";
  state.feedState = s;
  renderConnection();
  if (s === "online" && !wasOnline) {
    scheduleRefresh(0);
    if (!state.feeEstimates) loadFeeEstimates();
  }
}

export function onRestStatus(r) {
  const down = restDownFrom(r);
  if (down !== state.restDown) {
    state.restDown = down;
    renderConnection();
  }
}

export function renderConnection() {
  const c = ui["connection-status"];
  const stale = state.feedState === "online" && !!state.live?.stale;
  const view = connectionView(state.feedState, state.restDown, stale);
  c.textContent = view.text;
  c.dataset.state = view.state;
  show(ui["offline-banner"], view.banner);
  ui["offline-banner"].dataset.state = view.state;
  if (stale) {
    ui["offline-text"].textContent = staleText(state.cfg?.edge ?? "?", state.live.silentMs, state.params?.targetSpacing);
  } else if (view.banner) {
    ui["offline-text"].textContent = `The node at ${state.cfg?.edge ?? "?"} is not reachable: balances and history may be out of date. Retrying…`;
  }
}
