import ChainCore
import Foundation
import GRDB
import NodeKit
import Testing
import TestSupport
@testable import ChainStore

/// A data folder made before migration v4 (height indexes on addr and spend) opens, loses those
/// indexes, and disconnects the blocks it had connected with them exactly; its trace rows are found
/// through v5's index on the id's first 16 hex digits.
@Suite struct SchemaMigrationTests {
    let params = ChainParams.regtest

    static func indexes(_ q: ChainQueries) async throws -> Set<String> {
        try await q.db.read { db in Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")) }
    }

    @Test func anOldDataFolderDropsTheHeightIndexesAndStillReorganises() async throws {
        let h = try StoreHarness()
        let a = TestWallet(), b = TestWallet(), c = TestWallet()
        var base = [Block]()
        var block1: Block!
        var pay: Transaction!
        do {
            let (chain, old) = try await h.open(schemaUpTo: "v3-tx-span")
            #expect(try await Self.indexes(old).isSuperset(of: ["addr_height", "spend_height"]))
            base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: a)
            let cb = base[0].transactions[0]
            pay = a.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])], to: [b.output(1_000), a.output(cb.outputs[0].value - 1_300)])
            block1 = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [pay], fees: 300)
            #expect(await chain.submit(block1, source: "test").isTip)
            try old.db.close()
        }
        let (chain, q) = try await h.open()
        let indexes = try await Self.indexes(q)
        #expect(!indexes.contains("addr_height") && !indexes.contains("spend_height"))
        #expect(indexes.isSuperset(of: ["utxo_pubkey", "tx_height", "trace_key"]) && !indexes.contains("trace_id"))
        #expect(try await q.db.read { db in try Schema.migrator().appliedIdentifiers(db) }.isSuperset(of: ["v4-no-height-indexes", "v5-trace-key"]))
        // the trace rows written before v5 are found through the new index
        #expect(try await q.trace(TxRef(txid: pay.txid.hex)).map(\.stage) == [.connected])
        let h1 = base.count + 1
        let before = try await q.db.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM addr WHERE height = ?", arguments: [h1]) ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM spend") ?? 0)
        }
        #expect(before.0 == 3 && before.1 == 1, "coinbase to a; pay from a to a and b; one spend")

        // A longer branch from block1's parent, paying c: block1 is disconnected with the indexes gone.
        let branch = await extendChain(chain, from: base.last!, height: h1, count: 2, wallet: c, extra: [7])
        #expect(await chain.tip.hash == branch.last!.hash)
        let payKey = Data(pay.txid.bytes)
        let after = try await q.db.read { db in
            (try Data.fetchAll(db, sql: "SELECT pubkey FROM addr WHERE height = ?", arguments: [h1]),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM spend") ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tx WHERE txid = ?", arguments: [payKey]) ?? 0)
        }
        #expect(after.0 == [Data(c.publicKey)], "only the new block's coinbase at that height")
        #expect(after.1 == 0 && after.2 == 0)
        #expect(try await q.addressStats(AddressRef(publicKey: Hex.encode(b.publicKey))).txCount == 0)
        #expect(try await q.verifyUTXO().ok)

        #expect(try await q.trace(TxRef(txid: pay.txid.hex)).map(\.stage) == [.connected, .disconnected])

        // And back: block1's branch wins again, its rows return.
        _ = await extendChain(chain, from: block1, height: h1 + 1, count: 2, wallet: a, extra: [8])
        let spends = try await q.spends(OutpointList(outpoints: [pay.inputs[0].previousOutput.description]))
        #expect(spends[0]?.txid == pay.txid.hex && spends[0]?.height == h1)
        #expect(try await q.addressStats(AddressRef(publicKey: Hex.encode(b.publicKey))).txCount == 1)
        #expect(try await q.verifyUTXO().ok)
    }

    @Test func theTraceQueryReadsTheIndexOnTheIdsFirst16HexDigits() async throws {
        let h = try StoreHarness()
        let (_, q) = try await h.open()
        let plan = try await q.db.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + ChainQueries.traceSQL, arguments: ["ab", "abab"]).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("USING INDEX trace_key") }, "\(plan)")
    }
}
