@testable import APIEdge
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import Bus
import NIOCore
import NodeKit
import Testing
import TestSupport
import WSClient

/// Keyed WebSockets metered per message, and credits (per-method weights), against the fake
/// accounts service's fixed budgets (no refill: a burst's refusal is deterministic).
@Suite("API keys: keyed WebSockets and credits")
struct KeySocketTests {
    static func decode(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }

    /// One JSON-RPC exchange at a time over a socket.
    final class Calls {
        var messages: WebSocketInboundMessageStream.AsyncIterator
        let outbound: WebSocketOutboundWriter
        init(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter) {
            messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            self.outbound = outbound
        }

        /// The next text message, nil when the socket closed.
        func next() async throws -> Any? {
            while let m = try await messages.next() {
                if case .text(let text) = m { return KeySocketTests.decode(text) }
            }
            return nil
        }

        func call(_ body: String) async throws -> [String: Any] {
            try await outbound.write(.text(body))
            return try await next() as? [String: Any] ?? [:]
        }
    }

    static func request(_ id: Int, _ method: String, _ params: String = "[]") -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"#
    }

    static func error(_ reply: [String: Any]) -> (code: Int?, data: [String: Any]) {
        let e = reply["error"] as? [String: Any]
        return (e?["code"] as? Int, e?["data"] as? [String: Any] ?? [:])
    }

    /// Reports every count (a lease call in flight may hold an earlier report: flush until none is left).
    static func flush(_ s: Stack) async throws {
        try await waitUntil("the usage reported") {
            await s.edge.access.flushNow()
            return s.edge.access.unreported == 0
        }
    }

    /// Usage the edge reported for a key, per method: (requests, errors, refused, credits).
    static func usage(_ s: Stack, _ id: String) -> [String: (Int, Int, Int, Int)] {
        s.accounts.state.withLock { st in
            var out: [String: (Int, Int, Int, Int)] = [:]
            for c in st.reports.flatMap(\.counts) where c.key == id {
                let v = out[c.method] ?? (0, 0, 0, 0)
                out[c.method] = (v.0 + c.requests, v.1 + c.errors, v.2 + c.refused, v.3 + c.credits)
            }
            return out
        }
    }

    @Test func eachCallOnAKeyedSocketIsChargedAndARefusalLeavesItOpen() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(rps: 2)
            let id = APIKeyFormat.parse(key)!.id
            let tip = s.fixture.blocks.count - 1
            _ = try await withHangGuard("a keyed socket") {
                try await s.http(.live) { c in
                    try await c.ws("/v1/\(key)/rpc") { inbound, outbound, _ in
                        let calls = Calls(inbound, outbound)
                        // rps 2, no refill: two calls in a burst pass, the third gets -32005 with the retry hint.
                        for i in 1...2 { #expect(try await calls.call(Self.request(i, "getblockcount"))["result"] as? Int == tip) }
                        let refused = try await calls.call(Self.request(3, "getblockcount"))
                        #expect(refused["id"] as? Int == 3)
                        let (code, data) = Self.error(refused)
                        #expect(code == -32005)
                        #expect(data["code"] as? String == "rate-limited")
                        #expect(data["status"] as? Int == 429)
                        #expect((1...3).contains(data["retryAfter"] as? Int ?? 0), "the fake says 2.5 s")
                        #expect(data["policy"] as? String == "\"burst\";q=2;w=1")
                        // A batch is refused whole (every item counts), the socket still open.
                        try await outbound.write(.text("[\(Self.request(4, "getblockcount")),\(Self.request(5, "uptime"))]"))
                        let batch = try await calls.next() as? [String: Any] ?? [:]
                        #expect(Self.error(batch).code == -32005)
                        // Still open: a malformed message (not charged, as over HTTP) is answered.
                        #expect(Self.error(try await calls.call("{nope")).code == -32700)
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
            try await Self.flush(s)
            let u = Self.usage(s, id)
            #expect(u["getblockcount"]?.0 == 2 && u["getblockcount"]?.3 == 2, "two calls admitted and charged")
            #expect(u["getblockcount"]?.2 == 2, "one refused alone, one in the batch")
            #expect(u["uptime"]?.2 == 1)
            #expect(u["websocket"]?.0 == 1 && u["websocket"]?.3 == 0, "opening a JSON-RPC socket is counted, its calls are charged")
        }
    }

    @Test func theMethodAllowlistAppliesPerCallOnTheSocket() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(methods: ["getblockcount"])
            let tip = s.fixture.blocks.count - 1
            _ = try await withHangGuard("a keyed socket with an allowlist") {
                try await s.http(.live) { c in
                    // The key in an X-API-Key header on the upgrade, as over HTTP.
                    try await c.ws("/rpc", configuration: .init(additionalHeaders: [.xAPIKey: key])) { inbound, outbound, _ in
                        let calls = Calls(inbound, outbound)
                        #expect(try await calls.call(Self.request(1, "getblockcount"))["result"] as? Int == tip)
                        let denied = try await calls.call(Self.request(2, "getbestblockhash"))
                        #expect(denied["id"] as? Int == 2)
                        let (code, data) = Self.error(denied)
                        #expect(code == -32601)
                        #expect(data["code"] as? String == "method-not-allowed-for-key" && data["status"] as? Int == 403)
                        let batch = try await calls.call("[\(Self.request(3, "getblockcount")),\(Self.request(4, "subscribe", #"["newHeads"]"#))]")
                        #expect(Self.error(batch).code == -32601, "a batch with one disallowed method is refused whole, as over HTTP")
                        #expect(try await calls.call(Self.request(5, "getblockcount"))["result"] as? Int == tip)
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
        }
    }

    @Test func aKeyRevokedWhileItsSocketIsOpenClosesIt() async throws {
        try await Stack.with { s in
            let key = s.accounts.add()
            let id = APIKeyFormat.parse(key)!.id
            try await s.edge.access.ready(timeout: .seconds(10))
            let close = try await withHangGuard("the revoked key's socket closing") {
                try await s.http(.live) { c in
                    try await c.ws("/v1/\(key)/rpc") { inbound, outbound, _ in
                        let calls = Calls(inbound, outbound)
                        #expect(Self.error(try await calls.call(Self.request(2, "getblockcount"))).code == nil)
                        // The accounts service revokes it and says so: the edge checks the open socket's key at once.
                        s.accounts.revokeSilently(id)
                        s.accounts.notice("revoked", id)
                        let last = try await calls.next() as? [String: Any] ?? [:]
                        let (code, data) = Self.error(last)
                        #expect(code == -32001)
                        #expect(data["code"] as? String == "invalid-api-key" && data["status"] as? Int == 401)
                        #expect(try await calls.next() == nil, "then the socket closes")
                    }
                }
            }
            #expect(close?.closeCode == .policyViolation)
        }
    }

    @Test func pushedNotificationsAreCountedNotCharged() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(rps: 2)
            let id = APIKeyFormat.parse(key)!.id
            try await s.edge.subscriptionsReady()
            try await waitUntil("the feeds' first snapshots") { await s.edge.feedsStarted() }
            _ = try await withHangGuard("a keyed subscription") {
                try await s.http(.live) { c in
                    try await c.ws("/v1/\(key)/rpc") { inbound, outbound, _ in
                        let calls = Calls(inbound, outbound)
                        // subscribe costs 4 credits: more than the key's 2 a second, refused with a message saying so.
                        let costly = try await calls.call(Self.request(1, "subscribe", #"["newHeads"]"#))
                        #expect(Self.error(costly).code == -32005)
                        #expect(((costly["error"] as? [String: Any])?["message"] as? String ?? "").contains("costs 4 credits"))
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
            let roomy = s.accounts.add()
            let roomyID = APIKeyFormat.parse(roomy)!.id
            _ = try await withHangGuard("a keyed subscription") {
                try await s.http(.live) { c in
                    try await c.ws("/v1/\(roomy)/rpc") { inbound, outbound, _ in
                        let calls = Calls(inbound, outbound)
                        let sid = try #require(try await calls.call(Self.request(1, "subscribe", #"["newHeads"]"#))["result"] as? String)
                        // A reorg of the tip: its disconnection and its connection are pushed.
                        let f = s.fixture
                        s.chain.publisher.publish(topic: Topic.disconnected, body: HeightPrefixed.encode(height: 4, raw: f.tip.encoded))
                        s.chain.publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: 4, raw: f.tip.encoded))
                        for removed in [true, false] {
                            let pushed = try await calls.next() as? [String: Any] ?? [:]
                            let params = pushed["params"] as? [String: Any] ?? [:]
                            #expect(params["subscription"] as? String == sid)
                            #expect((params["result"] as? [String: Any])?["removed"] as? Bool == removed)
                        }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
            try await Self.flush(s)
            #expect(Self.usage(s, id)["subscribe"]?.2 == 1)
            let u = Self.usage(s, roomyID)
            #expect(u["subscribe"]?.0 == 1 && u["subscribe"]?.3 == 4)
            #expect(u["subscription:newHeads"]?.0 == 2 && u["subscription:newHeads"]?.3 == 0)
        }
    }

    /// The accounts service refuses a refill with a grant of no tokens and a short ttl: the tokens
    /// the edge still holds from the earlier grant stay spendable until their own expiry (they were
    /// given back unspent after the refusal's ttl, and the key refused for the rest of the day).
    @Test func tokensHeldOutliveARefusedRefill() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(daily: 10)
            try await s.http { c in
                // 10 granted for the day, 4 spent: the refill asked at once is refused ("daily", ttl 1 s)
                let first = try await c.execute(uri: "/v1/\(key)/rpc", method: .post,
                                                body: ByteBuffer(string: Self.request(1, "getblock", #"["\#(s.fixture.tip.hash.hex)",2]"#)))
                #expect(first.status == .ok)
                try await waitUntil("the refill was asked", timeout: 30, every: 0.05) { s.accounts.state.withLock { $0.leaseCalls } >= 2 }
                try await Task.sleep(for: .milliseconds(1_300))
                let later = try await c.execute(uri: "/v1/\(key)/api/blocks", method: .get)
                #expect(later.status == .ok, "\(later.status): \(String(buffer: later.body))")
            }
        }
    }

    @Test func callsAndRoutesAreChargedTheirCredits() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(daily: 10)
            let id = APIKeyFormat.parse(key)!.id
            let hash = s.fixture.tip.hash.hex
            try await s.http { c in
                func rpc(_ body: String) async throws -> TestResponse {
                    try await c.execute(uri: "/v1/\(key)/rpc", method: .post, body: ByteBuffer(string: body))
                }
                // getblock at verbosity 2: 4 credits; GET /api/blocks: 2; getblockcount: 1; getblock (verbosity 1 by default): 2.
                func ok(_ r: TestResponse) { #expect(r.status == .ok, "\(r.status): \(String(buffer: r.body))") }
                ok(try await rpc(Self.request(1, "getblock", #"["\#(hash)",2]"#)))
                ok(try await c.execute(uri: "/v1/\(key)/api/blocks", method: .get))
                ok(try await rpc(Self.request(2, "getblockcount")))
                ok(try await rpc(Self.request(3, "getblock", #"["\#(hash)"]"#)))
                // 9 of 10 credits spent: another getblock at verbosity 2 is over the daily quota, a lookup is not.
                let over = try await rpc(Self.request(4, "getblock", #"{"blockhash":"\#(hash)","verbosity":2}"#))
                #expect(over.status == .tooManyRequests)
                #expect(Self.error(over.object).code == -32005)
                #expect(Self.error(over.object).data["code"] as? String == "daily-quota-exceeded")
                #expect(try await c.execute(uri: "/v1/\(key)/api/blocks/tip/height", method: .get).status == .ok)
            }
            try await Self.flush(s)
            let u = Self.usage(s, id)
            #expect(u["getblock"]?.0 == 2 && u["getblock"]?.3 == 6 && u["getblock"]?.2 == 1)
            #expect(u["GET /api/blocks"]?.3 == 2)
            #expect(u["getblockcount"]?.3 == 1)
            #expect(u["GET /api/blocks/tip/height"]?.3 == 1)
        }
    }

    @Test func aRequestCostingMoreThanASecondOfTheLimitIsRefusedSaySo() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(rps: 3)
            let hash = s.fixture.tip.hash.hex
            try await s.http { c in
                let r = try await c.execute(uri: "/v1/\(key)/rpc", method: .post,
                                            body: ByteBuffer(string: Self.request(1, "getblock", #"["\#(hash)",2]"#)))
                #expect(r.status == .tooManyRequests)
                let message = (r.object["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains("costs 4 credits"), "\(message)")
                #expect(try await c.execute(uri: "/v1/\(key)/api/blocks/tip/height", method: .get).status == .ok)
            }
        }
    }

    @Test func keylessSocketsMeetTheAnonymousPolicyAtTheUpgrade() async throws {
        // Keyless access off (limits loopback too, as a hosted node would): no keyless socket, a keyed one opens.
        try await Stack.with(configure: {
            $0.anonymous = AnonymousPolicy(rps: 0, limitLoopback: true)
            $0.rpcToken = "tok"
        }) { s in
            let key = s.accounts.add()
            try await s.edge.access.ready(timeout: .seconds(10))
            try await s.http(.live) { c in
                for path in ["/api/ws", "/rpc"] {
                    await #expect(throws: (any Error).self, "keyless \(path)") {
                        try await withHangGuard("a keyless upgrade of \(path)") {
                            try await c.ws(path) { _, outbound, _ in try await outbound.close(.normalClosure, reason: nil) }
                        }
                    }
                }
                let opened = try await withHangGuard("a keyed feed") {
                    try await c.ws("/api/ws", configuration: .init(additionalHeaders: [.xAPIKey: key])) { inbound, outbound, _ in
                        let calls = Calls(inbound, outbound)
                        #expect((try await calls.next() as? [String: Any])?["type"] as? String == "hello")
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
                _ = opened
            }
            // A refused upgrade is answered with the refusal's own status and JSON error, not
            // hummingbird-websocket's empty 400, and closes its connection (so one client each).
            let upgrade: HTTPFields = [.connection: "Upgrade", .upgrade: "websocket", .secWebSocketVersion: "13",
                                       .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ=="]
            func refused(_ path: String, _ extra: HTTPFields = [:]) async throws -> TestResponse {
                var headers = upgrade
                headers.append(contentsOf: extra)
                let all = headers
                return try await s.http(.live) { c in try await c.execute(uri: path, method: .get, headers: all) }
            }
            for path in ["/api/ws", "/rpc"] {
                let r = try await refused(path)
                expectError(r, .unauthorized, "api-key-required")
                #expect(r.headers[.wwwAuthenticate] == "ApiKey realm=\"cairn\"", "\(path)")
                #expect(r.headers[.connection] == "close")
            }
            let unknown = APIKeyFormat.prefix + String(repeating: "0", count: APIKeyFormat.idLength) + "_"
                + String(repeating: "1", count: APIKeyFormat.secretLength)
            for path in ["/v1/\(unknown)/rpc", "/v1/\(unknown)/api/ws"] {
                expectError(try await refused(path), .unauthorized, "invalid-api-key")
            }
            expectError(try await refused("/rpc", [.xAPIKey: "not a key"]), .unauthorized, "invalid-api-key")
            // Wrong operator credentials get the wrong-credentials answer after its delay, as over HTTP,
            // not the policy's instant 401: a guess is not told from the token at once. The token
            // itself is not limited by the policy.
            let clock = ContinuousClock()
            let start = clock.now
            let wrong = try await refused("/rpc", [.authorization: "Bearer wrong"])
            #expect(clock.now - start >= OperatorAuth.wrongCredentialsDelay)
            expectError(wrong, .unauthorized, "unauthorized")
            #expect(wrong.headers[.wwwAuthenticate] == "Basic realm=\"jsonrpc\"")
            try await s.http(.live) { c in
                _ = try await withHangGuard("the operator's socket with keyless access off") {
                    try await c.ws("/rpc", configuration: .init(additionalHeaders: [.authorization: "Bearer tok"])) { _, outbound, _ in
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
            // Every refusal was answered and none is kept; a plain request on the server is answered as ever.
            #expect(s.edge.refusedUpgrades.pending == 0)
            let plain = try await s.http(.live) { c in try await c.execute(uri: "/v1/\(key)/api/blocks/tip/height", method: .get) }
            #expect(plain.status == .ok)
        }
        // The regtest default (loopback not limited): the wallet's own keyless feed still opens.
        try await Stack.with { s in
            try await s.http(.live) { c in
                _ = try await withHangGuard("a keyless feed on loopback") {
                    try await c.ws("/api/ws") { inbound, outbound, _ in
                        let calls = Calls(inbound, outbound)
                        #expect((try await calls.next() as? [String: Any])?["type"] as? String == "hello")
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
        }
    }

    @Test func aKeylessUpgradeOverTheRateIsRefusedWith429AndRetryAfter() async throws {
        // One keyless request a second per address, loopback limited, and the loopback addresses'
        // buckets 30 requests in debt (as after a burst): the upgrade is over the rate however long
        // a loaded machine takes to send it. (Taking the tokens right before it was not enough: with
        // the whole suite running, more than the refill's second passed before the check.)
        try await Stack.with(configure: { $0.anonymous = AnonymousPolicy(rps: 1, limitLoopback: true) }) { s in
            let upgrade: HTTPFields = [.connection: "Upgrade", .upgrade: "websocket", .secWebSocketVersion: "13",
                                       .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ=="]
            let access = s.edge.access
            access.state.withLock { st in
                for ip in ["127.0.0.1", "::1"] { st.anonymous[ip] = (tokens: -30, last: access.clock.now) }
            }
            let r = try await withHangGuard("a keyless upgrade over the rate", seconds: 60) {
                try await s.http(.live) { c in try await c.execute(uri: "/api/ws", method: .get, headers: upgrade) }
            }
            expectError(r, .tooManyRequests, "rate-limited")
            let retry = try #require(r.headers[.retryAfter].flatMap { Int($0) }, "Retry-After: \(r.headers)")
            #expect((1...31).contains(retry), "Retry-After: \(retry)")
            #expect(r.headers[.rateLimitPolicy] == "\"anonymous\";q=1;w=1")
            #expect(r.headers[.connection] == "close")
            #expect(s.edge.refusedUpgrades.pending == 0)
        }
    }

    @Test func theKeyedFeedChargesEachClientMessageAndClosesOnRevocation() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(rps: 3)
            let id = APIKeyFormat.parse(key)!.id
            let bob = s.fixture.bob.address.string
            try await s.edge.access.ready(timeout: .seconds(10))
            let close = try await withHangGuard("the keyed feed") {
                try await s.http(.live) { c in
                    try await c.ws("/v1/\(key)/api/ws") { inbound, outbound, _ in
                        let calls = Calls(inbound, outbound)
                        #expect((try await calls.next() as? [String: Any])?["type"] as? String == "hello")
                        // rps 3, no refill: opening took one, two messages pass, the third is refused and the socket stays open.
                        for _ in 0..<2 {
                            #expect(try await calls.call(#"{"track-address": "\#(bob)"}"#)["type"] as? String == "tracking")
                        }
                        let refused = try await calls.call(#"{"track-address": "\#(bob)"}"#)
                        #expect(refused["type"] as? String == "error" && refused["code"] as? String == "rate-limited")
                        // Revoked: the open feed gets the error, then closes.
                        s.accounts.revokeSilently(id)
                        s.accounts.notice("revoked", id)
                        var last: [String: Any] = [:]
                        while let m = try await calls.next() as? [String: Any] { last = m }
                        #expect(last["code"] as? String == "invalid-api-key")
                    }
                }
            }
            #expect(close?.closeCode == .policyViolation)
            try await Self.flush(s)
            let u = Self.usage(s, id)
            #expect(u["feed message"]?.0 == 2 && u["feed message"]?.3 == 2 && u["feed message"]?.2 == 1)
            #expect((u["feed"]?.0 ?? 0) >= 4, "the hello, two tracking answers, the refusal: counted, not charged")
            #expect(u["feed"]?.3 == 0)
            #expect(u["websocket"]?.3 == 1)
        }
    }

    @Test func theDocsTableOfCreditsIsTheCodes() async throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: repo.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        let begin = try #require(doc.range(of: "<!-- credits:begin -->\n"))
        let end = try #require(doc.range(of: "\n<!-- credits:end -->"))
        let table = Credits.table(methods: RPCMethodTable(RPCMethods.all))
        #expect(String(doc[begin.upperBound..<end.lowerBound]) == table,
                "docs/ARCHITECTURE.md's credits table differs from the code's; it should read:\n\(table)")
        // Every priced route is a route of the edge.
        try await Stack.with { s in
            let labels = Set(s.edge.routes.map { "\($0.method.rawValue) \($0.path)" })
            for label in Credits.routes.keys { #expect(labels.contains(label), "\(label) is not a route") }
        }
    }
}
