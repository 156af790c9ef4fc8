@testable import APIEdge
import ChainCore
import Foundation
import Hummingbird
import HummingbirdTesting
import NodeKit
import Testing

/// `GET /api/lookup/:hash`: the explorer's search asks once whether 64 hex digits are a block or a
/// transaction (asking for a block first logged a 404 for every txid searched).
@Suite("Lookup of a hash")
struct LookupTests {
    @Test func blockConfirmedTxPendingTxAndNothing() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.http { c in
                let block = try await c.execute(uri: "/api/lookup/\(f.tip.hash.hex)", method: .get)
                #expect(block.status == .ok)
                #expect(block.object["kind"] as? String == "block")
                #expect(block.object["id"] as? String == f.tip.hash.hex)
                #expect(try await c.execute(uri: "/api/lookup/\(f.payment.txid.hex)", method: .get).object["kind"] as? String == "tx")
                #expect(try await c.execute(uri: "/api/lookup/\(f.pending.txid.hex)", method: .get).object["kind"] as? String == "tx")
                let none = try await c.execute(uri: "/api/lookup/\(String(repeating: "ab", count: 32))", method: .get)
                #expect(none.status == .notFound)
                #expect((none.object["error"] as? [String: Any])?["code"] as? String == "not-found")
                let bad = try await c.execute(uri: "/api/lookup/xyz", method: .get)
                #expect(bad.status == .badRequest)
            }
        }
    }

    @Test func healthNamesTheNodeID() async throws {
        try await Stack.with(configure: { $0.nodeID = "00112233445566778899aabbccddeeff" }) { s in
            try await s.http { c in
                let h = try await c.execute(uri: "/healthz", method: .get)
                #expect(h.object["node_id"] as? String == "00112233445566778899aabbccddeeff")
            }
        }
    }
}
