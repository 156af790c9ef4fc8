import Bus
import ChainCore
import NodeKit

/// Publishes what changed: Bitcoin Core's topics (hashblock/rawblock for the new
/// tip, sequence C/D for every connect and disconnect) and the internal ones.
actor ChainNotifier {
    let publisher: Publisher

    init(publisher: Publisher) { self.publisher = publisher }

    func publish(_ change: TipChange, tip: ChainTip) {
        for d in change.disconnected {
            publisher.publish(topic: Topic.sequence, body: d.block.hash.displayBytes + Array("D".utf8))
            publisher.publish(topic: Topic.disconnected, body: HeightPrefixed.encode(height: d.height, raw: d.block.encoded))
            trace(d.trace)
        }
        for c in change.connected {
            publisher.publish(topic: Topic.sequence, body: c.block.hash.displayBytes + Array("C".utf8))
            publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: c.height, raw: c.block.encoded))
            trace(c.trace)
        }
        if let last = change.connected.last {
            publisher.publish(topic: Topic.hashblock, body: last.block.hash.displayBytes)
            publisher.publish(topic: Topic.rawblock, body: last.block.encoded)
        }
        announceTip(tip)
    }

    func announceTip(_ tip: ChainTip) {
        if let body = try? JSON.encode(tip) { publisher.publish(topic: Topic.tip, body: body) }
    }

    /// The events `Chain` stored, published as stored (same text, same time).
    func trace(_ events: [TraceEvent]) {
        for e in events {
            if let body = try? JSON.encode(e) { publisher.publish(topic: Topic.trace, body: body) }
        }
    }
}
