// Shared client for the node's HTTP edge (used by the wallet, the explorer and the portal); the
// WebSocket feed is feed.js.
//
//   import { loadConfig, api, ApiError, restStatus } from "./api.js";
//   const cfg = await loadConfig();           // {edge: "http://127.0.0.1:8340", ws: "ws://127.0.0.1:8340/api/ws"}
//   const tip = await api.getJSON(paths.chain());       // paths from routes.js, which builds every URL of the edge
//   const txid = await api.postText(paths.broadcast(), hex);   // throws ApiError {status, code, message}
//
// No DOM access here: this module only needs fetch. (routes.js imports this module's `api` and this one its
// wsURLFor: neither uses the other while it loads, so the two load in either order.)

import { wsURLFor } from "./routes.js";

/** An error answered by the edge ({"error":{code,message}} with an HTTP status), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(message, { status = 0, code = "network", url = "" } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.url = url;
  }
  /** True when the edge (or a service behind it) could not be reached, as opposed to a refusal of the request. */
  get isUnavailable() {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

let configPromise = null;

/**
 * Reads /config.json (same origin as the page) once: {"edge": "http://host:port"}.
 * Resolves to {edge, ws} and points `api` at that edge.
 */
export function loadConfig({ url = "/config.json", fetchImpl = globalThis.fetch } = {}) {
  if (!configPromise) {
    configPromise = (async () => {
      let res;
      try {
        res = await fetchImpl(url, { cache: "no-store" });
      } catch (e) {
        throw new ApiError(`could not load ${url}: ${e.message || e}`, { url });
      }
      if (!res.ok) throw new ApiError(`could not load ${url}: HTTP ${res.status}`, { status: res.status, code: "config", url });
      let body;
      try {
        body = await res.json();
      } catch {
        throw new ApiError(`${url} is not JSON`, { status: res.status, code: "config", url });
      }
      if (!body || typeof body.edge !== "string" || !/^https?:\/\//.test(body.edge)) {
        throw new ApiError(`${url} has no valid "edge" URL`, { status: res.status, code: "config", url });
      }
      const edge = body.edge.replace(/\/+$/, "");
      api.base = edge;
      return { ...body, edge, ws: body.ws || wsURLFor(edge) };
    })();
    configPromise.catch(() => { configPromise = null; }); // a failed load may be retried
  }
  return configPromise;
}

/** Observers of REST reachability: cb({ok, status, code, url}) after every request. */
const restObservers = new Set();
export const restStatus = {
  last: null,
  subscribe(cb) {
    restObservers.add(cb);
    return () => restObservers.delete(cb);
  },
  report(r) {
    this.last = r;
    for (const cb of [...restObservers]) {
      try { cb(r); } catch (e) { console.error(e); }
    }
  },
};

async function errorFrom(res, url) {
  let code = `http-${res.status}`;
  let message = `HTTP ${res.status}`;
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text);
      if (body && body.error) {
        code = body.error.code || code;
        message = body.error.message || message;
      }
    } catch {
      if (text) message = text.slice(0, 300);
    }
  } catch { /* body unreadable: keep the status */ }
  return new ApiError(message, { status: res.status, code, url });
}

/** REST client for one edge. `api` below is the shared instance, set by loadConfig(). */
export class EdgeClient {
  constructor(base = "", { timeoutMs = 15000, fetchImpl } = {}) {
    this.base = base;
    this.timeoutMs = timeoutMs;
    this.fetchImpl = fetchImpl || ((...a) => globalThis.fetch(...a));
  }

  async request(path, { method = "GET", body, contentType, signal, timeoutMs = this.timeoutMs, accept = "json", headers: extra } = {}) {
    if (!this.base) throw new ApiError("no edge configured (call loadConfig() first)", { code: "config" });
    const url = this.base + path;
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(new Error("timeout")), timeoutMs);
    const onAbort = () => ctrl.abort(signal.reason);
    if (signal) {
      if (signal.aborted) ctrl.abort(signal.reason);
      else signal.addEventListener("abort", onAbort, { once: true });
    }
    const headers = { ...(extra || {}) };
    if (contentType) headers["Content-Type"] = contentType;
    let res;
    try {
      res = await this.fetchImpl(url, { method, body, headers, signal: ctrl.signal, mode: "cors", credentials: "omit" });
    } catch (e) {
      const aborted = ctrl.signal.aborted;
      const callerAborted = signal && signal.aborted;
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", onAbort);
      if (callerAborted) throw new ApiError("request cancelled", { code: "aborted", url });
      const err = aborted
        ? new ApiError(`the node did not answer within ${Math.round(timeoutMs / 1000)} s`, { code: "timeout", url })
        : new ApiError(`the node is not reachable (${e.message || e})`, { code: "network", url });
      restStatus.report({ ok: false, status: 0, code: err.code, url });
      throw err;
    }
    try {
      if (!res.ok) {
        const err = await errorFrom(res, url);
        restStatus.report({ ok: !err.isUnavailable, status: res.status, code: err.code, url });
        throw err;
      }
      const out = accept === "json" ? await res.json() : await res.text();
      restStatus.report({ ok: true, status: res.status, code: "ok", url });
      return out;
    } catch (e) {
      if (e instanceof ApiError) throw e;
      const err = new ApiError(`bad answer from the node: ${e.message || e}`, { status: res.status, code: "bad-response", url });
      restStatus.report({ ok: true, status: res.status, code: err.code, url });
      throw err;
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", onAbort);
    }
  }

  /** GET, parsed JSON. */
  getJSON(path, opts = {}) { return this.request(path, { ...opts, accept: "json" }); }
  /** GET, text (tip height, block-height lookups, raw hex). */
  getText(path, opts = {}) { return this.request(path, { ...opts, accept: "text" }); }
  /** POST a text body (raw transaction hex) → text answer (the txid). */
  postText(path, text, opts = {}) {
    return this.request(path, { ...opts, method: "POST", body: text, contentType: "text/plain", accept: "text" });
  }
  /** POST a JSON body → parsed JSON answer. */
  postJSON(path, value, opts = {}) {
    return this.request(path, { ...opts, method: "POST", body: JSON.stringify(value), contentType: "application/json", accept: "json" });
  }
  /** DELETE → parsed JSON answer. */
  deleteJSON(path, opts = {}) { return this.request(path, { ...opts, method: "DELETE", accept: "json" }); }
}

/** The shared client (its base is set by loadConfig()). */
export const api = new EdgeClient();

// The named routes (every URL of the edge the pages ask) are in routes.js.
