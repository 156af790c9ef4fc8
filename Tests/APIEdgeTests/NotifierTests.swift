@testable import APIEdge
import Bus
import ChainCore
import Foundation
import NodeKit
import Synchronization
import Testing
import TestSupport

@Suite("Public ZMQ notifications")
struct NotifierTests {
    @Test func announcesWithItsOwnCountersAndBitcoinCoreBodies() async throws {
        try await Stack.with(zmqPub: "tcp://127.0.0.1:*") { s in
            let notifier = try #require(s.edge.notifier)
            let endpoint = notifier.endpoints[0]
            #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
            let context = try ZMQContext()
            let sub = try await Subscriber(context: context, connect: [endpoint], topics: PublicNotifier.topics)
            try await sub.ready()
            try await s.edge.subscriptionsReady()
            try await waitUntil("the feeds' first snapshots", timeout: 15, every: 0.05) { await s.edge.feedsStarted() }
            let f = s.fixture

            // The chain store's own counters are ahead: the edge counts from 0 per topic.
            for _ in 0..<3 { s.chain.publisher.publish(topic: Topic.hashblock, body: f.tip.hash.displayBytes) }
            // A block on the tip: sequence C, then (at the end of the change) hashblock and rawblock.
            let block = f.next(after: f.tip, height: 5)
            s.chain.publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: 5, raw: block.encoded))
            s.chain.publisher.publish(topic: Topic.hashblock, body: block.hash.displayBytes)
            // `pending` (in the pool when the feed started) leaves (R) and comes back (A).
            let txid = f.pending.txid.displayBytes
            s.pool.publisher.publish(topic: Topic.sequence, body: txid + Array("R".utf8) + [7, 0, 0, 0, 0, 0, 0, 0])
            s.pool.publisher.publish(topic: Topic.hashtx, body: txid)
            s.pool.publisher.publish(topic: Topic.rawtx, body: f.pending.encoded)
            s.pool.publisher.publish(topic: Topic.sequence, body: txid + Array("A".utf8) + [8, 0, 0, 0, 0, 0, 0, 0])

            let got = try await withHangGuard("seven notifications") {
                var it = sub.events.makeAsyncIterator()
                var out = [SubscriberEvent]()
                while out.count < 7, let e = await it.next() { out.append(e) }
                return out
            }
            #expect(got.contains(.message(topic: Topic.hashblock, body: block.hash.displayBytes, sequence: 0)))
            #expect(got.contains(.message(topic: Topic.rawblock, body: block.encoded, sequence: 0)))
            #expect(got.contains(.message(topic: Topic.hashtx, body: txid, sequence: 0)))
            #expect(got.contains(.message(topic: Topic.rawtx, body: f.pending.encoded, sequence: 0)))
            let sequences = got.compactMap { e -> (body: [UInt8], seq: UInt32)? in
                if case let .message(Topic.sequence, body, seq) = e { return (body, seq) }
                return nil
            }
            #expect(sequences.map(\.seq).sorted() == [0, 1, 2])
            #expect(sequences.contains { $0.body == block.hash.displayBytes + Array("C".utf8) })
            #expect(sequences.contains { $0.body == txid + Array("R".utf8) + [7, 0, 0, 0, 0, 0, 0, 0] })
            #expect(sequences.contains { $0.body == txid + Array("A".utf8) + [8, 0, 0, 0, 0, 0, 0, 0] })
            #expect(!got.contains { if case .gap = $0 { return true }; if case .reset = $0 { return true }; return false })

