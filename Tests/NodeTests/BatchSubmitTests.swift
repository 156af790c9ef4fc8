import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport

/// Issue 11, batched submissions through real processes (`cairn up`): a flood of `POST /api/tx` is
/// acknowledged through `submittxs` batches (the mempool counts fewer requests than transactions),
/// and nothing acknowledged is lost. Figures are printed, never asserted.
@Suite(.serialized) struct BatchedSubmissions {
    static func counters(_ stack: Stack) async throws -> (batches: Int, transactions: Int, largest: Int) {
        let status = try await stack.rpc("mempool", "getstatus", Empty(), as: ServiceStatus.self)
        func count(_ key: String) -> Int { Int(status.details[key] ?? "") ?? -1 }
        return (count("submitBatches"), count("submitBatchTransactions"), count("largestSubmitBatch"))
    }

    @Test func aFloodThroughTheEdgeIsAcknowledgedInBatches() async throws {
        let miner = TestWallet()
        let stack = try await Stack(miner: miner, blockInterval: 0.3)
        defer { stack.stop() }
        try await waitUntil("a mature coinbase", timeout: 120) { try await stack.height() >= ChainParams.regtest.coinbaseMaturity + 2 }
        let coins = try await stack.spendable(miner, tip: try await stack.height())
        let coin = try #require(coins.first, "no mature coinbase\n\(stack.log)")
        let before = try await Self.counters(stack)

        let flood = try await stack.startFlood(clients: 32, on: coin)
        try await waitUntil("400 acknowledged", timeout: 180) { flood.acknowledgedCount >= 400 }
        let tally = await flood.stop()
        let after = try await Self.counters(stack)
        let batches = after.batches - before.batches, transactions = after.transactions - before.transactions
        print("batched submissions: \(tally.summary); \(transactions) transactions in \(batches) submittxs requests, the largest \(after.largest)")

        // every acknowledged transaction (and the fan-out) came in a batch, and batches held many
        #expect(batches > 0)
        #expect(transactions >= tally.acknowledged.count + 1, "\(transactions) transactions in batches, \(tally.acknowledged.count) acknowledged")
        #expect(batches < transactions, "\(batches) requests for \(transactions) transactions: no batch held two")
        #expect(after.largest > 1)
        try await stack.expectNothingLost(tally)
        #expect(tally.refused.isEmpty, "transactions of the flood refused for good: \(tally.refused)")
    }
}
