import ChainCore
import Foundation
import NodeKit

/// The chain as the mempool asks it over `chain.rpc` (the `ChainSource` of the pool in production).
struct RemoteChain: ChainSource {
    let rpc: RPCClient

    func coins(_ outpoints: [OutPoint]) async throws -> [OutPoint: Coin] {
        guard !outpoints.isEmpty else { return [:] }
        let found = try await rpc.call(ChainMethod.getcoins, OutpointList(outpoints: outpoints.map(\.description)), as: [CoinInfo?].self)
        var out = [OutPoint: Coin]()
        for (op, info) in zip(outpoints, found) {
            if let info, let key = Hex.decode(info.publicKey) {
                out[op] = Coin(output: TxOutput(value: info.value, publicKey: key), height: info.height, isCoinbase: info.coinbase)
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
