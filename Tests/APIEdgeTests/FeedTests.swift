@testable import APIEdge
import Bus
import ChainCore
import Foundation
import HummingbirdTesting
import HummingbirdWSTesting
import NodeKit
import Synchronization
import Testing

@Suite("WebSocket feed")
struct FeedTests {
    static func decode(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func helloBlockTxAndTrackedAddress() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.edge.subscriptionsReady()
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
                            throw HangError(what: "connection closed before a \(type) message")
                        }
                        let hello = try await next("hello")
                        #expect(hello["network"] as? String == "regtest")
                        #expect(hello["height"] as? Int == 4)
                        #expect(hello["tip"] as? String == f.tip.hash.hex)

                        // A new tip on chain.pub becomes a "block" message with the /api/block shape.
                        let tip = ChainTip(height: 4, hash: f.tip.hash.hex, time: f.tip.header.time, nextBits: 0x207fffff, medianTimePast: 0)
                        s.chain.publisher.publish(topic: Topic.tip, body: try JSON.encode(tip))
                        let block = try await next("block")
                        #expect((block["block"] as? [String: Any])?["id"] as? String == f.tip.hash.hex)
                        #expect((block["block"] as? [String: Any])?["tx_count"] as? Int == 2)

                        // Bad client messages get an error, and the connection stays up.
                        try await outbound.write(.text("not json"))
                        #expect(try await next("error")["code"] as? String == "bad-message")
                        try await outbound.write(.text(#"{"track-address": "rcrn1nonsense"}"#))
                        #expect(try await next("error")["code"] as? String != nil)

                        try await outbound.write(.text(#"{"track-address": "\#(f.bob.address.string)"}"#))
                        #expect(try await next("tracking")["tracking"] as? Bool == true)

                        // A mempool addition: a "tx" message, and an address-tx for bob (an output pays him).
                        s.pool.publisher.publish(topic: Topic.rawtx, body: f.pending.encoded)
                        let tx = try await next("tx")
                        #expect(tx["txid"] as? String == f.pending.txid.hex)
                        #expect(tx["fee"] as? Int == 10_000)
                        #expect(tx["size"] as? Int == f.pending.encodedSize)
                        let pending = try await next("address-tx")
                        #expect(pending["address"] as? String == f.bob.address.string)
                        #expect(pending["txid"] as? String == f.pending.txid.hex)
                        #expect(pending["confirmed"] as? Bool == false)

                        // A connected block paying bob: confirmed address-tx.
                        s.chain.publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: 4, raw: f.tip.encoded))
                        let confirmed = try await next("address-tx")
                        #expect(confirmed["txid"] as? String == f.payment.txid.hex)
                        #expect(confirmed["confirmed"] as? Bool == true)

                        // Trace events from either publisher are forwarded.
                        let event = TraceEvent(id: f.pending.txid.hex, kind: "tx", stage: "template", service: "mempool", time: 1)
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
