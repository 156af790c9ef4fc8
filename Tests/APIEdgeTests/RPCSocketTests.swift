@testable import APIEdge
import Bus
import ChainCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import HummingbirdWSTesting
import NodeKit
import Synchronization
import Testing
import WSClient

@Suite("JSON-RPC over WebSocket")
struct RPCSocketTests {
    static func decode(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func methodsAndSubscriptions() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.edge.rpc.subscriptions.ready()
            _ = try await withHangGuard("websocket json-rpc") {
                try await s.http(.live) { c in
                    // Over HTTP, subscribe says where it works.
                    let http = try await RPCClientHelper(client: c).code("subscribe", #"["newHeads"]"#)
                    #expect(http == -32600)
                    try await c.ws("/rpc", configuration: .init(maxFrameSize: 1 << 20)) { inbound, outbound, _ in
                        var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                        func next() async throws -> [String: Any] {
                            while let m = try await messages.next() {
                                if case .text(let text) = m { return Self.decode(text) }
                            }
                            throw HangError(what: "connection closed")
                        }
                        func call(_ body: String) async throws -> [String: Any] {
                            try await outbound.write(.text(body))
                            return try await next()
                        }
                        // Methods as over HTTP, 2.0 and 1.0, and errors.
                        let count = try await call(#"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#)
                        #expect(count["result"] as? Int == 4 && count["id"] as? Int == 1)
                        let legacy = try await call(#"{"method":"getbestblockhash","params":[],"id":"x"}"#)
                        #expect(legacy["result"] as? String == f.tip.hash.hex && legacy["error"] is NSNull)
                        #expect((try await call("{nope")["error"] as? [String: Any])?["code"] as? Int == -32700)
                        // A notification gets nothing: the next message answers the next request.
                        try await outbound.write(.text(#"{"jsonrpc":"2.0","method":"getblockcount"}"#))
                        #expect(try await call(#"{"jsonrpc":"2.0","id":2,"method":"uptime"}"#)["id"] as? Int == 2)
                        // A batch.
                        try await outbound.write(.text(#"[{"jsonrpc":"2.0","id":3,"method":"getblockhash","params":[0]},{"jsonrpc":"2.0","id":4,"method":"nosuch"}]"#))
                        guard case .text(let batchText)? = try await messages.next() else { throw HangError(what: "batch answer") }
                        let batch = (try? JSONSerialization.jsonObject(with: Data(batchText.utf8))) as? [[String: Any]] ?? []
                        #expect(batch.map { $0["id"] as? Int } == [3, 4])
                        // Operator methods need credentials given when the socket opens.
                        let denied = try await call(#"{"jsonrpc":"2.0","id":5,"method":"setnetworkactive","params":[true]}"#)
                        #expect((denied["error"] as? [String: Any])?["code"] as? Int == -1)

                        // Subscriptions.
                        let heads = try #require(try await call(#"{"jsonrpc":"2.0","id":6,"method":"subscribe","params":["newHeads"]}"#)["result"] as? String)
                        let txs = try #require(try await call(#"{"jsonrpc":"2.0","id":7,"method":"subscribe","params":["newTransactions"]}"#)["result"] as? String)
                        let bob = try #require(try await call(#"{"jsonrpc":"2.0","id":8,"method":"subscribe","params":{"kind":"addresses","addresses":["\#(f.bob.address.string)"]}}"#)["result"] as? String)
                        #expect(Set([heads, txs, bob]).count == 3)
                        #expect((try await call(#"{"jsonrpc":"2.0","id":9,"method":"subscribe","params":["blocks"]}"#)["error"] as? [String: Any])?["code"] as? Int == -8)
                        #expect((try await call(#"{"jsonrpc":"2.0","id":10,"method":"subscribe","params":["addresses",["rcrn1nope"]]}"#)["error"] as? [String: Any])?["code"] as? Int == -5)

                        var pushed = [String: [[String: Any]]]()
                        func collect(_ n: Int) async throws {
                            for _ in 0..<n {
                                let m = try await next()
                                #expect(m["method"] as? String == "subscription" && m["jsonrpc"] as? String == "2.0")
                                let p = m["params"] as? [String: Any] ?? [:]
                                pushed[p["subscription"] as? String ?? "?", default: []].append(p["result"] as? [String: Any] ?? [:])
                            }
                        }
                        // A mempool entry paying bob: newTransactions and the address subscription.
                        s.pool.publisher.publish(topic: Topic.rawtx, body: f.pending.encoded)
                        try await collect(2)
                        #expect(pushed[txs]?.first?["txid"] as? String == f.pending.txid.hex)
                        #expect(pushed[bob]?.first?["txid"] as? String == f.pending.txid.hex)
                        #expect(pushed[bob]?.first?["confirmed"] as? Bool == false)
                        // A reorg: the tip disconnected (removed), then connected again; the block pays bob.
                        s.chain.publisher.publish(topic: Topic.disconnected, body: HeightPrefixed.encode(height: 4, raw: f.tip.encoded))
                        s.chain.publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: 4, raw: f.tip.encoded))
                        try await collect(3)
                        #expect(pushed[heads]?.map { $0["removed"] as? Bool } == [true, false])
                        #expect(pushed[heads]?.allSatisfy { $0["hash"] as? String == f.tip.hash.hex && $0["height"] as? Int == 4 } == true)
                        let confirmed = pushed[bob]?.last
                        #expect(confirmed?["confirmed"] as? Bool == true && confirmed?["blockhash"] as? String == f.tip.hash.hex)
                        #expect(confirmed?["txid"] as? String == f.payment.txid.hex)

                        // Unsubscribed: nothing more from it.
                        #expect(try await call(#"{"jsonrpc":"2.0","id":11,"method":"unsubscribe","params":["\#(heads)"]}"#)["result"] as? Bool == true)
                        #expect(try await call(#"{"jsonrpc":"2.0","id":12,"method":"unsubscribe","params":["\#(heads)"]}"#)["result"] as? Bool == false)
                        #expect(try await call(#"{"jsonrpc":"2.0","id":13,"method":"unsubscribe","params":["\#(bob)"]}"#)["result"] as? Bool == true)
                        s.chain.publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: 4, raw: f.tip.encoded))
                        s.pool.publisher.publish(topic: Topic.rawtx, body: f.payment.encoded)
                        // The next push is the transaction (the block had no subscriber left).
                        try await collect(1)
                        #expect(pushed[txs]?.last?["txid"] as? String == f.payment.txid.hex)
                        #expect(pushed[heads]?.count == 2)
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
        }
    }

    @Test func credentialsAtTheUpgrade() async throws {
        try await Stack.with(configure: { $0.rpcToken = "tok" }) { s in
            try await s.http(.live) { c in
                // Wrong credentials: no socket.
                await #expect(throws: (any Error).self) {
                    try await c.ws("/rpc", configuration: .init(additionalHeaders: [.authorization: "Bearer wrong"])) { _, _, _ in }
                }
                // The token: operator methods run (the peer bridge is absent here, so the answer is bitcoind's -31, not a refusal).
                let code = Mutex<Int?>(nil)
                try await c.ws("/rpc", configuration: .init(additionalHeaders: [.authorization: "Bearer tok"])) { inbound, outbound, _ in
                    try await outbound.write(.text(#"{"jsonrpc":"2.0","id":1,"method":"setnetworkactive","params":[true]}"#))
                    for try await m in inbound.messages(maxSize: 1 << 16) {
                        if case .text(let text) = m {
                            code.withLock { $0 = (Self.decode(text)["error"] as? [String: Any])?["code"] as? Int }
                            break
                        }
                    }
                    try await outbound.close(.normalClosure, reason: nil)
                }
                #expect(code.withLock { $0 } == -31)
            }
        }
    }

    /// A client that reads nothing: its queue fills, it is cut off, and what it was sent is bounded.
    @Test func slowConsumersAreCutOff() async throws {
        try await Stack.with(configure: { $0.wsQueueLimit = 8 }) { s in
            let hub = s.edge.rpc.subscriptions
            let before = s.edge.metrics.text()
            let (id, queue, cut) = hub.connect()
            _ = try hub.subscribe(id, .newTransactions)
            for i in 0..<100 { hub.send(id, "message \(i)") }
            #expect(hub.isCut(id))
            var received = 0
            for await _ in queue { received += 1 }
            #expect(received == 8)
            for await _ in cut {}  // finished: the connection's server is woken
            hub.send(id, "after")  // ignored
            hub.disconnect(id)
            let metrics = String(decoding: s.edge.metrics.text(), as: UTF8.self)
            #expect(metrics.contains("cairn_edge_ws_slow_clients_dropped_total 1"), "\(String(decoding: before, as: UTF8.self))")
        }
    }
}
