// #/network: the node's peers (GET /api/peers, when a peer bridge runs), sync progress, services and miners.
import { ApiError } from "../api.js";
import { routes } from "../routes.js";
import { formatAgo, formatDuration } from "../ui/format.js";
import { h, fill, fields, notice, panel } from "../ui/dom.js";

/** The first present field among spellings (camelCase or snake_case). */
function pick(o, ...names) {
  for (const n of names) if (o && o[n] != null) return o[n];
  return null;
}

export async function networkView(ctx) {
  document.title = "Network · Cairn explorer";
  const peers = h("div", { testid: "network-peers" }, notice("Loading…"));
  const sync = h("div", { class: "sync" });
  const services = h("div", {}, notice("Loading…"));
  const miners = h("div", {}, notice("Loading…"));
  fill(ctx.main,
    h("h1", {}, "Network"),
    panel("Peers", {}, peers, sync),
    h("div", { class: "grid-2" }, panel("Services", {}, services), panel("Miners", {}, miners)));

  const loadPeers = async () => {
    let body;
    try {
      body = await routes.peers();
    } catch (e) {
      if (!ctx.alive) return;
      // No bridge: an edge without the route answers 404; with it, 503 "peerbridge-unavailable" (the edge can't tell
      // "not started" from "stopped"). Any other 502/503 is a bridge that runs but fails.
      const absent = e instanceof ApiError && (e.status === 404 || e.code === "peerbridge-unavailable");
      const down = !absent && e instanceof ApiError && (e.status === 502 || e.status === 503);
      peers.dataset.state = absent ? "absent" : down ? "down" : "error";
      fill(peers,
        h("p", { class: "empty-state" }, h("strong", {}, absent ? "This node has no peer bridge running." : down ? "The peer bridge is not answering." : "Peers unavailable.")),
        h("p", { class: "muted" }, absent
          ? `It works alone: its blocks come from its own miners. Start the node with a peer bridge (cairn up runs one) to link it to other nodes.${e.status === 503 ? ` The edge says: ${e.message}` : ""}`
          : down ? `The edge could not reach it (${e.code}: ${e.message}).` : e.message));
      sync.replaceChildren();
      return;
    }
    if (!ctx.alive) return;
    const list = Array.isArray(body) ? body : Array.isArray(body && body.peers) ? body.peers : [];
    peers.dataset.state = "running";
    const listen = pick(body, "listen");
    const banned = Array.isArray(body && body.banned) ? body.banned : [];
    const rows = list.map((p) => {
      const addr = pick(p, "address", "url", "addr", "host") ?? "?";
      const dir = pick(p, "direction") ?? (p.inbound === true ? "inbound" : p.inbound === false ? "outbound" : "");
      const best = pick(p, "bestHeight", "best_height", "height");
      const ping = pick(p, "pingTime", "ping_time", "ping");
      const since = pick(p, "connectedAt", "connected_at");
      const score = pick(p, "score");
      const agent = pick(p, "userAgent", "user_agent");
      const hs = pick(p, "handshaken");
      return h("li", { class: "peer row", dataset: { peer: String(pick(p, "id") ?? addr) } },
        h("span", { class: "row-main" }, h("span", { class: "mono" }, addr), " ", dir ? h("span", { class: "badge" }, dir) : null,
          hs === false ? h("span", { class: "badge warn" }, "handshaking") : null),
        h("span", { class: "row-meta muted" },
          [best != null ? `height ${best}` : null, ping != null ? `ping ${(ping * 1000).toFixed(0)} ms` : null,
            score != null ? `score ${score}` : null, since ? `connected ${formatAgo(since)}` : null, agent].filter(Boolean).join(" · ")));
    });
    fill(peers,
      listen ? h("p", { class: "muted" }, "Listening on ", h("span", { class: "mono" }, listen)) : null,
      list.length ? h("ol", { class: "rows" }, rows) : h("p", { class: "empty-state" }, h("strong", {}, "The peer bridge runs but has no peers connected.")),
      banned.length ? h("p", { class: "muted" }, `Banned: ${banned.map((b) => `${b.address} (${b.reason})`).join(", ")}`) : null);
    try {
      const st = await routes.sync();
      if (!ctx.alive) return;
      const progress = pick(st, "progress");
      fill(sync, h("h3", {}, "Sync"), fields([
        ["State", String(pick(st, "state") ?? "?")],
        ["Height", `${pick(st, "height") ?? "?"} of ${pick(st, "bestPeerHeight", "best_peer_height") ?? "?"} known to peers`],
        progress != null ? ["Progress", h("span", {}, h("progress", { max: 1, value: progress }), ` ${(progress * 100).toFixed(1)} %`)] : null,
        ["Blocks", `${pick(st, "blocksAccepted", "blocks_accepted") ?? 0} accepted of ${pick(st, "blocksReceived", "blocks_received") ?? 0} received, ${pick(st, "blocksInFlight", "blocks_in_flight") ?? 0} in flight`],
      ]));
    } catch {
      sync.replaceChildren();
    }
  };

  const loadServices = async () => {
    let health;
    try {
      health = await routes.health();
    } catch (e) {
      if (!ctx.alive) return;
      if (e.status === 0) return fill(services, notice(`The node is not reachable (${e.message.replace(/^the node is not reachable\s*/i, "").replace(/^\((.*)\)$/, "$1")}).`, "error"));
      // 503 carries the health body too, but ApiError keeps only code and message: show what is known.
      return fill(services, notice(`Degraded: ${e.message}`, "error"));
    }
    if (!ctx.alive) return;
    const node = await routes.node().catch(() => null);
    if (!ctx.alive) return;
    fill(services,
      node ? h("p", { class: "muted" }, `${node.network} · version ${node.version}`) : null,
      h("ol", { class: "rows" }, Object.entries(health.services || {}).sort().map(([name, st]) => h("li", { class: "row", dataset: { service: name } },
        h("span", { class: "row-main" }, h("strong", {}, name), " ", h("span", { class: st.ok ? "badge ok" : "badge bad" }, st.ok ? "ok" : "down")),
        h("span", { class: "row-meta muted" }, [st.tip_height != null ? `height ${st.tip_height}` : null, st.count != null ? `${st.count} tx` : null, st.pid ? `pid ${st.pid}` : null, st.error].filter(Boolean).join(" · "))))),
      node ? h("details", {}, h("summary", {}, "Endpoints a miner attaches to"),
        fields(Object.entries(node.endpoints || {}).map(([k, v]) => [k, h("span", { class: "mono" }, v)]))) : null);
  };

  const loadMiners = async () => {
    const list = await routes.miners();
    if (!ctx.alive) return;
    if (list.length === 0) return fill(miners, notice("No miner asked for work in the last minute."));
    fill(miners, h("ol", { class: "rows" }, list.map((m) => h("li", { class: "row", dataset: { miner: m.id } },
      h("span", { class: "row-main" }, h("span", { class: "mono" }, m.id), " pays ", h("a", { class: "mono", href: `#/address/${m.address}` }, `${m.address.slice(0, 14)}…`)),
      h("span", { class: "row-meta muted" }, `${Math.round(m.hashrate)} H/s · ${m.threads} thread${m.threads === 1 ? "" : "s"} · seen ${formatDuration(Date.now() / 1000 - m.last_seen)} ago`)))));
  };

  const loadAll = () => Promise.allSettled([loadPeers(), loadServices(), loadMiners().catch((e) => { if (ctx.alive) fill(miners, notice(e.message, "error")); })]);
  ctx.every(10000, loadAll);
  await loadAll();
}
