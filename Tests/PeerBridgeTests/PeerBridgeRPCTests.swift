import ChainCore
import Foundation
import NodeKit
@testable import PeerBridge
import Testing

/// `peer.rpc`'s router (PeerBridgeRPC.swift) against its method enum.
@Suite struct PeerBridgeRPCTests {
    static func ask<R: Decodable>(_ router: RPCRouter, _ method: PeerMethod, _ params: some Encodable, as: R.Type) async throws -> ReplyEnvelope<R> {
        try JSON.decode(ReplyEnvelope<R>.self, await router.handle(try JSON.encode(RequestEnvelope(method: method.rawValue, params: params))))
    }

    @Test func theRouterAnswersExactlyThePeerMethods() async throws {
        let b = await BridgeTests().bridge(FakeNode(blocks: BridgeTests.chain(1)))
        let dialer = Dialer(bridge: b) { _ in }
        let router = PeerBridgeRPC.router(bridge: b, dialer: dialer, started: 0)
        #expect(router.methodNames == PeerMethod.allCases.map(\.rawValue).sorted())
        #expect(try await Self.ask(router, .getstatus, Empty(), as: ServiceStatus.self).result?.service == ServiceName.peerbridge.rawValue)
        #expect(try await Self.ask(router, .addpeer, AddPeer(url: "http://x"), as: Empty.self).error?.code == "bad-params")
        dialer.stopAll()
    }
}
