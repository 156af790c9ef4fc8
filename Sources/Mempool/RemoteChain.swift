import ChainCore
import Foundation
import NodeKit

/// The chain as the mempool asks it over `chain.rpc` (the `ChainSource` of the pool in production).
struct RemoteChain: ChainSource {
    let rpc: RPCClient

    /// Any number of outpoints, asked in `getcoins` calls of at most `OutpointList.maxCount` (the
    /// chain store refuses more in one); one failed call fails the whole question.
    func coins(_ outpoints: [OutPoint]) async throws -> [OutPoint: Coin] {
        var out = [OutPoint: Coin]()
        var start = 0
        while start < outpoints.count {
            let part = outpoints[start..<min(outpoints.count, start + OutpointList.maxCount)]
            start = part.endIndex
            let found = try await rpc.call(ChainMethod.getcoins, OutpointList(outpoints: part.map(\.description)), as: [CoinInfo?].self)
            guard found.count == part.count else { throw RPCError("internal", "getcoins answered \(found.count) of \(part.count) outpoints") }
            for (op, info) in zip(part, found) {
                if let info, let key = Hex.decode(info.publicKey) {
                    out[op] = Coin(output: TxOutput(value: info.value, publicKey: key), height: info.height, isCoinbase: info.coinbase)
                }
            }
        }
        return out
    }

    func isConfirmed(_ txid: Hash256) async throws -> Bool {
        do {
            _ = try await rpc.call(ChainMethod.gettx, TxRef(txid: txid.hex), as: ConfirmedTx.self)
            return true
        } catch let e as RPCError where e.code == "not-found" {
            return false
        }
    }

    func tip() async throws -> ChainTip { try await rpc.call(ChainMethod.getchaintip, Empty(), as: ChainTip.self) }
}
