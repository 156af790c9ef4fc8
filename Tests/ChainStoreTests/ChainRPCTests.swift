import ChainCore
import Foundation
import NodeKit
import Testing
@testable import ChainStore

/// `chain.rpc`'s router (ChainRPC.swift, PeerQueries.swift) against its method enum.
@Suite struct ChainRPCTests {
    @Test func theRouterAnswersExactlyTheChainMethods() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let router = ChainRPC.router(chain: chain, queries: q, started: 0)
        #expect(router.methodNames == ChainMethod.allCases.map(\.rawValue).sorted())
        // An authority also answers its node id.
        #expect(router.identified(by: nil, network: .regtest).methodNames == (ChainMethod.allCases.map(\.rawValue) + [AuthorityMethod.getnodeid.rawValue]).sorted())
    }

    @Test func aCaseNamedOnTheWireIsAnswered() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let router = ChainRPC.router(chain: chain, queries: q, started: 0)
        let request = try JSON.encode(RequestEnvelope(method: ChainMethod.getstatus.rawValue, params: Empty()))
        let reply = try JSON.decode(ReplyEnvelope<ServiceStatus>.self, await router.handle(request))
        #expect(reply.result?.service == ServiceName.chainstore.rawValue)
    }
}
