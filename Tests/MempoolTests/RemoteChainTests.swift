import Bus
import ChainCore
import NodeKit
import Synchronization
import Testing
@testable import Mempool

/// The mempool's view of the chain over the bus (RemoteChain.swift).
@Suite struct RemoteChainTests {
    @Test("coins: any number of outpoints, asked in getcoins calls the chain store takes (at most OutpointList.maxCount each)")
    func coinsInParts() async throws {
        let context = try ZMQContext()
        let calls = Mutex<[Int]>([])
        // The chain store's rule (ChainStore/Queries.swift): more than maxCount in one call is refused.
        // Every even index is unspent, worth its index.
        let router = RPCRouter([ChainMethod.getcoins.rawValue: RPCRouter.method(OutpointList.self) { list in
            guard list.outpoints.count <= OutpointList.maxCount else { throw RPCError.badParams("at most \(OutpointList.maxCount) outpoints per call") }
            calls.withLock { $0.append(list.outpoints.count) }
            return list.outpoints.map { text -> CoinInfo? in
                let op = OutPoint(text: text)!
                return op.index % 2 == 0 ? CoinInfo(txid: op.txid.hex, index: op.index, value: UInt64(op.index), publicKey: String(repeating: "ab", count: 32), height: 1, coinbase: false) : nil
            }
        }])
        let server = try await RequestServer(context: context, bind: ["inproc://remote-chain-test"]) { await router.handle($0) }
        // One attempt with a long wait: a retry would ask a part twice and count it twice, and the
        // whole suite starting at once on two cores delayed an answer past the 2.5 s default (CI).
        let rpc = try await RPCClient(context: context, endpoint: server.endpoints[0], timeout: .seconds(60), retries: 1)
        let chain = RemoteChain(rpc: rpc)
        let txid = Hash256.sha256d([1, 2, 3])
        let outpoints = (0..<(2 * OutpointList.maxCount + 7)).map { OutPoint(txid: txid, index: UInt32($0)) }
        let coins = try await chain.coins(outpoints)
        #expect(calls.withLock { $0 } == [OutpointList.maxCount, OutpointList.maxCount, 7])
        #expect(coins.count == OutpointList.maxCount + 4)
        #expect(coins[OutPoint(txid: txid, index: 20_004)]?.output.value == 20_004)
        #expect(coins[OutPoint(txid: txid, index: 3)] == nil)
        #expect(try await chain.coins([]).isEmpty)
        #expect(calls.withLock { $0.count } == 3, "nothing asked for no outpoints")
        await rpc.stop()
        await server.stop()
        await context.terminate()
    }
}
