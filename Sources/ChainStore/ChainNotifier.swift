import Bus
import ChainCore
import NodeKit

/// Publishes what changed: Bitcoin Core's topics (hashblock/rawblock for the new
/// tip, sequence C/D for every connect and disconnect) and the internal ones.
///
/// The block topics and the tip go out before `publish` returns (before `submitblock` replies);
/// the trace events (a block of 5,000 transactions makes 5,001) are encoded and published in
/// order by a task of their own, so the reply does not wait for them. They are stored with the
/// block before it is acknowledged (a transaction's `connected` event as its tx row and the
/// block's own event, from which `gettrace` derives it), so `gettrace` has them either way.
actor ChainNotifier {
    /// The chain store's PUB high-water mark: every trace event of ten of the largest blocks
    /// (`maxTraceEventsPerBlock`), with their other topics, fits, so a subscriber that lags a
    /// whole block, or a reorganisation of several, behind sees no gap. A message beyond it is
    /// dropped by libzmq for that subscriber (which sees a gap and resyncs).
    static let publisherHWM = Int32(10 * (maxTraceEventsPerBlock + 4))
    /// The most transactions a block can hold, plus the block's own event.
    static let maxTraceEventsPerBlock = Limits.maxBlockSize / Limits.minTransactionSize + 1

    let publisher: Publisher
    /// One encoder for the tip; the trace task has its own.
    private let encoder = JSON.encoder()
    /// Trace events waiting for the trace task, in the order they were stored.
    private let traces: AsyncStream<[TraceEvent]>.Continuation
    private let tracing: Task<Void, Never>

    init(publisher: Publisher) {
        self.publisher = publisher
        let (stream, continuation) = AsyncStream<[TraceEvent]>.makeStream()
        traces = continuation
        // Below the chain's own work: the next block's connection goes first.
        tracing = Task.detached(priority: .utility) {
            let encoder = JSON.encoder()
            for await events in stream {
                // Encoded only while someone subscribes to `trace` (the edge does while an /api/ws
                // client is connected): a skipped event takes no sequence number, so no one sees a gap.
                guard publisher.hasSubscriber(Topic.trace) else { continue }
                let bodies = events.compactMap { e in (try? encoder.encode(e)).map { (topic: Topic.trace, body: Array($0)) } }
                _ = publisher.publish(bodies)
            }
        }
    }

    deinit {
        traces.finish()
    }

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

    /// The events `Chain` stored, queued for publishing as stored (same text, same time), after
    /// every event queued before them.
    nonisolated func trace(_ events: [TraceEvent]) {
        traces.yield(events)
    }

}
