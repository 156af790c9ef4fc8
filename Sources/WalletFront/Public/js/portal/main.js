// The developer portal (portal.html): sign up or log in, then the account's keys (create, rotate,
// revoke, ready-made snippets) and their usage. Every URL of the edge comes from routes.js; the
// session is sent as Authorization: Bearer to /api/portal/… (docs/ARCHITECTURE.md, "Hosted access").

import { loadConfig } from "../api.js";
import { routes } from "../routes.js";
import { $, show, setMessage } from "../ui/dom.js";
import { session, wireAuth } from "./session.js";
import { KeysView } from "./keys.js";
import { UsageView } from "./usageview.js";

let keys = null;
let usage = null;

function showError(err) {
  if (err && err.status === 401 && session.get()) {
    // The session ended (expired, logged out elsewhere): back to the login form.
    session.clear();
    loggedOut();
    setMessage($("portal-error"), "Your session has ended: log in again.");
    return;
  }
  setMessage($("portal-error"), err ? (err.message || String(err)) : "");
}

function loggedOut() {
  usage?.stop();
  show($("account-view"), false);
  show($("auth-view"), true);
  show($("account-name"), false);
  show($("logout"), false);
  show($("new-secret"), false);
  if (keys) keys.secrets.clear();
}

async function loggedIn(s) {
  setMessage($("portal-error"));
  $("account-name").textContent = s.account.name;
  show($("account-name"), true);
  show($("logout"), true);
  show($("auth-view"), false);
  show($("account-view"), true);
  try {
    await keys.load();
    usage.start();
  } catch (err) {
    showError(err);
  }
}

async function main() {
  let cfg, info;
  try {
    cfg = await loadConfig();
    $("edge-url").textContent = cfg.edge;
    info = await routes.portalInfo();
  } catch (err) {
    show($("portal-loading"), false);
    setMessage($("portal-error"), `The portal is not available: ${err.message || err}`);
    return;
  }
  show($("portal-loading"), false);
  $("key-limits").textContent = `A key made here allows ${info.keyRPS || "unlimited"} requests a second and ${info.keyDaily ? info.keyDaily.toLocaleString("en") : "unlimited"} a day; an account holds up to ${info.maxKeys} active keys.`;
  const getSession = () => session.get()?.token;
  usage = new UsageView({ getSession, onError: showError });
  keys = new KeysView({ edge: cfg.edge, getSession, onError: showError, onChange: (list) => { usage.setKeys(list); usage.load(); } });
  wireAuth({ info, onSession: loggedIn, onError: showError });
  $("logout").addEventListener("click", async () => {
    const token = getSession();
    session.clear();
    loggedOut();
    if (token) routes.portalLogout(token).catch(() => {});
  });
  const s = session.get();
  if (s) loggedIn(s);
  else loggedOut();
}

main();
