@testable import APIEdge
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NodeKit
import Testing
import TestSupport

/// API keys at the edge, against a fake accounts service with a fixed budget per key: every error
/// code of the hosted access (401, 403, 429 with its headers, -32005, the daily 429) for a known bad input.
@Suite("API keys at the edge")
struct KeyTests {
    static let tip = "/api/blocks/tip/height"

    @Test func aKeyInThePathOrTheHeaderIsAdmittedAndCounted() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(rps: 50)
            let id = APIKeyFormat.parse(key)!.id
            try await s.http { c in
                let path = try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get)
                #expect(path.status == .ok)
                #expect(path.text == "\(s.fixture.blocks.count - 1)")
                #expect(path.headers[.rateLimitPolicy] == "\"burst\";q=50;w=1")
                let header = try await c.execute(uri: Self.tip, method: .get, headers: [.xAPIKey: key])
                #expect(header.status == .ok)
                let missing = try await c.execute(uri: "/v1/\(key)/api/block/\(String(repeating: "0", count: 64))", method: .get)
                #expect(missing.status == .notFound)
            }
            // (flushed until it has arrived: on a loaded machine a report may time out and be resent first)
            try await waitUntil("the usage reaches the accounts service", timeout: 30) {
                await s.edge.access.flushNow()
                return s.accounts.counted(id).requests >= 3
            }
            let counted = s.accounts.counted(id)
            #expect(counted.requests == 3)
            #expect(counted.errors == 1)
            #expect(counted.refused == 0)
        }
    }

    @Test func unknownMalformedWrongOrRevokedKeysGet401() async throws {
        try await Stack.with { s in
            let key = s.accounts.add()
            let (id, _) = APIKeyFormat.parse(key)!
            try await s.http { c in
                expectError(try await c.execute(uri: "/v1/nonsense\(Self.tip)", method: .get), .unauthorized, "invalid-api-key")
                let unknown = APIKeyFormat.format(id: "0123456789abcdef", secret: String(repeating: "x", count: 43))
                expectError(try await c.execute(uri: "/v1/\(unknown)\(Self.tip)", method: .get), .unauthorized, "invalid-api-key")
                let wrong = APIKeyFormat.format(id: id, secret: String(repeating: "y", count: 43))
                expectError(try await c.execute(uri: Self.tip, method: .get, headers: [.xAPIKey: wrong]), .unauthorized, "invalid-api-key")
                #expect(try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get).status == .ok)
                // Revoked: the edge's cached copy stays until the accounts service's notice, then 401 at once.
                s.accounts.revokeSilently(id)
                #expect(try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get).status == .ok)
                try await s.edge.access.ready(timeout: .seconds(10))
                s.accounts.notice("revoked", id)
                try await waitUntil("the revocation notice closes the key", timeout: 30, every: 0.02) {
                    try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get).status != .ok
                }
                expectError(try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get), .unauthorized, "invalid-api-key")
            }
        }
    }

    @Test func originAndMethodAllowlistsGet403() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(origins: ["https://app.example"], methods: ["getblockcount", "/api/blocks"])
            try await s.http { c in
                #expect(try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get, headers: [.origin: "https://app.example"]).status == .ok)
                expectError(try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get, headers: [.origin: "https://evil.example"]),
                            .forbidden, "origin-not-allowed")
                expectError(try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get), .forbidden, "origin-not-allowed")
                let o: HTTPFields = [.origin: "https://app.example"]
                expectError(try await c.execute(uri: "/v1/\(key)/api/mempool", method: .get, headers: o), .forbidden, "method-not-allowed-for-key")
                let ok = try await c.execute(uri: "/v1/\(key)/rpc", method: .post, headers: o,
                                             body: ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#))
                #expect(ok.status == .ok)
                #expect(ok.object["result"] as? Int == s.fixture.blocks.count - 1)
                expectError(try await c.execute(uri: "/v1/\(key)/rpc", method: .post, headers: o,
                                                body: ByteBuffer(string: #"[{"jsonrpc":"2.0","id":1,"method":"getblockcount"},{"jsonrpc":"2.0","id":2,"method":"getbestblockhash"}]"#)),
                            .forbidden, "method-not-allowed-for-key")
            }
        }
    }

    @Test func overTheRateIs429WithHeadersAndRefusalsAreNotCharged() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(rps: 2)
            let id = APIKeyFormat.parse(key)!.id
            try await s.http { c in
                #expect(try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get).status == .ok)
                #expect(try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get).status == .ok)
                let r = try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get)
                expectError(r, .tooManyRequests, "rate-limited")
                // The fake answers "retry in 2.5 s"; the edge counts down from the moment it was told.
                #expect((1...3).contains(Int(r.headers[.retryAfter] ?? "") ?? 0))
                #expect(r.headers[.rateLimitPolicy] == "\"burst\";q=2;w=1")
                #expect(r.headers[.rateLimit] == "\"burst\";r=0;t=\(r.headers[.retryAfter] ?? "")")
                // JSON-RPC: HTTP 429 and error -32005, the request's id kept.
                let rpc = try await c.execute(uri: "/v1/\(key)/rpc", method: .post,
                                              body: ByteBuffer(string: #"{"jsonrpc":"2.0","id":7,"method":"getblockcount"}"#))
                #expect(rpc.status == .tooManyRequests)
                #expect((rpc.object["error"] as? [String: Any])?["code"] as? Int == -32005)
                #expect(rpc.object["id"] as? Int == 7)
                #expect(rpc.headers[.retryAfter] != nil)
            }
            try await waitUntil("the usage reaches the accounts service", timeout: 30) {
                await s.edge.access.flushNow()
                let c = s.accounts.counted(id)
                return c.requests >= 2 && c.refused >= 2
            }
            let counted = s.accounts.counted(id)
            #expect(counted.requests == 2)
            #expect(counted.refused == 2)
        }
    }

    @Test func everyBatchItemCounts() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(rps: 3)
            let call = #"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#
            try await s.http { c in
                let four = try await c.execute(uri: "/v1/\(key)/rpc", method: .post, body: ByteBuffer(string: "[\(call),\(call),\(call),\(call)]"))
                #expect(four.status == .tooManyRequests, "a batch of 4 items is over a limit of 3 a second")
                let two = try await c.execute(uri: "/v1/\(key)/rpc", method: .post, body: ByteBuffer(string: "[\(call),\(call)]"))
                #expect(two.status == .ok)
                #expect(two.array.count == 2)
                let again = try await c.execute(uri: "/v1/\(key)/rpc", method: .post, body: ByteBuffer(string: "[\(call),\(call)]"))
                #expect(again.status == .tooManyRequests, "one token left, two items")
                #expect((again.object["error"] as? [String: Any])?["code"] as? Int == -32005)
            }
        }
    }

    @Test func overTheDailyQuotaIs429NamingTheDailyPolicy() async throws {
        try await Stack.with { s in
            let key = s.accounts.add(daily: 1)
            try await s.http { c in
                #expect(try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get).status == .ok)
                let r = try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get)
                expectError(r, .tooManyRequests, "daily-quota-exceeded")
                let message = (r.object["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains("daily"))
                #expect(r.headers[.rateLimitPolicy] == "\"daily\";q=1;w=86400")
                #expect(r.headers[.rateLimit]?.hasPrefix("\"daily\";r=0;t=") == true)
                #expect((3500...3600).contains(Int(r.headers[.retryAfter] ?? "") ?? 0))
            }
        }
    }

    @Test func usageOfTheKeyAndTheOperatorsView() async throws {
        try await Stack.with(configure: { $0.rpcToken = "op-token" }) { s in
            let key = s.accounts.add()
            let id = APIKeyFormat.parse(key)!.id
            try await s.http { c in
                _ = try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get)
                _ = try await c.execute(uri: "/v1/\(key)/rpc", method: .post, body: ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#))
                // A periodic flush may be in flight with the first request only; the first flush here then
                // resends that report (the same sequence, applied once), the second reports what is left.
                await s.edge.access.flushNow()
                await s.edge.access.flushNow()
                let u = try await c.execute(uri: "/v1/\(key)/usage", method: .get)
                #expect(u.status == .ok)
                let hours = u.object["hours"] as? [[String: Any]] ?? []
                #expect(Set(hours.compactMap { $0["method"] as? String }) == ["GET /api/blocks/tip/height", "getblockcount"])
                #expect(hours.allSatisfy { $0["key"] as? String == id })
                let days = u.object["days"] as? [[String: Any]] ?? []
                #expect(days.first?["requests"] as? Int == 2)
                expectError(try await c.execute(uri: "/api/usage", method: .get), .unauthorized)
                expectError(try await c.execute(uri: "/api/operator/usage", method: .get), .unauthorized, "unauthorized")
                let all = try await c.execute(uri: "/api/operator/usage", method: .get, headers: [.authorization: "Bearer op-token"])
                #expect(all.status == .ok)
                let keys = try await c.execute(uri: "/api/operator/keys", method: .get, headers: [.authorization: "Bearer op-token"])
                #expect(keys.array.map { $0["id"] as? String } == [id])
                #expect(!keys.text.contains("secret"))
            }
            let metrics = String(decoding: s.edge.metrics.text(), as: UTF8.self)
            #expect(metrics.contains("key=\"\(id)\""))
            #expect(!metrics.contains(APIKeyFormat.parse(key)!.secret))
        }
    }

    @Test func keylessAccessFollowsTheOperatorsPolicy() async throws {
        try await Stack.with(configure: { $0.anonymous = AnonymousPolicy(rps: 0, limitLoopback: true) }) { s in
            try await s.http { c in
                expectError(try await c.execute(uri: Self.tip, method: .get), .unauthorized, "api-key-required")
                #expect(try await c.execute(uri: "/healthz", method: .get).status != .unauthorized)
                let key = s.accounts.add()
                #expect(try await c.execute(uri: "/v1/\(key)\(Self.tip)", method: .get).status == .ok)
            }
        }
        try await Stack.with(configure: { $0.anonymous = AnonymousPolicy(rps: 1, limitLoopback: true) }) { s in
            try await s.http { c in
                #expect(try await c.execute(uri: Self.tip, method: .get).status == .ok)
                // One a second: one of the next is refused (up to a hundred, so that a machine slow
                // enough to take a second over a few requests still sees two within one).
                var refused: TestResponse?
                for _ in 0..<100 where refused == nil {
                    let r = try await c.execute(uri: Self.tip, method: .get)
                    if r.status == .tooManyRequests { refused = r }
                }
                let r = try #require(refused)
                expectError(r, .tooManyRequests, "rate-limited")
                #expect(r.headers[.rateLimitPolicy] == "\"anonymous\";q=1;w=1")
            }
        }
        // The default on regtest: loopback clients (the node's own wallet, tests) are not limited.
        try await Stack.with { s in
            try await s.http { c in
                for _ in 0..<80 {
                    let r = try await c.execute(uri: Self.tip, method: .get)
                    #expect(r.status == .ok)
                }
            }
        }
    }
}
