import ChainCore
import NodeKit

/// The chain store's trace events, each built once: stored in the `trace` table and published
/// on `chain.pub` `trace` with the same text and time.
enum ChainTrace {
    static let service = ServiceName.chainstore

    static func received(_ entry: HeaderEntry, source: String, time: Double) -> TraceEvent {
        TraceEvent(id: entry.hash.hex, kind: .block, stage: .received, service: service, time: time,
                   detail: "from \(source), height \(entry.height)")
    }

    static func rejected(_ entry: HeaderEntry, reason: ValidationError, time: Double) -> TraceEvent {
        TraceEvent(id: entry.hash.hex, kind: .block, stage: .rejected, service: service, time: time, detail: reason.description)
    }

    /// The block, then each of its transactions with its position. All are published; only the
    /// block's own event is stored (`stored(connected:)`): a transaction's is derived from its `tx`
    /// row and this one when read (`transactionConnected`), the same text and time.
    /// `txids`: the block's.
    static func connected(_ block: Block, txids: [Hash256], height: Int, source: String?, time: Double) -> [TraceEvent] {
        let by = from(source)
        let hash = block.hash.hex
        let service = service.rawValue
        // Built once per block, not per transaction (a block of 5,000 makes 5,001 events).
        let prefix = transactionPrefix(block: hash, height: height)
        var events = [TraceEvent]()
        events.reserveCapacity(txids.count + 1)
        events.append(TraceEvent(id: hash, kind: .block, stage: .connected, service: service, time: time, detail: "height \(height)\(by)"))
        for (pos, txid) in txids.enumerated() {
            events.append(TraceEvent(id: txid.hex, kind: .tx, stage: .connected, service: service, time: time,
                                     detail: prefix + String(pos) + by))
        }
        return events
    }

    /// What a connected block stores of `connected`'s events: the block's own (the first).
    static func stored(connected events: [TraceEvent]) -> [TraceEvent] { Array(events.prefix(1)) }

    /// The `connected` event of the transaction `txid` at `position` in the block (at `height`)
    /// whose own `connected` event is `blockEvent`, exactly as `connected` published it; nil when
    /// `blockEvent` is not one `connected` made.
    static func transactionConnected(txid: String, position: Int, height: Int, blockEvent: TraceEvent) -> TraceEvent? {
        let head = "height \(height)"
        guard blockEvent.kind == .block, blockEvent.stage == .connected, let detail = blockEvent.detail, detail.hasPrefix(head) else { return nil }
        let by = detail.dropFirst(head.count)
        return TraceEvent(id: txid, kind: .tx, stage: .connected, service: blockEvent.service, time: blockEvent.time,
                          detail: transactionPrefix(block: blockEvent.id, height: height) + String(position) + by)
    }

    private static func from(_ source: String?) -> String { source.map { ", from \($0)" } ?? "" }

    private static func transactionPrefix(block hash: String, height: Int) -> String { "block \(hash) height \(height) position " }

    /// Each transaction, then the block.
    static func disconnected(_ block: Block, time: Double) -> [TraceEvent] {
        let hash = block.hash.hex
        return block.txids.map { txid in
            TraceEvent(id: txid.hex, kind: .tx, stage: .disconnected, service: service, time: time,
                       detail: "block \(hash) left the best chain")
        } + [TraceEvent(id: hash, kind: .block, stage: .disconnected, service: service, time: time, detail: nil)]
    }
}
