// The explorer's search box: what was typed (logic.js's classifySearch says what it looks like) → the page it
// names, asking the edge at which height a block is, or whether 64 hex digits are a block or a transaction.
import { ApiError } from "../api.js";
import { routes } from "../routes.js";
import { classifySearch, describeError } from "./logic.js";

/** Wires the search form: `app` is the page's shared state (main.js), `go(hash)` opens a page. */
export function setupSearch(app, go) {
  const form = document.getElementById("search-form");
  const input = document.getElementById("search-input");
  const errorEl = document.getElementById("search-error");
  const say = (text) => { errorEl.textContent = text || ""; errorEl.hidden = !text; };
  input.addEventListener("input", () => say(""));
  // A new search supersedes one still waiting for the node (the button stays enabled: a disabled
  // default button would silently swallow Enter in the input).
  let latest = 0;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const typed = input.value;
    const c = classifySearch(typed);
    const mine = ++latest;
    if (c.kind === "empty") return say("Type a block height, a block hash, a transaction id or an address.");
    if (c.kind === "invalid") return say(c.reason);
    if (!app.config) return say("The explorer is still loading its configuration.");
    say("");
    form.setAttribute("aria-busy", "true");
    try {
      const target = await resolveSearch(app, c);
      if (mine !== latest) return;
      if (target.error) return say(target.error);
      if (input.value === typed) input.value = "";
      go(target.hash);
    } catch (e) {
      if (mine === latest) say(describeError(e));
    } finally {
      if (mine === latest) form.removeAttribute("aria-busy");
    }
  });
}

/** Where a classified search leads: {hash: "#/…"} or {error}. */
async function resolveSearch(app, c) {
  if (c.kind === "address") return { hash: `#/address/${c.value}` };
  if (c.kind === "height") {
    try {
      return { hash: `#/block/${(await routes.blockHashAt(c.height)).trim()}` };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        const tip = await app.tip().catch(() => null);
        return { error: `There is no block at height ${c.height}${tip != null ? ` (the tip is at ${tip})` : ""}.` };
      }
      throw e;
    }
  }
  // 64 hex digits: one question to the edge, which says whether it is a block or a transaction.
  try {
    const found = await routes.lookup(c.value);
    return { hash: found.kind === "block" ? `#/block/${c.value}` : `#/tx/${c.value}` };
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { error: "No block and no transaction (confirmed or in the mempool) has this id." };
    throw e;
  }
}
