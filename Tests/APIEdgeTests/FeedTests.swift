@testable import APIEdge
import Bus
import ChainCore
import Foundation
import HummingbirdTesting
import HummingbirdWSTesting
import NodeKit
import Synchronization
import Testing
import TestSupport

@Suite("WebSocket feed")
struct FeedTests {
    static func decode(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func helloBlockTxAndTrackedAddress() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.edge.subscriptionsReady()
            try await waitUntil("the feeds' first snapshots", timeout: 15, every: 0.05) { await s.edge.feedsStarted() }
            // A block on top of the fixture's tip holding `pending` (which pays bob).
            let block = ChainFixture.mine(parent: f.tip.header, [ChainFixture.coinbase(height: 5, outputs: [TxOutput(value: 1, publicKey: f.alice.publicKey)]), f.pending])
            let seen = Mutex<[String]>([])
            _ = try await withHangGuard("websocket exchange") {
                try await s.http(.live) { c in
                    try await c.ws("/api/ws") { inbound, outbound, _ in
                        var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                        func next(_ type: String) async throws -> [String: Any] {
                            while let m = try await messages.next() {
                                guard case .text(let text) = m else { continue }
                                let object = Self.decode(text)
                                let type = object["type"] as? String ?? "?"
                                seen.withLock { $0.append(type) }
                                if object["type"] as? String == type { return object }
                            }
                            throw HangGuardExpired(what: "connection closed before a \(type) message")
                        }
                        let hello = try await next("hello")
                        #expect(hello["network"] as? String == "regtest")
                        #expect(hello["height"] as? Int == 4)
                        #expect(hello["tip"] as? String == f.tip.hash.hex)
                        #expect((hello["instance"] as? String)?.count == 16)
                        #expect(hello["seq"] as? Int == 0)

                        // Bad client messages get an error, and the connection stays up.
                        try await outbound.write(.text("not json"))
                        #expect(try await next("error")["code"] as? String == "bad-message")
                        try await outbound.write(.text(#"{"track-address": "rcrn1nonsense"}"#))
                        #expect(try await next("error")["code"] as? String != nil)

                        try await outbound.write(.text(#"{"track-address": "\#(f.bob.address.string)"}"#))
                        #expect(try await next("tracking")["tracking"] as? Bool == true)

                        // `pending` was in the pool when the feed started: its removal is announced (R),
                        // then its return (A) gives a "tx" message and an address-tx for bob (an output pays him).
                        let txid = f.pending.txid.displayBytes
                        s.pool.publisher.publish(topic: Topic.sequence, body: txid + Array("R".utf8) + [8, 0, 0, 0, 0, 0, 0, 0])
                        let removed = try await next("tx-removed")
                        #expect(removed["txid"] as? String == f.pending.txid.hex)
                        #expect(removed["seq"] as? Int == 1)
                        s.pool.publisher.publish(topic: Topic.hashtx, body: txid)
                        s.pool.publisher.publish(topic: Topic.rawtx, body: f.pending.encoded)
                        s.pool.publisher.publish(topic: Topic.sequence, body: txid + Array("A".utf8) + [9, 0, 0, 0, 0, 0, 0, 0])
                        let tx = try await next("tx")
                        #expect(tx["seq"] as? Int == 2)
                        #expect(tx["txid"] as? String == f.pending.txid.hex)
                        #expect(tx["fee"] as? Int == 10_000)
                        #expect(tx["size"] as? Int == f.pending.encodedSize)
                        let pending = try await next("address-tx")
                        #expect(pending["address"] as? String == f.bob.address.string)
                        #expect(pending["txid"] as? String == f.pending.txid.hex)
                        #expect(pending["confirmed"] as? Bool == false)

                        // A connected block holding it: a "block" message with the /api/block shape, a confirmed address-tx.
                        // The fixture's tip again is not announced twice.
                        s.chain.publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: 4, raw: f.tip.encoded))
                        s.chain.publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: 5, raw: block.encoded))
                        let blockMsg = try await next("block")
                        #expect((blockMsg["block"] as? [String: Any])?["id"] as? String == block.hash.hex)
                        #expect((blockMsg["block"] as? [String: Any])?["height"] as? Int == 5)
                        #expect((blockMsg["block"] as? [String: Any])?["tx_count"] as? Int == 2)
                        #expect(blockMsg["seq"] as? Int == 3)
                        let confirmed = try await next("address-tx")
                        #expect(confirmed["txid"] as? String == f.pending.txid.hex)
                        #expect(confirmed["confirmed"] as? Bool == true)

                        // Trace events from either publisher are forwarded (subscribed to while a client is connected).
                        try await waitUntil("the trace subscription reaches the mempool", timeout: 15, every: 0.02) {
                            s.pool.publisher.hasSubscriber(Topic.trace)
                        }
                        let event = TraceEvent(id: f.pending.txid.hex, kind: .tx, stage: .template, service: .mempool, time: 1)
                        s.pool.publisher.publish(topic: Topic.trace, body: try JSON.encode(event))
                        let trace = try await next("trace")
                        #expect((trace["event"] as? [String: Any])?["stage"] as? String == "template")
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
            #expect(seen.withLock { $0.first } == "hello")
            // Every step above ran (an error inside the client handler would end it early).
            #expect(seen.withLock { $0.last } == "trace")
        }
    }

    @Test func hubReplaysAfterACursorOrSaysResync() async throws {
        let hub = Hub(queueLimit: 10, metrics: EdgeMetrics(), replayWindow: 3)
        let instance = await hub.instance
        for i in 1...5 { await hub.publish(blockHash: "h\(i)", height: i) { "m\($0)" } }
        // From a feed sequence of this instance, within the window: what followed.
        #expect(await hub.replay(after: ResumeCursor(query: ["since": "3", "instance": instance])!) == ["m4", "m5"])
        #expect(await hub.replay(after: ResumeCursor(query: ["since": "5", "instance": instance])!) == [])
        // From a block hash in the window.
        let hash = { (i: Int) in String(repeating: "0", count: 63) + "\(i)" }
        let hub2 = Hub(queueLimit: 10, metrics: EdgeMetrics(), replayWindow: 10)
        for i in 1...4 { await hub2.publish(blockHash: hash(i), height: i) { "b\($0)" } }
        #expect(await hub2.replay(after: ResumeCursor(query: ["since_hash": hash(2)])!) == ["b3", "b4"])
        // Another instance's sequence, or one that fell out of the window: nothing to replay from here.
        #expect(await hub.replay(after: ResumeCursor(query: ["since": "3", "instance": "0123456789abcdef"])!) == nil)
        #expect(await hub.replay(after: ResumeCursor(query: ["since": "0", "instance": instance])!) == nil)
        let (_, stream) = await hub.connect(cursor: ResumeCursor(query: ["since": "0", "instance": instance])) { _, _ in "hello" }
        var it = stream.makeAsyncIterator()
        #expect(await it.next() == "hello")
        let resync = FeedTests.decode(await it.next() ?? "")
        #expect(resync["type"] as? String == "resync")
        #expect(resync["scope"] as? String == "all")
        // A cursor outside the window: the client is held while the chain replay is fetched; a block
        // announced meanwhile goes out once, live, after the replayed ones before it.
        let h3 = Hub(queueLimit: 10, metrics: EdgeMetrics())
        let (held, heldStream, needsReplay, _) = await h3.connectResuming(cursor: ResumeCursor(query: ["since_hash": hash(1)])) { _, _ in "hello" }
        #expect(needsReplay)
        await h3.publish(blockHash: hash(3), height: 3) { "live b3 #\($0)" }
        await h3.resume(held, replay: [("replayed b2", hash(2)), ("replayed b3", hash(3)), ("resync mempool", nil)])
        await h3.disconnect(held)
        var got = [String]()
        for await m in heldStream { got.append(m) }
        #expect(got == ["hello", "replayed b2", "resync mempool", "live b3 #1"])
        #expect(ResumeCursor(query: [:]) == nil)
        #expect(ResumeCursor(query: ["since_hash": "not-a-hash"]) == nil)
    }

    @Test("the edge subscribes to the services' trace events only while a WebSocket client is connected")
    func traceOnlyWithClients() async throws {
        try await Stack.with(configure: { $0.traceLinger = .milliseconds(100) }) { s in
            try await s.edge.subscriptionsReady()
            try await waitUntil("the feeds' first snapshots", timeout: 15, every: 0.05) { await s.edge.feedsStarted() }
            #expect(!s.pool.publisher.hasSubscriber(Topic.trace))
            #expect(!s.chain.publisher.hasSubscriber(Topic.trace))
            #expect(s.pool.publisher.hasSubscriber(Topic.sequence))
            _ = try await withHangGuard("websocket exchange") {
                try await s.http(.live) { c in
                    try await c.ws("/api/ws") { inbound, outbound, _ in
                        var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                        _ = try await messages.next()   // hello
                        // The first client starts them (the peer bridge's too, absent here).
                        try await waitUntil("the trace subscriptions reach the services", timeout: 15, every: 0.02) {
                            s.pool.publisher.hasSubscriber(Topic.trace) && s.chain.publisher.hasSubscriber(Topic.trace)
                        }
                        // The relay records its subscriptions once they are made, which the services can
                        // see a moment before (the subscribers' handshakes): on a loaded machine, wait for it.
                        try await waitUntil("the relay records its subscriptions", timeout: 15, every: 0.02) { s.edge.traceRelay.isRunning }
                        let event = TraceEvent(id: String(repeating: "ab", count: 32), kind: .tx, stage: .accepted, service: .mempool, time: 2)
                        s.chain.publisher.publish(topic: Topic.trace, body: try JSON.encode(event))
                        while let m = try await messages.next() {
                            guard case .text(let text) = m, Self.decode(text)["type"] as? String == "trace" else { continue }
                            #expect((Self.decode(text)["event"] as? [String: Any])?["stage"] as? String == "accepted")
                            break
                        }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
            // The last client gone: after the linger, no trace subscription is left.
            try await waitUntil("the trace subscriptions stop", timeout: 15, every: 0.02) {
                !s.pool.publisher.hasSubscriber(Topic.trace) && !s.chain.publisher.hasSubscriber(Topic.trace)
            }
            #expect(!s.edge.traceRelay.isRunning)
            #expect(s.edge.traceRelay.starts == 1)
        }
    }

    @Test("the hub makes a message's text only when a client needs it: sent live, or replayed")
    func hubRendersLazily() async throws {
        let hub = Hub(queueLimit: 10, metrics: EdgeMetrics(), replayWindow: 10)
        let instance = await hub.instance
        let made = Mutex(0)
        for i in 1...3 { await hub.publish { seq in made.withLock { $0 += 1 }; return "m\(i)#\(seq)" } }
        #expect(made.withLock { $0 } == 0)
        #expect(await hub.renderedCount == 0)
        // A resuming client: the replay is made now, once.
        #expect(await hub.replay(after: ResumeCursor(query: ["since": "1", "instance": instance])!) == ["m2#2", "m3#3"])
        #expect(made.withLock { $0 } == 2)
        #expect(await hub.replay(after: ResumeCursor(query: ["since": "1", "instance": instance])!) == ["m2#2", "m3#3"])
        #expect(made.withLock { $0 } == 2)
        // With a client connected, a message is made as it is published, and sent.
        let (id, stream) = await hub.connect(first: "hello")
        #expect(hub.interest.hasClients)
        await hub.publish { seq in made.withLock { $0 += 1 }; return "m4#\(seq)" }
        #expect(made.withLock { $0 } == 3)
        await hub.disconnect(id)
        #expect(!hub.interest.hasClients)
        var received = [String]()
        for await m in stream { received.append(m) }
        #expect(received == ["hello", "m4#4"])
    }

    @Test func hubDropsAClientWhoseQueueIsFull() async throws {
        let metrics = EdgeMetrics()
        let hub = Hub(queueLimit: 2, metrics: metrics)
        let (id, stream) = await hub.connect(first: "hello")
        await hub.broadcast("one")
        #expect(await hub.clientCount == 1)
        await hub.broadcast("two")  // third message in a queue of two: dropped, client disconnected
        #expect(await hub.clientCount == 0)
        var received = [String]()
        for await m in stream { received.append(m) }
        #expect(received == ["hello", "one"])
        await hub.disconnect(id)
    }
}