            // A plain SUB socket (as bitcoind's zmq_sub.py) sees 3 frames with a little-endian counter.
            let frames = try await rawReceive(context: context, endpoint: endpoint, topic: Topic.hashtx) {
                s.pool.publisher.publish(topic: Topic.sequence, body: txid + Array("R".utf8) + [9, 0, 0, 0, 0, 0, 0, 0])
                s.pool.publisher.publish(topic: Topic.rawtx, body: f.pending.encoded)
                s.pool.publisher.publish(topic: Topic.sequence, body: txid + Array("A".utf8) + [10, 0, 0, 0, 0, 0, 0, 0])
            }
            #expect(frames.count == 3)
            #expect(frames.first == Array(Topic.hashtx.utf8))
            #expect(frames.dropFirst().first == txid)
            #expect(frames.last?.count == 4)
            if let seq = frames.last, seq.count == 4 {
                let n = UInt32(seq[0]) | UInt32(seq[1]) << 8 | UInt32(seq[2]) << 16 | UInt32(seq[3]) << 24
                #expect(n >= 1)  // hashtx #0 went out above; later ones count up from there
            }
            await sub.stop()
            await context.terminate()
        }
    }

    /// A transaction the mempool acknowledged but never announced (it died first) and that a block
    /// holds: hashtx, rawtx and sequence A (with the newest mempool sequence seen) go out just before
    /// the block's C, so a subscriber sees it enter the pool, then leave it by inclusion.
    @Test func aTransactionFirstSeenInItsBlockIsAnnouncedBeforeIt() async throws {
        try await Stack.with(zmqPub: "tcp://127.0.0.1:*") { s in
            let notifier = try #require(s.edge.notifier)
            let context = try ZMQContext()
            let sub = try await Subscriber(context: context, connect: [notifier.endpoints[0]], topics: PublicNotifier.topics)
            try await sub.ready()
            try await s.edge.subscriptionsReady()
            try await waitUntil("the feeds' first snapshots", timeout: 15, every: 0.05) { await s.edge.feedsStarted() }
            let f = s.fixture
            let block = ChainFixture.mine(parent: f.tip.header, [ChainFixture.coinbase(height: 5, outputs: [TxOutput(value: 1, publicKey: f.alice.publicKey)]), f.orphan])
            s.chain.publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: 5, raw: block.encoded))
            let got = try await withHangGuard("four notifications") {
                var it = sub.events.makeAsyncIterator()
                var out = [SubscriberEvent]()
                while out.count < 4, let e = await it.next() { out.append(e) }
                return out
            }
            let txid = f.orphan.txid.displayBytes
            #expect(got == [.message(topic: Topic.hashtx, body: txid, sequence: 0),
                            .message(topic: Topic.rawtx, body: f.orphan.encoded, sequence: 0),
                            .message(topic: Topic.sequence, body: txid + Array("A".utf8) + [7, 0, 0, 0, 0, 0, 0, 0], sequence: 0),
                            .message(topic: Topic.sequence, body: block.hash.displayBytes + Array("C".utf8), sequence: 1)])
            await sub.stop()
            await context.terminate()
        }
    }

    /// When the edge cannot tell what was missed, the public feed says so as bitcoind's restart
    /// would: every counter starts again from 0 (a new publisher instance on the same endpoint).
    @Test func aResyncResetsTheCounters() async throws {
        try await Stack.with(zmqPub: "tcp://127.0.0.1:*") { s in
            let notifier = try #require(s.edge.notifier)
            let context = try ZMQContext()
            let sub = try await Subscriber(context: context, connect: notifier.endpoints, topics: [Topic.hashtx])
            try await sub.ready()
            let f = s.fixture
            let tx = FeedEvent.txAdded(tx: f.pending, txid: f.pending.txid, raw: f.pending.encoded, mempoolSequence: 1)
            await notifier.deliver(tx)
            await notifier.deliver(tx)
            await notifier.deliver(.resync(scope: "chain", reason: "test"))
            #expect(await notifier.resets == 1)
            let got = try await withHangGuard("a reset") {
                var it = sub.events.makeAsyncIterator()
                var out = [SubscriberEvent]()
                while let e = await it.next() {
                    out.append(e)
                    if case .reset = e { break }
                    if out.count == 2 { await notifier.deliver(tx) }   // after the reset: counter 0 again
                }
                return out
            }
            #expect(got.prefix(2) == [.message(topic: Topic.hashtx, body: f.pending.txid.displayBytes, sequence: 0),
                                      .message(topic: Topic.hashtx, body: f.pending.txid.displayBytes, sequence: 1)])
            #expect(got.contains { if case .reset(Topic.hashtx, 2, _) = $0 { return true }; return false })
            await sub.stop()
            await context.terminate()
        }
    }

    /// Connects a raw SUB socket on its own thread and calls `poke` until a message arrives (slow joiner).
    func rawReceive(context: ZMQContext, endpoint: String, topic: String, poke: @escaping @Sendable () -> Void) async throws -> [[UInt8]] {
        let done = Atomic<Bool>(false)
        let poker = Task {
            while !done.load(ordering: .acquiring) && !Task.isCancelled {
                poke()
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        defer { poker.cancel() }
        return try await withHangGuard("raw SUB receive") {
            try await onOwnThread {
                let socket = try ZMQSocket(context: context, type: .sub)
                defer { socket.close() }
                try socket.setLinger(milliseconds: 0)
                try socket.setReceiveTimeout(milliseconds: 100)
                try socket.subscribe(topic)
                try socket.connect(endpoint)
                for _ in 0..<300 {
                    if let frames = try socket.receive() {
                        done.store(true, ordering: .releasing)
                        return frames
                    }
                }
                throw HangGuardExpired(what: "raw SUB")
            }
        }
    }
}
