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
import TestSupport
import WSClient

@Suite("JSON-RPC over WebSocket")
struct RPCSocketTests {
    static func decode(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func methodsAndSubscriptions() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.edge.subscriptionsReady()
            try await waitUntil("the feeds' first snapshots", timeout: 15, every: 0.05) { await s.edge.feedsStarted() }
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
                            throw HangGuardExpired(what: "connection closed")
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
                        guard case .text(let batchText)? = try await messages.next() else { throw HangGuardExpired(what: "batch answer") }
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
                        var order = [String]()
                        func collect(_ n: Int) async throws {
                            for _ in 0..<n {
                                let m = try await next()
                                #expect(m["method"] as? String == "subscription" && m["jsonrpc"] as? String == "2.0")
                                let p = m["params"] as? [String: Any] ?? [:]
                                order.append(p["subscription"] as? String ?? "?")
                                pushed[p["subscription"] as? String ?? "?", default: []].append(p["result"] as? [String: Any] ?? [:])
                            }
                        }
                        // A mempool entry paying bob: newTransactions and the address subscription. (`pending` was
                        // in the pool when the feed started: it leaves (R, not pushed) and comes back (A).)
                        let pendingID = f.pending.txid.displayBytes
                        s.pool.publisher.publish(topic: Topic.sequence, body: pendingID + Array("R".utf8) + [8, 0, 0, 0, 0, 0, 0, 0])
                        s.pool.publisher.publish(topic: Topic.rawtx, body: f.pending.encoded)
                        s.pool.publisher.publish(topic: Topic.sequence, body: pendingID + Array("A".utf8) + [9, 0, 0, 0, 0, 0, 0, 0])
                        try await collect(2)
                        #expect(pushed[txs]?.first?["txid"] as? String == f.pending.txid.hex)
                        #expect(pushed[bob]?.first?["txid"] as? String == f.pending.txid.hex)
                        #expect(pushed[bob]?.first?["confirmed"] as? Bool == false)
                        // A reorg: the tip disconnected (removed), then connected again; the block pays bob. Its
                        // transaction, not announced as back in the pool, is announced just before the block.
                        s.chain.publisher.publish(topic: Topic.disconnected, body: HeightPrefixed.encode(height: 4, raw: f.tip.encoded))
                        s.chain.publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: 4, raw: f.tip.encoded))
                        try await collect(5)
                        #expect(pushed[heads]?.map { $0["removed"] as? Bool } == [true, false])
                        #expect(pushed[heads]?.allSatisfy { $0["hash"] as? String == f.tip.hash.hex && $0["height"] as? Int == 4 } == true)
                        #expect(pushed[txs]?.map { $0["txid"] as? String } == [f.pending.txid.hex, f.payment.txid.hex])
                        #expect(pushed[bob]?.map { $0["confirmed"] as? Bool } == [false, false, true])
                        // In order: the removal, the transaction, then the block that holds it.
                        #expect(Array(order.suffix(5)).filter { $0 != bob } == [heads, txs, heads], "\(order)")
                        let confirmed = pushed[bob]?.last
                        #expect(confirmed?["confirmed"] as? Bool == true && confirmed?["blockhash"] as? String == f.tip.hash.hex)
                        #expect(confirmed?["txid"] as? String == f.payment.txid.hex)

                        // Unsubscribed: nothing more from it.
                        #expect(try await call(#"{"jsonrpc":"2.0","id":11,"method":"unsubscribe","params":["\#(heads)"]}"#)["result"] as? Bool == true)
                        #expect(try await call(#"{"jsonrpc":"2.0","id":12,"method":"unsubscribe","params":["\#(heads)"]}"#)["result"] as? Bool == false)
                        #expect(try await call(#"{"jsonrpc":"2.0","id":13,"method":"unsubscribe","params":["\#(bob)"]}"#)["result"] as? Bool == true)
                        let b5 = ChainFixture.mine(parent: f.tip.header, [ChainFixture.coinbase(height: 5, outputs: [TxOutput(value: 1, publicKey: f.alice.publicKey)])])
                        s.chain.publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: 5, raw: b5.encoded))
                        s.pool.publisher.publish(topic: Topic.rawtx, body: f.orphan.encoded)
                        s.pool.publisher.publish(topic: Topic.sequence, body: f.orphan.txid.displayBytes + Array("A".utf8) + [10, 0, 0, 0, 0, 0, 0, 0])
                        // The next push is the transaction (the block had no subscriber left).
                        try await collect(1)
                        #expect(pushed[txs]?.last?["txid"] as? String == f.orphan.txid.hex)
                        #expect(pushed[heads]?.count == 2)
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
        }
    }

    /// A subscriber that comes back with the cursor of the last notification it handled receives
    /// what it missed first (from the edge's window), then live events; a cursor from another edge
    /// process replays the best chain's blocks after its block (marked replay) and says that
    /// transactions are not replayed (resync, scope mempool); a malformed one is refused.
    @Test func subscriptionsResumeFromACursor() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.edge.subscriptionsReady()
            try await waitUntil("the feeds' first snapshots", timeout: 15, every: 0.05) { await s.edge.feedsStarted() }
            let pendingID = f.pending.txid.displayBytes
            _ = try await withHangGuard("websocket json-rpc resume") {
                try await s.http(.live) { c in
                    // A session: sends requests, returns every message (replies and notifications) in order.
                    @Sendable func session(_ steps: @escaping @Sendable (_ call: (String) async throws -> [String: Any],
                                                               _ next: () async throws -> [String: Any]) async throws -> Void) async throws {
                        try await c.ws("/rpc", configuration: .init(maxFrameSize: 1 << 20)) { inbound, outbound, _ in
                            var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                            func next() async throws -> [String: Any] {
                                while let m = try await messages.next() {
                                    if case .text(let text) = m { return Self.decode(text) }
                                }
                                throw HangGuardExpired(what: "connection closed")
                            }
                            try await steps({ body in
                                try await outbound.write(.text(body))
                                return try await next()
                            }, next)
                            try await outbound.close(.normalClosure, reason: nil)
                        }
                    }
                    let cursor = Mutex("")
                    // First connection: a transaction enters the pool (its notification carries a cursor).
                    try await session { call, next in
                        _ = try #require(try await call(#"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":["newTransactions"]}"#)["result"] as? String)
                        s.pool.publisher.publish(topic: Topic.sequence, body: pendingID + Array("R".utf8) + [8, 0, 0, 0, 0, 0, 0, 0])
                        s.pool.publisher.publish(topic: Topic.rawtx, body: f.pending.encoded)
                        s.pool.publisher.publish(topic: Topic.sequence, body: pendingID + Array("A".utf8) + [9, 0, 0, 0, 0, 0, 0, 0])
                        let p = try await next()["params"] as? [String: Any] ?? [:]
                        #expect((p["result"] as? [String: Any])?["txid"] as? String == f.pending.txid.hex)
                        let c = try #require(p["cursor"] as? String)
                        #expect(c.split(separator: ":").count == 3 && c.hasSuffix(f.tip.hash.hex), "\(c)")
                        cursor.withLock { $0 = c }
                    }
                    // While no one is connected: a reorg of the tip (its transaction is announced before it
                    // comes back) and a new transaction.
                    let before = s.edge.rpc.subscriptions.seq
                    s.chain.publisher.publish(topic: Topic.disconnected, body: HeightPrefixed.encode(height: 4, raw: f.tip.encoded))
                    s.chain.publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: 4, raw: f.tip.encoded))
                    // (The two publishers are followed independently: the transaction goes out once the reorg is through.)
                    try await waitUntil("the reorg", timeout: 15, every: 0.05) { s.edge.rpc.subscriptions.seq == before + 3 }
                    s.pool.publisher.publish(topic: Topic.rawtx, body: f.orphan.encoded)
                    s.pool.publisher.publish(topic: Topic.sequence, body: f.orphan.txid.displayBytes + Array("A".utf8) + [10, 0, 0, 0, 0, 0, 0, 0])
                    try await waitUntil("the events of the outage", timeout: 15, every: 0.05) { s.edge.rpc.subscriptions.seq == before + 4 }
                    let since = cursor.withLock { $0 }
                    try await session { call, next in
                        // newTransactions from the cursor: what entered meanwhile, in order, then live.
                        let reply = try await call(#"{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"kind":"newTransactions","since":"\#(since)"}}"#)
                        let sid = try #require(reply["result"] as? String)
                        var txids = [String]()
                        for _ in 0..<2 {
                            let p = try await next()["params"] as? [String: Any] ?? [:]
                            #expect(p["subscription"] as? String == sid)
                            txids.append((p["result"] as? [String: Any])?["txid"] as? String ?? "?")
                        }
                        #expect(txids == [f.payment.txid.hex, f.orphan.txid.hex])
                        // newHeads from the same cursor: the disconnect, then the connect.
                        let heads = try #require(try await call(#"{"jsonrpc":"2.0","id":3,"method":"subscribe","params":{"kind":"newHeads","since":"\#(since)"}}"#)["result"] as? String)
                        var removed = [Bool]()
                        for _ in 0..<2 {
                            let p = try await next()["params"] as? [String: Any] ?? [:]
                            #expect(p["subscription"] as? String == heads)
                            removed.append((p["result"] as? [String: Any])?["removed"] as? Bool ?? false)
                        }
                        #expect(removed == [true, false])
                        // A cursor from another edge process: the blocks after its block from the chain store, marked replay.
                        let foreign = "0011223344556677:42:\(f.blocks[2].hash.hex)"
                        let replayed = try #require(try await call(#"{"jsonrpc":"2.0","id":4,"method":"subscribe","params":{"kind":"newHeads","since":"\#(foreign)"}}"#)["result"] as? String)
                        var hashes = [String]()
                        for _ in 0..<2 {
                            let p = try await next()["params"] as? [String: Any] ?? [:]
                            #expect(p["subscription"] as? String == replayed && p["replay"] as? Bool == true)
                            hashes.append((p["result"] as? [String: Any])?["hash"] as? String ?? "?")
                        }
                        #expect(hashes == [f.blocks[3].hash.hex, f.blocks[4].hash.hex])
                        // ...and for transactions: a resync (they are not replayed across an edge restart).
                        let txSid = try #require(try await call(#"{"jsonrpc":"2.0","id":5,"method":"subscribe","params":{"kind":"newTransactions","since":"\#(foreign)"}}"#)["result"] as? String)
                        let resync = try await next()["params"] as? [String: Any] ?? [:]
                        #expect(resync["subscription"] as? String == txSid)
                        #expect((resync["resync"] as? [String: Any])?["scope"] as? String == "mempool")
                        // A malformed cursor is refused.
                        let bad = try await call(#"{"jsonrpc":"2.0","id":6,"method":"subscribe","params":{"kind":"newHeads","since":"yesterday"}}"#)
                        #expect((bad["error"] as? [String: Any])?["code"] as? Int == -8)
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
            // Seen by a plain HTTP client: 401 with the challenge and the JSON error (`RefusedUpgrades`).
            let refused = try await s.http(.live) { c in
                try await c.execute(uri: "/rpc", method: .get, headers: [
                    .connection: "Upgrade", .upgrade: "websocket", .secWebSocketVersion: "13",
                    .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==", .authorization: "Bearer wrong",
                ])
            }
            expectError(refused, .unauthorized, "unauthorized")
            #expect(refused.headers[.wwwAuthenticate] == "Basic realm=\"jsonrpc\"")
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

    /// A transaction's JSON is made only for subscribers that want it: none without a newTransactions
    /// subscription (the replay window keeps the transaction, rendered if a replay needs it).
    @Test func newTransactionsAreRenderedOnlyForSubscribers() async throws {
        try await Stack.with { s in
            let hub = s.edge.rpc.subscriptions
            let tx = s.fixture.pending
            await hub.handle(.txAdded(tx: tx, txid: tx.txid, raw: tx.encoded, mempoolSequence: 1))
            let kept = try #require(hub.state.withLock { $0.window.last })
            #expect(kept.isTx && kept.rendered == nil && kept.txs.first?.txid == tx.txid)
            // A newHeads subscriber gets nothing for it; a newTransactions one gets the transaction.
            let (id, queue, _) = hub.connect()
            _ = try hub.subscribe(id, .newHeads)
            let sid = try hub.subscribe(id, .newTransactions)
            await hub.handle(.txAdded(tx: tx, txid: tx.txid, raw: tx.encoded, mempoolSequence: 2))
            hub.disconnect(id)
            var texts = [String]()
            for await text in queue { texts.append(text) }
            #expect(texts.count == 1)
            let params = (FeedTests.decode(texts.first ?? "")["params"] as? [String: Any]) ?? [:]
            #expect(params["subscription"] as? String == sid)
            #expect((params["result"] as? [String: Any])?["txid"] as? String == tx.txid.hex)
            // What a replay from the window sends: the same JSON, made then.
            let replayed = RPCSubscriptions.render(kept, sid: sid, kind: .newTransactions, network: .regtest)
            let replayedResult = replayed.flatMap { (FeedTests.decode($0)["params"] as? [String: Any])?["result"] as? [String: Any] }
            #expect(replayedResult?["txid"] as? String == tx.txid.hex)
        }
    }
    /// Until the edge's feed has started (both followers took their first snapshot), a subscription
    /// could miss, untold, what enters the pool before the mempool follower's snapshot: `subscribe`
    /// waits for it and answers -28 after 10 s, and the `/api/ws` upgrade waits and is then refused.
    /// Here the mempool never answers, so the feed never starts; the chain's routes still work.
    @Test func subscribersWaitForTheFeedToStart() async throws {
        let nobody = "ipc://" + FileManager.default.temporaryDirectory.appendingPathComponent("cairn-nobody-\(UUID().uuidString.prefix(8))").path
        try await Stack.with(configure: { c in
            c.endpoints = Endpoints(chainRPC: c.endpoints.chainRPC, chainPub: c.endpoints.chainPub, mempoolRPC: nobody, mempoolPub: nobody)
        }) { s in
            #expect(await s.edge.feedsStarted() == false)
            try await withHangGuard("subscribers refused while the feed has not started", seconds: 180) {
                try await s.http(.live) { c in
                    let reply = Mutex<[String: Any]?>(nil)
                    async let rpc = c.ws("/rpc") { inbound, outbound, _ in
                        var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                        // The chain's methods answer meanwhile.
                        try await outbound.write(.text(#"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#))
                        guard case .text(let count)? = try await messages.next() else { throw HangGuardExpired(what: "getblockcount") }
                        #expect(Self.decode(count)["result"] as? Int == 4, "\(count)")
                        let asked = ContinuousClock.now
                        try await outbound.write(.text(#"{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"kind":"newTransactions"}}"#))
                        guard case .text(let text)? = try await messages.next() else { throw HangGuardExpired(what: "subscribe") }
                        let waited = ContinuousClock.now - asked
                        #expect(waited >= FeedStart.patience, "answered after \(waited)")
                        reply.withLock { $0 = Self.decode(text) }
                    }
                    // The feed's upgrade: refused once the patience ran out, no socket; answered 503 with
                    // Retry-After and the reason (`RefusedUpgrades`).
                    let upgradeAsked = ContinuousClock.now
                    async let feed = c.execute(uri: "/api/ws", method: .get, headers: [
                        .connection: "Upgrade", .upgrade: "websocket", .secWebSocketVersion: "13", .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
                    ])
                    _ = try await rpc
                    let error = reply.withLock { $0 }?["error"] as? [String: Any]
                    #expect(error?["code"] as? Int == -28)
                    #expect((error?["message"] as? String)?.contains("feed is starting") == true, "\(error ?? [:])")
                    let refused = try await feed
                    expectError(refused, .serviceUnavailable, "feed-starting")
                    #expect(refused.headers[.retryAfter] == "1")
                    #expect(ContinuousClock.now - upgradeAsked >= FeedStart.patience, "refused after the patience")
                }
            }
        }
    }
}
