@testable import APIEdge
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NodeKit
import Testing

/// The edge's replies that the CLI reads are CairnContract's `EdgeShapes` types: each reply the edge
/// actually serves decodes as its contract type, and the contract type encodes it back to the same JSON
/// (so the CLI, which decodes these types, reads every field the edge writes).
@Suite("Edge reply shapes (CairnContract/EdgeShapes.swift)")
struct EdgeShapesTests {
    /// Decodes `response` as `T`, re-encodes it, and expects the same JSON value.
    @discardableResult
    func roundTrip<T: Codable>(_ response: TestResponse, as type: T.Type, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
        #expect(response.status == .ok, "body: \(response.text)", sourceLocation: sourceLocation)
        let served = Data(buffer: response.body)
        let value = try JSONDecoder().decode(T.self, from: served)
        let again = try JSONEncoder().encode(value)
        let a = try JSONSerialization.jsonObject(with: served) as? NSObject
        let b = try JSONSerialization.jsonObject(with: again) as? NSObject
        #expect(a != nil && a == b, "served \(response.text), re-encoded \(String(decoding: again, as: UTF8.self))",
                sourceLocation: sourceLocation)
        return value
    }

    @Test func theNodeRoutesServeTheContractShapes() async throws {
        try await Stack.with { s in
            try await s.http { c in
                let chain = try roundTrip(try await c.execute(uri: "/api/chain", method: .get), as: ChainReply.self)
                #expect(chain.height == 4 && chain.mempoolSize == 1 && chain.supplyCRN == "200.00005000")
                let miners = try roundTrip(try await c.execute(uri: "/api/miners", method: .get), as: [MinerReply].self)
                #expect(miners.count == 1)
                let node = try roundTrip(try await c.execute(uri: "/api/node", method: .get), as: NodeReply.self)
                #expect(node.endpoints.chainRPC == s.chain.rpcEndpoint && node.network == "regtest")
                let mining = try roundTrip(try await c.execute(uri: "/api/mining", method: .get), as: MiningView.self)
                #expect(mining.state == "running" && mining.available)
            }
        }
    }

    @Test func theOperatorRoutesServeTheContractShapes() async throws {
        try await Stack.with(configure: { $0.rpcToken = "op-token" }) { s in
            let key = s.accounts.add()
            try await s.http { c in
                let auth: HTTPFields = [.authorization: "Bearer op-token"]
                let verify = try roundTrip(try await c.execute(uri: "/api/operator/verify", method: .get, headers: auth), as: VerifyReply.self)
                #expect(verify.chain.ok && verify.chain.result != nil)
                #expect(verify.mempool.result?.problems == ["a problem for the test"])

                _ = try await c.execute(uri: "/v1/\(key)\(KeyTests.tip)", method: .get)
                await s.edge.access.flushNow()
                await s.edge.access.flushNow()
                let usage = try roundTrip(try await c.execute(uri: "/api/operator/usage", method: .get, headers: auth), as: UsageReply.self)
                #expect(usage.days.first?.requests == 1)
            }
        }
    }
}
