@testable import APIEdge
import Foundation
import HummingbirdTesting
import NIOCore
import NodeKit
import Testing

@Suite("Operator routes and the mempool snapshot")
struct OperatorTests {
    @Test func mempoolTxidsWithTheMempoolSequence() async throws {
        try await Stack.with { s in
            try await s.http { c in
                let plain = try await c.execute(uri: "/api/mempool/txids", method: .get)
                #expect(plain.json as? [String] == [s.fixture.pending.txid.hex])
                let snapshot = try await c.execute(uri: "/api/mempool/txids?mempool_sequence=true", method: .get)
                #expect(snapshot.status == .ok)
                #expect(snapshot.object["txids"] as? [String] == [s.fixture.pending.txid.hex])
                #expect(snapshot.object["mempool_sequence"] as? Int == 7)
                let bad = try await c.execute(uri: "/api/mempool/txids?mempool_sequence=maybe", method: .get)
                expectError(bad, .badRequest, "bad-request")
            }
        }
    }

    @Test func verifyNeedsTheOperatorToken() async throws {
        let token = "s3cret-operator-token"
        try await Stack.with(configure: { $0.operatorToken = token }) { s in
            try await s.http { c in
                expectError(try await c.execute(uri: "/api/operator/verify", method: .get), .unauthorized, "unauthorized")
                expectError(try await c.execute(uri: "/api/operator/verify", method: .get, headers: [.authorization: "Bearer wrong"]),
                            .unauthorized, "unauthorized")
                expectError(try await c.execute(uri: "/api/operator/verify", method: .get, headers: [.authorization: "Basic \(token)"]),
                            .unauthorized, "unauthorized")
                let r = try await c.execute(uri: "/api/operator/verify", method: .get, headers: [.authorization: "Bearer \(token)"])
                #expect(r.status == .ok)
                let chain = r.object["chain"] as? [String: Any]
                let mempool = r.object["mempool"] as? [String: Any]
                #expect(chain?["ok"] as? Bool == true)
                #expect((chain?["result"] as? [String: Any])?["utxoCount"] as? Int != nil)
                #expect(mempool?["ok"] as? Bool == false)
                #expect((mempool?["result"] as? [String: Any])?["problems"] as? [String] == ["a problem for the test"])
                #expect(r.object["ok"] as? Bool == false)
            }
        }
        // Services that do not answer: reported as not checked, at once.
        try await Stack.with(dead: true, configure: { $0.operatorToken = token }) { s in
            try await s.http { c in
                let r = try await c.execute(uri: "/api/operator/verify", method: .get, headers: [.authorization: "Bearer \(token)"])
                #expect(r.status == .ok)
                #expect(r.object["ok"] as? Bool == false)
                #expect((r.object["chain"] as? [String: Any])?["error"] as? String != nil)
                #expect((r.object["mempool"] as? [String: Any])?["error"] as? String != nil)
            }
        }
        // No token configured: the route is closed.
        try await Stack.with { s in
            try await s.http { c in
                expectError(try await c.execute(uri: "/api/operator/verify", method: .get, headers: [.authorization: "Bearer "]), .unauthorized)
            }
        }
    }

    /// One set of operator credentials: the JSON-RPC cookie (DATA/.cookie) opens the operator routes
    /// too, as HTTP Basic or as a Bearer of its secret; `--operator-token` is the same token as `--rpc-token`.
    @Test func theOperatorRoutesTakeTheRPCCookieAndToken() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-cookie-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try await Stack.with(configure: { $0.rpcCookieDirectory = dir; $0.rpcToken = "the-one-token" }) { s in
            let cookie = try String(contentsOfFile: dir.appendingPathComponent(OperatorAuth.cookieName).path, encoding: .utf8)
            let secret = String(cookie.split(separator: ":")[1])
            let mode = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(OperatorAuth.cookieName).path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            try await s.http { c in
                let basic = "Basic " + Data(cookie.utf8).base64EncodedString()
                for auth in [basic, "Bearer \(secret)", "Bearer the-one-token", "Basic " + Data("x:the-one-token".utf8).base64EncodedString()] {
                    #expect(try await c.execute(uri: "/api/operator/verify", method: .get, headers: [.authorization: auth]).status == .ok, "\(auth)")
                }
                expectError(try await c.execute(uri: "/api/operator/verify", method: .get, headers: [.authorization: "Bearer \(secret)x"]),
                            .unauthorized, "unauthorized")
                // The same cookie calls an operator JSON-RPC method.
                let rpc = try await c.execute(uri: "/rpc", method: .post, headers: [.authorization: basic],
                                              body: ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"submitblock","params":["00"]}"#))
                #expect(rpc.status != .unauthorized)
            }
        }
    }
}
