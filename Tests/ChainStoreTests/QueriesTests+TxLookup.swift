import ChainCore
import Foundation
import GRDB
import NodeKit
import Testing
import TestSupport
@testable import ChainStore

/// Looking a confirmed transaction up (`/api/tx/:txid`, getrawtransaction): the right one out of a
/// block of many, with its block, position, fee and time.
@Suite struct TxLookupTests {
    let params = ChainParams.regtest

    /// A chain with a mature coinbase fanned out into `count` outputs (one block), then a block of
    /// `count` transactions each spending one of them (with fees 1,000 + its index).
    static func bigBlock(_ chain: Chain, count: Int, wallet: TestWallet) async throws -> (block: Block, height: Int) {
        let params = ChainParams.regtest
        let base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: wallet)
        let cb = base[0].transactions[0]
        let fanFee: Amount = 10_000
        let each = (cb.outputs[0].value - fanFee) / Amount(count)
        let fan = wallet.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])], to: (0..<count).map { _ in wallet.output(each) })
        let fanBlock = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: wallet, transactions: [fan],
                                          fees: cb.outputs[0].value - each * Amount(count))
        try #require(await chain.submit(fanBlock, source: "test").isTip)
        let payees = (0..<8).map { _ in TestWallet() }
        var txs = [Transaction]()
        var fees: Amount = 0
        for i in 0..<count {
            let fee = Amount(1_000 + i)
            txs.append(wallet.spend([(OutPoint(txid: fan.txid, index: UInt32(i)), fan.outputs[i])],
                                    to: [payees[i % payees.count].output(each - fee)]))
            fees += fee
        }
        let height = base.count + 2
        let block = ChainFixtures.next(after: fanBlock.header, height: height, paying: wallet, transactions: txs, fees: fees)
        let r = await chain.submit(block, source: "test")
        try #require(r.isTip, "\(r)")
        return (block, height)
    }

    static func expectRight(_ found: ConfirmedTx, _ block: Block, position: Int, height: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let tx = block.transactions[position]
        #expect(found.txid == tx.txid.hex, sourceLocation: sourceLocation)
        #expect(found.hex == Hex.encode(tx.encoded), "position \(position): another transaction's bytes", sourceLocation: sourceLocation)
        #expect(found.position == position && found.height == height && found.blockHash == block.hash.hex, sourceLocation: sourceLocation)
        #expect(found.blockTime == block.header.time, sourceLocation: sourceLocation)
        #expect(found.fee == (position == 0 ? 0 : UInt64(1_000 + position - 1)), "position \(position): fee \(found.fee)", sourceLocation: sourceLocation)
    }

    @Test func eachTransactionOfABlockOfManyIsFoundWhole() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let count = 400
        let (block, height) = try await Self.bigBlock(chain, count: count, wallet: TestWallet())
        for position in 0...count {
            Self.expectRight(try await q.transaction(TxRef(txid: block.transactions[position].txid.hex)), block, position: position, height: height)
        }
        await #expect(throws: RPCError.self) { try await q.transaction(TxRef(txid: Hash256.sha256d([7]).hex)) }
        // Each row says where its bytes lie.
        let spans = try await q.db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tx WHERE start IS NOT NULL AND size IS NOT NULL") }
        #expect(spans == Self.rowsBefore + count + 1)

        // A row whose span is missing or points at other bytes still answers the right transaction (from the whole block).
        let odd = block.transactions[7].txid, gone = block.transactions[9].txid
        try await q.db.write { db in
            try db.execute(sql: "UPDATE tx SET start = start + 1 WHERE txid = ?", arguments: [Data(odd.bytes)])
            try db.execute(sql: "UPDATE tx SET start = NULL, size = NULL WHERE txid = ?", arguments: [Data(gone.bytes)])
        }
        Self.expectRight(try await q.transaction(TxRef(txid: odd.hex)), block, position: 7, height: height)
        Self.expectRight(try await q.transaction(TxRef(txid: gone.hex)), block, position: 9, height: height)
    }

    /// Transactions connected before the big block's: the mature chain's coinbases, then the fan-out block's two.
    static var rowsBefore: Int { ChainParams.regtest.coinbaseMaturity + 1 + 2 }

    @Test func theMigrationFillsTheSpansOfAnOlderDataFolder() async throws {
        let h = try StoreHarness()
        let count = 50
        let block: Block, height: Int
        do {
            let (chain, old) = try await h.open()
            (block, height) = try await Self.bigBlock(chain, count: count, wallet: TestWallet())
            // Make it look like a folder from before the spans.
            try await old.db.write { db in
                try db.execute(sql: "ALTER TABLE tx DROP COLUMN start; ALTER TABLE tx DROP COLUMN size")
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v3-tx-span'")
            }
            try old.db.close()
        }
        let (_, q) = try await h.open()
        let filled = try await q.db.read { db in
            try Row.fetchAll(db, sql: "SELECT txid, start, size FROM tx WHERE block = ? ORDER BY position", arguments: [Data(block.hash.bytes)])
        }
        #expect(filled.count == count + 1)
        let spans = TxSpans.of(block)
        for (i, row) in filled.enumerated() {
            #expect(row["start"] as Int? == spans[i].start && row["size"] as Int? == spans[i].size, "position \(i)")
        }
        #expect(Array(block.encoded[spans[count].start..<spans[count].start + spans[count].size]) == block.transactions[count].encoded)
        let blanks = try await q.db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tx WHERE start IS NULL OR size IS NULL") }
        #expect(blanks == 0)
        for position in [0, 1, count / 2, count] {
            Self.expectRight(try await q.transaction(TxRef(txid: block.transactions[position].txid.hex)), block, position: position, height: height)
        }
    }

    /// A figure, never asserted (run with CAIRN_FIGURES=1; building the block takes a while in a
    /// debug build): one lookup of the last transaction of a block of 5,000.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CAIRN_FIGURES"] != nil))
    func lookupTimeInABlockOf5000() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let (block, height) = try await Self.bigBlock(chain, count: 5_000, wallet: TestWallet())
        let last = block.transactions.count - 1
        let ref = TxRef(txid: block.transactions[last].txid.hex)
        Self.expectRight(try await q.transaction(ref), block, position: last, height: height)
        let clock = ContinuousClock()
        var times = [Duration]()
        for _ in 0..<30 {
            let start = clock.now
            _ = try await q.transaction(ref)
            times.append(clock.now - start)
        }
        times.sort()
        print("tx lookup in a block of \(block.transactions.count) transactions (\(block.encodedSize) bytes): median \(times[times.count / 2]), best \(times[0]) over \(times.count) lookups")
    }
}
