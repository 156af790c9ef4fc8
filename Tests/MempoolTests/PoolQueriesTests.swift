import ChainCore
import Foundation
import GRDB
import NodeKit
import Testing
import TestSupport
@testable import Mempool

/// The explorer's questions to the pool: who spends an outpoint, and the projected blocks.
@Suite("Pool queries")
struct PoolQueriesTests {
    @Test func spendersAreTheInputsOfPoolTransactions() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let parent = h.pay(h.spendable[0])
        _ = try await pool.submit(hex: Hex.encode(parent.encoded), receivedAt: nil)
        let change = (OutPoint(txid: parent.txid, index: 1), parent.outputs[1])
        let child = h.wallet.spend([h.spendable[1], change], to: [h.wallet.output(change.1.value + h.spendable[1].1.value - 2_000)])
        _ = try await pool.submit(hex: Hex.encode(child.encoded), receivedAt: nil)
        let found = await pool.spenders(of: [h.spendable[0].0, change.0, OutPoint(txid: parent.txid, index: 0), h.spendable[1].0])
        #expect(found[0] == SpendInfo(outpoint: h.spendable[0].0.description, txid: parent.txid.hex, vin: 0))
        #expect(found[1] == SpendInfo(outpoint: change.0.description, txid: child.txid.hex, vin: 1))
        #expect(found[2] == nil)
        #expect(found[3]?.txid == child.txid.hex && found[3]?.vin == 0)
        // Mined: the pool forgets them, and so does the answer.
        let block = ChainFixtures.next(after: h.blocks.last!.header, height: h.blocks.count, paying: h.wallet, transactions: [parent, child],
                                       fees: 3_000)
        await pool.blockConnected(block, height: h.blocks.count)
        #expect(await pool.spenders(of: [h.spendable[0].0]) == [nil])
    }

    @Test func projectedBlocksFollowBlockAssembly() async throws {
        let e = BlockAssemblerTests.entry
        // Block room for two 100-byte transactions each.
        let room = BlockAssembler.reserved + 200
        let parent = e(1, 100, 100, [])                 // 1/byte
        let child = e(2, 5_000, 100, [parent.txid])     // 50/byte, needs its parent
        let rich = e(3, 2_000, 100, [])                 // 20/byte
        let mid = e(4, 1_000, 100, [])                  // 10/byte
        let poor = e(5, 200, 100, [])                   // 2/byte
        let p = ProjectedBlocks.project([parent, child, rich, mid, poor], count: 8, maxBlockSize: room)
        // Block 0: rich, mid (the child waits for its parent); block 1: poor, parent; block 2: the child.
        #expect(p.blocks.map(\.nTx) == [2, 2, 1])
        #expect(p.blockOf[rich.txid] == 0 && p.blockOf[mid.txid] == 0)
        #expect(p.blockOf[poor.txid] == 1 && p.blockOf[parent.txid] == 1 && p.blockOf[child.txid] == 2)
        #expect(p.blocks[0].totalFees == 3_000 && p.blocks[0].blockSize == 200 && p.blocks[0].blockVSize == 200)
        #expect(p.blocks[0].feeRange == [10, 10, 10, 20, 20, 20, 20])
        #expect(p.blocks[0].medianFee == 20)
        // With room for two blocks' worth of projection, the last takes all that is left.
        let two = ProjectedBlocks.project([parent, child, rich, mid, poor], count: 2, maxBlockSize: room)
        #expect(two.blocks.map(\.nTx) == [2, 3])
        #expect(ProjectedBlocks.project([PoolEntry](), count: 8).blocks.isEmpty)
    }

    @Test func aPendingTransactionsPlace() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let tx = h.pay(h.spendable[0])
        _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
        let answer = await pool.projectedBlocks(MempoolBlocksRequest(txid: tx.txid.hex))
        #expect(answer.blocks.count == 1 && answer.blocks[0].nTx == 1 && answer.txBlock == 0)
        #expect(await pool.projectedBlocks(MempoolBlocksRequest(txid: String(repeating: "0", count: 64))).txBlock == nil)
    }

    @Test func samplesAreRecordedAndKeptForTheirWindow() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let db = try DatabasePool(path: h.dir.appendingPathComponent("mempool.sqlite").path)
        try MempoolStore.samplesMigrator().migrate(db)
        let samples = MempoolSamples(db: db, keep: 100)
        try await samples.record(await pool.sample(at: 1_000))
        let tx = h.pay(h.spendable[0], fee: 5_000)
        _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
        let busy = await pool.sample(at: 1_050)
        #expect(busy.count == 1 && busy.bytes == tx.encodedSize && busy.totalFee == 5_000)
        #expect(busy.nextBlockMedianFee == Double(5_000) / Double(tx.encodedSize) && busy.nextBlockMinFee == busy.nextBlockMedianFee)
        try await samples.record(busy)
        #expect(try await samples.since(0).map(\.count) == [0, 1])
        #expect(try await samples.since(1_010) == [busy])
        // Past the window, the oldest go.
        try await samples.record(await pool.sample(at: 1_120))
        #expect(try await samples.since(0).map(\.time) == [1_050, 1_120])
    }
}
