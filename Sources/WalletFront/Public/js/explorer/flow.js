// #/flow: the full flow view, with the event log beside the diagram.
import { h, fill, panel } from "../ui/dom.js";
import { FlowDiagram } from "./flowdiagram.js";
import { learningPanel } from "./learning.js";

export function flowView(ctx) {
  const diagram = h("div", { class: "flow-box", testid: "flow-diagram" });
  const log = h("ol", { class: "flow-log", testid: "flow-log", "aria-label": "Recent events, newest first", "aria-live": "off" });
  fill(ctx.main,
    h("h1", { text: "Flow: the node's services, live" }),
    h("p", { class: "muted intro" },
      "Each dot is one event as it happens: a transaction arriving at the edge and going to the mempool, the mempool putting it in a miner's template, a miner's block reaching the chain store, and the new block going out to the mempool, the edge and its clients. Select an event in the log to open its transaction or block."),
    learningPanel(ctx),
    h("div", { class: "flow-layout" },
      panel(null, { class: "panel flow-panel" }, diagram,
        h("p", { class: "legend" },
          h("span", { class: "key key-tx" }), " transaction ",
          h("span", { class: "key key-block" }), " block ",
          h("span", { class: "key key-bad" }), " rejected or removed")),
      panel("Events", { class: "panel flow-log-panel" }, log)),
  );
  const flow = new FlowDiagram({ diagram, log, feed: ctx.app.feed, compact: false, logLimit: 40 });
  ctx.onCleanup(() => flow.destroy());
}
