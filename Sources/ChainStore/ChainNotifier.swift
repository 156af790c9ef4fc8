import Bus
import ChainCore
import NodeKit

/// Publishes what changed: Bitcoin Core's topics (hashblock/rawblock for the new
/// tip, sequence C/D for every connect and disconnect) and the internal ones.
actor ChainNotifier {
    let publisher: Publisher
    /// One encoder for every event (a block of 5,000 transactions publishes 5,001 trace events).
    private let encoder = JSON.encoder()

    init(publisher: Publisher) { self.publisher = publisher }

    func publish(_ change: TipChange, tip: ChainTip) {
        for d in change.disconnected {
            publisher.publish(topic: Topic.sequence, body: d.block.hash.displayBytes + Array("D".utf8))
            publisher.publish(topic: Topic.disconnected, body: HeightPrefixed.encode(height: d.height, raw: d.block.encoded))
            trace(d.trace)
        }
        var lastRaw = [UInt8]()
        for c in change.connected {
            lastRaw = c.block.encoded
            publisher.publish(topic: Topic.sequence, body: c.block.hash.displayBytes + Array("C".utf8))
            publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: c.height, raw: lastRaw))
            trace(c.trace)
        }
        if let last = change.connected.last {
            publisher.publish(topic: Topic.hashblock, body: last.block.hash.displayBytes)
            publisher.publish(topic: Topic.rawblock, body: lastRaw)
        }
        announceTip(tip)
    }

    func announceTip(_ tip: ChainTip) {
        if let body = try? encoder.encode(tip) { publisher.publish(topic: Topic.tip, body: Array(body)) }
    }

    /// The events `Chain` stored, published as stored (same text, same time).
    func trace(_ events: [TraceEvent]) {
        for e in events {
            if let body = try? encoder.encode(e) { publisher.publish(topic: Topic.trace, body: Array(body)) }
        }
    }
}
