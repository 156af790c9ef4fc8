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

        // Mining paused while the transactions are admitted and the chain store learns their txids
        // from the mempool's `hashtx`: a block mined before that news arrives verifies them again
        // (a miss, harmless; seen in CI on a loaded machine), which is not what this test is about.
        let mining = { (args: [String]) in
            try await stack.cairn(["mining"] + args + ["--edge", stack.edge, "--data", stack.dir.path])
        }
        let (paused, pauseOut) = try await mining(["pause"])
        try #require(paused == 0, "cairn mining pause: \(pauseOut)")
        try await Task.sleep(for: .seconds(1.5))   // a block already on its way may still land
        let sizeBefore = Int(try await chainStatus(stack)["signatureCacheSize"] ?? "") ?? -1
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
        try await waitUntil("the chain store has learnt the admitted txids", timeout: 30, every: 0.2) {
            (Int(try await chainStatus(stack)["signatureCacheSize"] ?? "") ?? -1) >= sizeBefore + count
        }
        let (resumed, resumeOut) = try await mining(["resume"])
        try #require(resumed == 0, "cairn mining resume: \(resumeOut)")
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
