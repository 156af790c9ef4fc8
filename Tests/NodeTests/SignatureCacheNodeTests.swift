import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport

/// The chain store's signature cache through real processes (`cairn up`): the transactions the
/// mempool admitted, once mined, connect without their signatures verified again (the chain store
/// learnt their txids from the mempool's `hashtx`), as `getstatus` counts.
@Suite(.serialized) struct SignatureCacheNode {
    func chainStatus(_ stack: Stack) async throws -> [String: String] {
        try await stack.rpc("chain", "getstatus", Empty(), as: ServiceStatus.self).details
    }

    @Test func aMinedBlocksTransactionsAdmittedByTheMempoolHitTheCache() async throws {
        let miner = TestWallet()
        let stack = try await Stack(miner: miner, blockInterval: 0.5)
        defer { stack.stop() }
        let count = 6
        try await waitUntil("mature coinbases", timeout: 120) { try await stack.height() >= ChainParams.regtest.coinbaseMaturity + count + 1 }
        let status = try await chainStatus(stack)
        #expect(status["signatureCache"] == "on", "\(status)")
        let before = Int(status["signatureCacheHits"] ?? "") ?? -1
        #expect(before >= 0, "\(status)")

        let coins = try await stack.spendable(miner, tip: try await stack.height())
        try #require(coins.count >= count, "\(coins.count) mature coinbases\n\(stack.log)")
        let payee = TestWallet()
        var txids = [String]()
        for coin in coins.prefix(count) {
            let tx = miner.spend([coin], to: [payee.output(coin.1.value - 1_000)])
            let (code, body) = try await stack.submit(tx)
            #expect(code == 200, "\(code) \(body)\n\(stack.log)")
            txids.append(tx.txid.hex)
        }
        try await waitUntil("the transactions confirm", timeout: 60, every: 0.3) {
            for t in txids {
                if try await stack.confirmation(t)?.confirmed != true { return false }
            }
            return true
        }
        let after = try await chainStatus(stack)
        let hits = (Int(after["signatureCacheHits"] ?? "") ?? 0) - before
        print("signature cache: \(after)")
        #expect(hits >= count, "\(hits) hits for \(count) admitted transactions mined: \(after)\n\(stack.log)")
    }
}
