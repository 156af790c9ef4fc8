import Bus
import ChainCore
import NodeKit
import Synchronization
import Testing
@testable import PeerBridge

/// The bridge's view of its node over the bus (RemoteNode.swift).
@Suite struct RemoteNodeTests {
    @Test("block states: any number of hashes, asked in getblockstates calls the chain store takes (at most PeerLimits.maxHeaders each)")
    func blockStatesInParts() async throws {
        let context = try ZMQContext()
        let calls = Mutex<[Int]>([])
        // The chain store's rule (ChainStore/PeerQueries.swift): more than maxHeaders in one call is refused.
        // A hash whose first byte is even is stored; the others are unknown.
        let router = RPCRouter([ChainMethod.getblockstates.rawValue: RPCRouter.method(HashList.self) { list in
            guard list.hashes.count <= PeerLimits.maxHeaders else { throw RPCError.badParams("at most \(PeerLimits.maxHeaders) hashes") }
            calls.withLock { $0.append(list.hashes.count) }
            return list.hashes.map { text -> BlockState? in Hash256(hex: text)!.bytes[0] % 2 == 0 ? .stored : nil }
        }])
        let server = try await RequestServer(context: context, bind: ["inproc://remote-node-test"]) { await router.handle($0) }
        // One attempt with a long wait: a retry would ask a part twice and count it twice.
        let rpc = try await RPCClient(context: context, endpoint: server.endpoints[0], timeout: .seconds(60), retries: 1)
        let node = RemoteNode(chain: rpc, mempool: rpc)
        // A branch's missing ancestors, deeper than one call takes (a fork deeper than that was never queued).
        let hashes = (0..<(2 * PeerLimits.maxHeaders + 7)).map { Hash256.sha256d(Array("block \($0)".utf8)) }
        let states = try await node.blockStates(hashes)
        #expect(calls.withLock { $0 } == [PeerLimits.maxHeaders, PeerLimits.maxHeaders, 7])
        #expect(states.count == hashes.count)
        #expect(zip(hashes, states).allSatisfy { h, s in s == (h.bytes[0] % 2 == 0 ? .stored : nil) }, "each state in its hash's place")
        #expect(try await node.blockStates([]).isEmpty)
        #expect(calls.withLock { $0.count } == 3, "nothing asked for no hashes")
        await rpc.stop()
        await server.stop()
        await context.terminate()
    }
}
