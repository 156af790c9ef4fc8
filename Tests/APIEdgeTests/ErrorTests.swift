@testable import APIEdge
import ChainCore
import Foundation
import Hummingbird
import HummingbirdTesting
import NodeKit
import Testing

@Suite("Errors are JSON with the right status")
struct ErrorTests {
    @Test func clientMistakes() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.http { c in
                expectError(try await c.execute(uri: "/api/block/xyz", method: .get), .badRequest, "bad-block-hash")
                expectError(try await c.execute(uri: "/api/tx/\(String(repeating: "g", count: 64))", method: .get), .badRequest, "bad-txid")
                expectError(try await c.execute(uri: "/api/block-height/-1", method: .get), .badRequest, "bad-height")
                expectError(try await c.execute(uri: "/api/blocks/abc", method: .get), .badRequest, "bad-height")
                expectError(try await c.execute(uri: "/api/block/\(String(repeating: "0", count: 64))", method: .get), .notFound, "not-found")
                expectError(try await c.execute(uri: "/api/tx/\(String(repeating: "ab", count: 32))", method: .get), .notFound, "not-found")
                expectError(try await c.execute(uri: "/api/tx/\(String(repeating: "ab", count: 32))/trace", method: .get), .notFound, "not-found")
                expectError(try await c.execute(uri: "/api/block-height/999", method: .get), .notFound, "not-found")

                // A typo in the last character breaks the checksum.
                var typo = f.bob.address.string
                let last = typo.removeLast()
                typo.append(last == "q" ? "p" : "q")
                let bad = try await c.execute(uri: "/api/address/\(typo)", method: .get)
                expectError(bad, .badRequest, "address-bad-checksum")
                #expect((bad.object["error"] as? [String: Any])?["message"] as? String == AddressError.invalidChecksum.description)
                let mainnet = Address(publicKey: f.bob.publicKey, network: .main).string
                expectError(try await c.execute(uri: "/api/address/\(mainnet)/utxo", method: .get), .badRequest, "address-wrong-network")
                expectError(try await c.execute(uri: "/api/address/hello", method: .get), .badRequest)

                let big = ByteBuffer(string: String(repeating: "ab", count: 4096))
                expectError(try await c.execute(uri: "/api/tx", method: .post, body: big), .contentTooLarge, "body-too-large")
                expectError(try await c.execute(uri: "/api/tx", method: .post, body: ByteBuffer()), .badRequest, "bad-encoding")

                expectError(try await c.execute(uri: "/api/nothing-here", method: .get), .notFound, "not-found")
                expectError(try await c.execute(uri: "/", method: .get), .notFound, "not-found")
                let wrongMethod = try await c.execute(uri: "/api/blocks", method: .post, body: ByteBuffer(string: "x"))
                expectError(wrongMethod, .methodNotAllowed, "method-not-allowed")
                #expect(wrongMethod.headers[.allow] == "GET")
                expectError(try await c.execute(uri: "/api/ws", method: .get), .upgradeRequired, "upgrade-required")
            }
        }
    }

    @Test func backendDownIs503() async throws {
        try await Stack.with(dead: true) { s in
            try await s.http { c in
                expectError(try await c.execute(uri: "/api/blocks/tip/height", method: .get), .serviceUnavailable, "service-unavailable")
                expectError(try await c.execute(uri: "/api/mempool", method: .get), .serviceUnavailable, "service-unavailable")
                let tx = Hex.encode(s.fixture.pending.encoded)
                expectError(try await c.execute(uri: "/api/tx", method: .post, body: ByteBuffer(string: tx)), .serviceUnavailable)
                let health = try await c.execute(uri: "/healthz", method: .get)
                #expect(health.status == .serviceUnavailable)
                #expect(health.object["status"] as? String == "degraded")
                let services = health.object["services"] as? [String: [String: Any]]
                #expect(services?["chainstore"]?["ok"] as? Bool == false)
                #expect(services?["chainstore"]?["error"] is String)
                #expect(services?["edge"]?["ok"] as? Bool == true)
                // /api/node needs no backend.
                #expect(try await c.execute(uri: "/api/node", method: .get).status == .ok)
            }
        }
    }

    @Test func cors() async throws {
        try await Stack.with { s in
            try await s.http(.live) { c in
                let allowed = try await c.execute(uri: "/api/blocks/tip/height", method: .get, headers: [.origin: "http://localhost:8341"])
                #expect(allowed.headers[.accessControlAllowOrigin] == "http://localhost:8341")
                let other = try await c.execute(uri: "/api/blocks/tip/height", method: .get, headers: [.origin: "http://evil.example"])
                #expect(other.status == .ok)
                #expect(other.headers[.accessControlAllowOrigin] == nil)
                let preflight = try await c.execute(uri: "/api/tx", method: .options,
                                                    headers: [.origin: "http://127.0.0.1:8341", .accessControlRequestMethod: "POST"])
                #expect(preflight.status == .noContent)
                #expect(preflight.headers[.accessControlAllowOrigin] == "http://127.0.0.1:8341")
                #expect(preflight.headers[.accessControlAllowMethods] == "GET, POST, DELETE, OPTIONS")   // DELETE: the portal revokes a key
                // The API key header and operator credentials may be sent from an allowed page too.
                #expect(preflight.headers[.accessControlAllowHeaders]?.lowercased() == "content-type, x-api-key, authorization")
                // An error still carries the header for an allowed origin, so the browser can read it.
                let error = try await c.execute(uri: "/api/block/xyz", method: .get, headers: [.origin: "http://localhost:8341"])
                #expect(error.headers[.accessControlAllowOrigin] == "http://localhost:8341")
            }
        }
    }
}
