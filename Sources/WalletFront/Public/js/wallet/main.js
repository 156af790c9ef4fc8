// The wallet page: boot and wiring. Keys are made, encrypted, decrypted and used only in this page:
// requests carry addresses, signed transactions and the faucet's {address}, never a key or a password.
//
// One module per concern: state.js (the state and its accessors), ui.js (the page's elements),
// connection.js (network, feed and REST state), auth.js (accounts, create, unlock, lock, import, export),
// refresh.js (the account's data from the edge), history.js (balances, history, CSV), send.js (form,
// review, sign and post), fees.js (fee presets), bump.js (fee bump or cancel), faucet.js, receive.js (address, QR code, copy), contacts.js
// (address book), phrase.js (a new account's recovery phrase and its check, restore from a phrase),
// views.js (the page from the state).

import { loadConfig, restStatus } from "../api.js";
import { Feed } from "../feed.js";
import { pingURLFor } from "../routes.js";
import { Liveness } from "../lib/liveness.js";
import { ed25519Supported } from "../lib/keys.js";
import { show, setMessage } from "../ui/dom.js";
import { ui, bindUI } from "./ui.js";
import { state, LS_NETWORK } from "./state.js";
import { learnNetwork, setNetwork, onFeedState, onRestStatus, renderConnection } from "./connection.js";
import { wireAuth, autoLockTick } from "./auth.js";
import { scheduleRefresh } from "./refresh.js";
import { wireHistory } from "./history.js";
import { wireSend } from "./send.js";
import { loadFeeEstimates } from "./fees.js";
import { wireFaucet, loadFaucet } from "./faucet.js";
import { wireReceive } from "./receive.js";
import { wireContacts } from "./contacts.js";
import { wirePhrase } from "./phrase.js";

async function boot() {
  bindUI();

  if (!globalThis.isSecureContext || !globalThis.crypto?.subtle) {
    return disableWallet(`This page (${location.origin}) is not a secure context, so the browser withholds WebCrypto: `
      + "keys cannot be generated, encrypted or used here. Open the wallet over https, or on http://localhost / 127.0.0.1. "
      + "(The explorer works anywhere.)");
  }
  if (!(await ed25519Supported())) {
    return disableWallet("This browser's WebCrypto has no Ed25519 signatures, which Cairn keys need. Use a current Chromium, Firefox or Safari.");
  }

  wireEvents();

  try {
    state.cfg = await loadConfig();
  } catch (e) {
    setMessage(ui["boot-notice"], `Cannot read this page's configuration (${e.message}). Retrying…`);
    ui["boot-notice"].classList.add("notice-error");
    setTimeout(boot, 3000);
    return;
  }
  ui["edge-info"].textContent = `Node edge: ${state.cfg.edge}`;
  show(ui["boot-notice"], false);
  show(ui["wallet-root"], true);

  restStatus.subscribe(onRestStatus);
  state.feed = new Feed(state.cfg.ws);
  state.feed.onState(onFeedState);
  state.feed.on("hello", (m) => {
    if (m.network) setNetwork(m.network);
    if (Number.isInteger(m.height)) state.tipHeight = m.height;
  });
  state.feed.on("open", () => scheduleRefresh(0));
  // The edge could not replay what the page missed (it restarted too long ago, or a deep reorg):
  // load the account's state again instead of trusting the stream.
  state.feed.on("resync", () => scheduleRefresh(0));
  state.feed.on("block", (m) => {
    if (m.block && Number.isInteger(m.block.height)) state.tipHeight = Math.max(state.tipHeight ?? 0, m.block.height);
    scheduleRefresh(50);
    if (state.network === "regtest" && state.faucet && Date.now() - state.faucetCheckedAt > 10_000) loadFaucet();
    // Fee presets follow the mempool: a busy pool raises them (GET /api/fee-estimates).
    if (Date.now() - state.feesCheckedAt > 10_000) loadFeeEstimates();
  });
  state.feed.on("address-tx", (m) => {
    if (state.current && m.address === state.current.address) scheduleRefresh(0);
  });
  state.live = new Liveness(state.feed, {
    spacingSeconds: state.params?.targetSpacing,
    probe: (signal) => fetch(pingURLFor(state.cfg.ws), { signal, cache: "no-store", mode: "cors", credentials: "omit" }),
  });
  state.live.onChange((stale) => {
    if (!stale && state.feed.online) scheduleRefresh(0);
    renderConnection();
  });
  state.feed.start();
  state.live.start();
  setInterval(() => { if (state.live.stale) renderConnection(); }, 1000);

  // The network decides address prefixes: ask the node (the last one seen is kept for offline starts).
  const last = localStorage.getItem(LS_NETWORK);
  if (last && !state.network) setNetwork(last, { provisional: true });
  await learnNetwork();
  setInterval(autoLockTick, 5000);
  setInterval(() => { if (!state.feed.online) scheduleRefresh(0); }, 15000);
}

/** Without WebCrypto (or its Ed25519), the page says why and stays disabled. */
function disableWallet(text) {
  ui["secure-context-text"].textContent = text;
  show(ui["secure-context-warning"], true);
  show(ui["boot-notice"], false);
  show(ui["wallet-root"], true);
  ui["wallet-root"].disabled = true;
  ui["wallet-root"].classList.add("disabled");
  ui["connection-status"].textContent = "wallet disabled";
  ui["connection-status"].dataset.state = "disabled";
}

function wireEvents() {
  wireAuth();
  wireReceive();
  wireFaucet();
  wireSend();
  wireHistory();
  wireContacts();
  wirePhrase();
  ui["offline-retry"].addEventListener("click", () => {
    state.feed?.retryNow();
    scheduleRefresh(0);
  });
}

boot().catch((e) => {
  console.error(e);
  const n = document.getElementById("boot-notice");
  if (n) {
    n.textContent = `The wallet failed to start: ${e.message}`;
    n.classList.add("notice-error");
    n.hidden = false;
  }
});
