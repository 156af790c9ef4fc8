import Bus
import ChainCore
import Logging
import NodeKit

/// The public Bitcoin Core-compatible notification endpoint (`--zmq-pub`): `hashblock`, `rawblock`,
/// `hashtx`, `rawtx` and `sequence` (C/D, and A/R with the mempool sequence) with Bitcoin Core's
/// bodies and this publisher's own per-topic counters, so `topic, body, seq = recv_multipart()`
/// tools work as against bitcoind. The events come from the edge's followers (`FeedEvent`), which
/// fill in whatever the internal streams lost, so the counters stay continuous across restarts of
/// the chain store, the mempool and the miner. When the edge cannot tell what was missed
/// (`.resync`), the publisher is bound anew: every counter starts again from 0 (a reset, as when
/// bitcoind restarts), which tells a subscriber to resync.
actor PublicNotifier {
    static let topics = [Topic.hashblock, Topic.rawblock, Topic.hashtx, Topic.rawtx, Topic.sequence]

    private var publisher: Publisher
    private let context: ZMQContext
    private let logger: Logger
    /// The bound endpoints (wildcard ports resolved), kept across a reset.
    nonisolated let endpoints: [String]
    private(set) var resets = 0

    init(context: ZMQContext, endpoint: String, logger: Logger) async throws {
        let publisher = try await Publisher(context: context, bind: [endpoint], hwm: 10_000, logger: logger)
        self.publisher = publisher
        self.context = context
        self.logger = logger
        endpoints = publisher.endpoints
    }

    func deliver(_ event: FeedEvent) async {
        switch event {
        case let .connected(_, block, _):
            publisher.publish(topic: Topic.sequence, body: block.hash.displayBytes + Array("C".utf8))
        case let .disconnected(_, hash, _):
            publisher.publish(topic: Topic.sequence, body: hash.displayBytes + Array("D".utf8))
        case let .newTip(hash, raw):
            publisher.publish(topic: Topic.hashblock, body: hash.displayBytes)
            publisher.publish(topic: Topic.rawblock, body: raw)
        case let .txAdded(_, txid, raw, seq):
            publisher.publish(topic: Topic.hashtx, body: txid.displayBytes)
            publisher.publish(topic: Topic.rawtx, body: raw)
            publisher.publish(topic: Topic.sequence, body: txid.displayBytes + Array("A".utf8) + Self.le64(seq))
        case let .txRemoved(txid, seq):
            publisher.publish(topic: Topic.sequence, body: txid.displayBytes + Array("R".utf8) + Self.le64(seq))
        case let .resync(scope, reason):
            await reset(why: "\(scope): \(reason)")
        }
    }

    /// Binds a new publisher instance on the same endpoints: counters from 0 on every topic.
    private func reset(why: String) async {
        logger.warning("public feed: counters reset (subscribers must resync)", metadata: ["reason": "\(why)"])
        await publisher.flush()
        await publisher.stop()
        for attempt in 1...50 {
            do {
                publisher = try await Publisher(context: context, bind: endpoints, hwm: 10_000, logger: logger)
                resets += 1
                return
            } catch {
                if attempt == 50 { logger.error("public feed: could not bind again", metadata: ["error": "\(error)"]) }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    func stop() async {
        await publisher.flush()
        await publisher.stop()
    }
}
