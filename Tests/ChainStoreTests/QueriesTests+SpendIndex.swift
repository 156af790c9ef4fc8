import ChainCore
import Foundation
import GRDB
import NodeKit
import Testing
import TestSupport
@testable import ChainStore

/// The spend index ("spent by"): written with a block's connection, undone with its disconnection,
/// and filled for a data folder made before it existed.
@Suite struct SpendIndexTests {
    let params = ChainParams.regtest

    @Test func aReorgReplacesTheSpenderOfAnOutput() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let a = TestWallet(), b = TestWallet(), c = TestWallet()
        let base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: a)
        let cb = base[0].transactions[0]
        let coin = OutPoint(txid: cb.txid, index: 0)
        let fee: Amount = 500
        // Branch 1: one block whose second transaction spends the coin, paying b.
        let pay1 = a.spend([(coin, cb.outputs[0])], to: [b.output(cb.outputs[0].value - fee)])
        let h1 = base.count + 1
        let block1 = ChainFixtures.next(after: base.last!.header, height: h1, paying: a, transactions: [pay1], fees: fee)
        #expect(await chain.submit(block1, source: "test").isTip)
        var spends = try await q.spends(OutpointList(outpoints: [coin.description, "\(pay1.txid.hex):0", "\(cb.txid.hex):7"]))
        #expect(spends[0] == SpendInfo(outpoint: coin.description, txid: pay1.txid.hex, vin: 0, height: h1,
                                       blockHash: block1.hash.hex, blockTime: block1.header.time))
        #expect(spends[1] == nil && spends[2] == nil)

        // Branch 2, longer, from the same parent: an empty block, then one spending the coin to c instead.
        let empty = ChainFixtures.next(after: base.last!.header, height: h1, paying: c, extra: [9])
        _ = await chain.submit(empty, source: "test")
        let pay2 = a.spend([(coin, cb.outputs[0])], to: [c.output(1_000), a.output(cb.outputs[0].value - 1_000 - fee)])
        let block2 = ChainFixtures.next(after: empty.header, height: h1 + 1, paying: c, transactions: [pay2], fees: fee)
        #expect(await chain.submit(block2, source: "test").isTip)
        spends = try await q.spends(OutpointList(outpoints: [coin.description, "\(pay1.txid.hex):0"]))
        #expect(spends[0]?.txid == pay2.txid.hex && spends[0]?.height == h1 + 1 && spends[0]?.blockHash == block2.hash.hex)
        #expect(spends[1] == nil, "the old branch's spend is gone with it")

        // Back to branch 1 (two more blocks on it): pay1 spends the coin again, pay2 is out of the chain.
        let more = await extendChain(chain, from: block1, height: h1 + 1, count: 2, wallet: a, extra: [4])
        #expect(await chain.tip.hash == more.last!.hash)
        spends = try await q.spends(OutpointList(outpoints: [coin.description]))
        #expect(spends[0]?.txid == pay1.txid.hex && spends[0]?.height == h1 && spends[0]?.blockHash == block1.hash.hex)
        let rows = try await q.db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM spend") ?? -1 }
        #expect(rows == 1, "one non-coinbase input on the best chain, one row")
    }

    @Test func blockStatsForTheCharts() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let a = TestWallet(), b = TestWallet()
        let base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: a)
        let cb = base[0].transactions[0]
        let pay = a.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])], to: [b.output(cb.outputs[0].value - 700)])
        let block = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [pay], fees: 700)
        #expect(await chain.submit(block, source: "test").isTip)
        let stats = try await q.blockStats(BlockStatsRequest(count: 3))
        #expect(stats.map(\.height) == [base.count - 1, base.count, base.count + 1])
        #expect(stats.last?.fees == 700 && stats.last?.txCount == 2 && stats.last?.size == block.encodedSize)
        #expect(stats.last?.time == block.header.time && stats.first?.fees == 0)
        #expect((stats.last?.work ?? 0) > 0 && (stats.last?.difficulty ?? 0) > 0)
        #expect(try await q.blockStats(BlockStatsRequest(count: 1_000)).count == base.count + 2, "clamped at genesis")
        #expect(try await q.blockStats(BlockStatsRequest(count: 2, endHeight: 1)).map(\.height) == [0, 1])
        await #expect(throws: RPCError.self) { try await q.blockStats(BlockStatsRequest(count: 0)) }
    }

    @Test func badOutpointsAreRefused() async throws {
        let h = try StoreHarness()
        let (_, q) = try await h.open()
        await #expect(throws: RPCError.self) { try await q.spends(OutpointList(outpoints: ["nope"])) }
    }

    @Test func theMigrationFillsTheIndexOfAnOlderDataFolder() async throws {
        let h = try StoreHarness()
        let a = TestWallet(), b = TestWallet()
        var pay: Transaction!
        var coin: OutPoint!
        do {
            let (chain, old) = try await h.open()
            let base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: a)
            let cb = base[0].transactions[0]
            coin = OutPoint(txid: cb.txid, index: 0)
            pay = a.spend([(coin, cb.outputs[0])], to: [b.output(cb.outputs[0].value - 300)])
            let block = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [pay], fees: 300)
            #expect(await chain.submit(block, source: "test").isTip)
            // Make it look like a folder from before the spend index.
            try await old.db.write { db in
                try db.execute(sql: "DROP TABLE spend")
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v2-spend'")
            }
            try old.db.close()
        }
        let (_, q) = try await h.open()
        let spends = try await q.spends(OutpointList(outpoints: [coin.description]))
        #expect(spends[0]?.txid == pay.txid.hex && spends[0]?.vin == 0 && spends[0]?.height == params.coinbaseMaturity + 2)
    }
}
