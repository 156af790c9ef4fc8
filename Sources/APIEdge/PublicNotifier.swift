import Bus
import Logging
import NodeKit

/// The public Bitcoin Core-compatible notification endpoint (`--zmq-pub`): republishes `hashblock`,
/// `rawblock` and `sequence` (C/D) from the chain store and `hashtx`, `rawtx` and `sequence`
/// (A/R + mempool sequence) from the mempool, bodies unchanged, with this publisher's own per-topic
/// counters, so `topic, body, seq = recv_multipart()` tools work as against bitcoind.
final class PublicNotifier: Sendable {
    static let chainTopics = [Topic.hashblock, Topic.rawblock, Topic.sequence]
    static let mempoolTopics = [Topic.hashtx, Topic.rawtx, Topic.sequence]

    let publisher: Publisher

    init(context: ZMQContext, endpoint: String, logger: Logger) async throws {
        publisher = try await Publisher(context: context, bind: [endpoint], hwm: 10_000, logger: logger)
    }

    var endpoints: [String] { publisher.endpoints }

    func fromChain(topic: String, body: [UInt8]) {
        if Self.chainTopics.contains(topic) { publisher.publish(topic: topic, body: body) }
    }

    func fromMempool(topic: String, body: [UInt8]) {
        if Self.mempoolTopics.contains(topic) { publisher.publish(topic: topic, body: body) }
    }

    func stop() async {
        await publisher.flush()
        await publisher.stop()
    }
}
