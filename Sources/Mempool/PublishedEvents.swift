import Bus
import ChainCore
import Foundation
import NodeKit

/// Bitcoin Core's mempool notifications plus the internal ones.
struct PublishedEvents: PoolEvents {
    let publisher: Publisher

    func added(_ e: PoolEntry, sequence: UInt64) async {
        // The three together: one lock and one wake of the publisher's thread.
        let hash = e.txid.displayBytes
        publisher.publish([(Topic.hashtx, hash), (Topic.rawtx, e.raw), (Topic.sequence, hash + Array("A".utf8) + le64(sequence))])
    }

    func removed(_ txid: Hash256, sequence: UInt64, reason: String) async {
        publisher.publish(topic: Topic.sequence, body: txid.displayBytes + Array("R".utf8) + le64(sequence))
    }

    func templateChanged(sequence: UInt64, count: Int) async {
        if let body = try? JSON.encode(TemplateNotice(mempoolSequence: sequence, txCount: count)) {
            publisher.publish(topic: Topic.template, body: body)
        }
    }

    /// Encoded only when someone subscribes to `trace` (the edge does while a WebSocket client is
    /// connected): under a flood, three encodings per transaction for nobody were a tenth of this
    /// process's work.
    func trace(_ event: TraceEvent) async {
        _ = try? publisher.publish(topic: Topic.trace, ifSubscribed: { try JSON.encode(event) })
    }

    /// Someone subscribes to `trace` (as this publisher's thread has seen the subscriptions): the
    /// pool makes no live trace event for nobody (a txid's hex and a formatted detail each).
    var tracesWanted: Bool { publisher.hasSubscriber(Topic.trace) }

    private func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
