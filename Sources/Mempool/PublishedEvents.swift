import Bus
import ChainCore
import Foundation
import NodeKit

/// Bitcoin Core's mempool notifications plus the internal ones.
struct PublishedEvents: PoolEvents {
    let publisher: Publisher

    func added(_ e: PoolEntry, sequence: UInt64) async {
        // The three together: one lock and one wake of the publisher's thread.
        publisher.publish(Self.addedMessages(e, sequence: sequence))
    }

    func removed(_ txid: Hash256, sequence: UInt64, reason: String) async {
        publisher.publish(topic: Topic.sequence, body: Self.removedBody(txid, sequence: sequence))
    }

    /// A batch's announcements (a group commit's, after it returned) handed to the publisher's
    /// thread in one go: one lock and at most one wake for all, instead of one per transaction.
    /// Each is still its own message with its own sequence number on its topic, in the batch's
    /// order (hashtx, rawtx, sequence A of each entry, as `added` makes them; sequence R as
    /// `removed`; the trace events only when someone subscribes to `trace`).
    func announce(_ publications: [WriteQueue.Publication]) async {
        _ = announceNow(publications)
    }

    /// `publish` hands over without waiting (a lock and a wake of the publisher's thread): the
    /// writer calls this on the pool's actor, with no hop off it and back.
    func announceNow(_ publications: [WriteQueue.Publication]) -> Bool {
        let messages = Self.messages(publications, traces: tracesWanted)
        if !messages.isEmpty { publisher.publish(messages) }
        return true
    }

    /// The messages `announce` publishes, in order.
    static func messages(_ publications: [WriteQueue.Publication], traces: Bool) -> [(topic: String, body: [UInt8])] {
        var out = [(topic: String, body: [UInt8])]()
        out.reserveCapacity(publications.count * 3)
        for p in publications {
            switch p {
            case let .added(e, sequence): out += addedMessages(e, sequence: sequence)
            case let .removed(t, sequence, _): out.append((Topic.sequence, removedBody(t, sequence: sequence)))
            case let .trace(e):
                if traces, let body = try? JSON.encode(e) { out.append((Topic.trace, body)) }
            case let .accepted(e, replacing):
                if traces, let body = try? JSON.encode(WriteQueue.Publication.acceptedEvent(e, replacing: replacing)) {
                    out.append((Topic.trace, body))
                }
            }
        }
        return out
    }

    static func addedMessages(_ e: PoolEntry, sequence: UInt64) -> [(topic: String, body: [UInt8])] {
        let hash = e.txid.displayBytes
        return [(Topic.hashtx, hash), (Topic.rawtx, e.raw), (Topic.sequence, hash + Array("A".utf8) + le64(sequence))]
    }

    static func removedBody(_ txid: Hash256, sequence: UInt64) -> [UInt8] {
        txid.displayBytes + Array("R".utf8) + le64(sequence)
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

    private static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
