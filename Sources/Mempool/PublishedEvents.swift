import Bus
import ChainCore
import Foundation
import NodeKit

/// Bitcoin Core's mempool notifications plus the internal ones.
struct PublishedEvents: PoolEvents {
    let publisher: Publisher

    func added(_ e: PoolEntry, sequence: UInt64) async {
        publisher.publish(topic: Topic.hashtx, body: e.txid.displayBytes)
        publisher.publish(topic: Topic.rawtx, body: e.raw)
        publisher.publish(topic: Topic.sequence, body: e.txid.displayBytes + Array("A".utf8) + le64(sequence))
    }

    func removed(_ txid: Hash256, sequence: UInt64, reason: String) async {
        publisher.publish(topic: Topic.sequence, body: txid.displayBytes + Array("R".utf8) + le64(sequence))
    }

    func templateChanged(sequence: UInt64, count: Int) async {
        if let body = try? JSON.encode(TemplateNotice(mempoolSequence: sequence, txCount: count)) {
            publisher.publish(topic: Topic.template, body: body)
        }
    }

    func trace(_ event: TraceEvent) async {
        if let body = try? JSON.encode(event) { publisher.publish(topic: Topic.trace, body: body) }
    }

    private func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
