@testable import APIEdge
import Bus
import ChainCore
import Foundation
import NodeKit
import Synchronization
import Testing

@Suite("Public ZMQ notifications")
struct NotifierTests {
    @Test func republishesWithItsOwnCounters() async throws {
        try await Stack.with(zmqPub: "tcp://127.0.0.1:*") { s in
            let notifier = try #require(s.edge.notifier)
            let endpoint = notifier.endpoints[0]
            #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
            let context = try ZMQContext()
            let sub = try await Subscriber(context: context, connect: [endpoint], topics: [Topic.hashblock, Topic.sequence])
            try await sub.ready()
            try await s.edge.subscriptionsReady()

            // The chain store's own counters are ahead: the edge counts from 0 per topic.
            for _ in 0..<3 { s.chain.publisher.publish(topic: Topic.hashtx, body: [0]) }
            let hash = s.fixture.tip.hash.displayBytes
            s.chain.publisher.publish(topic: Topic.hashblock, body: hash)
            s.chain.publisher.publish(topic: Topic.sequence, body: hash + Array("C".utf8))
            s.pool.publisher.publish(topic: Topic.sequence, body: s.fixture.pending.txid.displayBytes + Array("A".utf8) + [7, 0, 0, 0, 0, 0, 0, 0])

            var got = [SubscriberEvent]()
            try await withHangGuard("three notifications") {
                var it = sub.events.makeAsyncIterator()
                var out = [SubscriberEvent]()
                while out.count < 3, let e = await it.next() { out.append(e) }
                return out
            }.forEach { got.append($0) }
            #expect(got.contains(.message(topic: Topic.hashblock, body: hash, sequence: 0)))
            let sequences = got.compactMap { e -> (body: [UInt8], seq: UInt32)? in
                if case let .message(Topic.sequence, body, seq) = e { return (body, seq) }
                return nil
            }
            #expect(sequences.map(\.seq).sorted() == [0, 1])
            #expect(sequences.contains { $0.body == hash + Array("C".utf8) })
            #expect(sequences.contains { $0.body.count == 32 + 1 + 8 && $0.body[32] == UInt8(ascii: "A") })

            // A plain SUB socket (as bitcoind's zmq_sub.py) sees 3 frames with a little-endian counter.
            let frames = try await rawReceive(context: context, endpoint: endpoint, topic: Topic.hashblock) {
                s.chain.publisher.publish(topic: Topic.hashblock, body: hash)
            }
            #expect(frames.count == 3)
            #expect(frames.first == Array(Topic.hashblock.utf8))
            #expect(frames.dropFirst().first == hash)
            #expect(frames.last?.count == 4)
            if let seq = frames.last, seq.count == 4 {
                let n = UInt32(seq[0]) | UInt32(seq[1]) << 8 | UInt32(seq[2]) << 16 | UInt32(seq[3]) << 24
                #expect(n >= 1)  // hashblock #0 went out above; later ones count up from there
            }
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
            try await withCheckedThrowingContinuation { (k: CheckedContinuation<[[UInt8]], any Error>) in
                let thread = Thread {
                    do {
                        let socket = try ZMQSocket(context: context, type: .sub)
                        defer { socket.close() }
                        try socket.setLinger(milliseconds: 0)
                        try socket.setReceiveTimeout(milliseconds: 100)
                        try socket.subscribe(topic)
                        try socket.connect(endpoint)
                        for _ in 0..<300 {
                            if let frames = try socket.receive() {
                                done.store(true, ordering: .releasing)
                                return k.resume(returning: frames)
                            }
                        }
                        k.resume(throwing: HangError(what: "raw SUB"))
                    } catch {
                        k.resume(throwing: error)
                    }
                }
                thread.start()
            }
        }
    }
}
