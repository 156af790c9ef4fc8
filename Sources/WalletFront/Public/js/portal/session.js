// The portal session: its token kept in sessionStorage (this tab only, gone when it closes), and
// the sign-up and login forms that get one. The token is a bearer credential for /api/portal/…
// only: it cannot call the API (keys do that).

import { routes } from "../routes.js";
import { $, show } from "../ui/dom.js";

const STORE = "cairn.portal.session";

export const session = {
  /** {token, account: {id, name}, expires} or null. */
  get() {
    try {
      const s = JSON.parse(sessionStorage.getItem(STORE) || "null");
      return s && s.token && s.expires * 1000 > Date.now() ? s : null;
    } catch {
      return null;
    }
  },
  set(s) { sessionStorage.setItem(STORE, JSON.stringify({ token: s.token, account: s.account, expires: s.expires })); },
  clear() { sessionStorage.removeItem(STORE); },
};

/** Wires the sign-up and login forms; `onSession(s)` gets the new session. */
export function wireAuth({ info, onSession, onError }) {
  show($("signup-panel"), info.signup);
  show($("signup-closed"), !info.signup);
  const submit = (formId, call, fields) => {
    const form = $(formId);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const [name, password] = fields.map((id) => $(id).value);
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const s = await call(name.trim(), password);
        for (const id of fields) $(id).value = "";
        session.set(s);
        onSession(s);
      } catch (err) {
        onError(err);
      } finally {
        button.disabled = false;
      }
    });
  };
  submit("signup-form", routes.portalSignup, ["signup-name", "signup-password"]);
  submit("login-form", routes.portalLogin, ["login-name", "login-password"]);
}
