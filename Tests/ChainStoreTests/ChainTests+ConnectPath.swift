import ChainCore
import Foundation
import GRDB
import NodeKit
import Testing
import TestSupport
@testable import ChainStore

/// The connect path: a branch's blocks are checked but for their signatures, then written while
/// the signatures are verified, and the write commits only if they all verify. The block refused
/// is the one checking each block whole, in order, would refuse, and a refusal leaves nothing written.
@Suite struct ConnectPathTests {
    let params = ChainParams.regtest

    /// A chain store with `maturity + 1` blocks paying `a`, so the first block's coinbase is spendable.
    func setup() async throws -> (StoreHarness, Chain, ChainQueries, TestWallet, [Block]) {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let a = TestWallet()
        let base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: a)
        return (h, chain, q, a, base)
    }

    func coinbaseCoin(_ block: Block) -> (OutPoint, TxOutput) {
        let cb = block.transactions[0]
        return (OutPoint(txid: cb.txid, index: 0), cb.outputs[0])
    }

    func status(_ q: ChainQueries, _ block: Block) async throws -> Int? {
        try await q.db.read { db in try Int.fetchOne(db, sql: "SELECT status FROM header WHERE hash = ?", arguments: [Data(block.hash.bytes)]) }
    }

    @Test func theCoinsReadForABlockAreThoseStoredAndMissingOnesAreLeftOut() async throws {
        let (_, _, q, _, base) = try await setup()
        let stored = base.prefix(3).map { coinbaseCoin($0) }
        let missing = [OutPoint(txid: base[0].transactions[0].txid, index: 1), OutPoint(txid: Hash256.sha256d([7]), index: 0)]
        let coins = try await q.db.read { db in try ChainStorage.coins(db, stored.map(\.0) + missing) }
        #expect(coins.count == 3)
        for (op, out) in stored {
            let height = base.firstIndex { $0.transactions[0].txid == op.txid }! + 1
            #expect(coins[op] == Coin(output: out, height: height, isCoinbase: true))
        }
        for op in missing { #expect(coins[op] == nil) }
    }

    /// The read of a block's coins split across readers finds what one read finds.
    @Test func theCoinsReadInPartsAreThoseOneReadFinds() async throws {
        let (_, chain, q, a, base) = try await setup()
        let coin = coinbaseCoin(base[0])
        let fan = a.spend([coin], to: (0..<1_200).map { _ in a.output(coin.1.value / 2_000) })
        let block = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [fan],
                                       fees: coin.1.value - coin.1.value / 2_000 * 1_200)
        let r = await chain.submit(block, source: "test")
        #expect(r.accepted && r.isTip, "\(r)")
        let outpoints = (0..<1_300).map { OutPoint(txid: fan.txid, index: UInt32($0)) } + base.map { coinbaseCoin($0).0 }
        let inParts = try await chain.fetchCoinsInParallel(outpoints, parallelism: 3)
        let inOne = try await q.db.read { db in try ChainStorage.coins(db, outpoints) }
        #expect(inParts.count == 1_200 + base.count - 1)
        #expect(inParts == inOne)
    }

    @Test func aCoinCreatedAndSpentInTheSameBlockConnects() async throws {
        let (_, chain, q, a, base) = try await setup()
        let b = TestWallet()
        let coin = coinbaseCoin(base[0])
        let first = a.spend([coin], to: [a.output(coin.1.value - 500)])
        let second = a.spend([(OutPoint(txid: first.txid, index: 0), first.outputs[0])], to: [b.output(first.outputs[0].value - 500)])
        let block = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [first, second], fees: 1_000)
        let r = await chain.submit(block, source: "test")
        #expect(r.accepted && r.isTip, "\(r)")
        let coins = try await q.coins(OutpointList(outpoints: [coin.0.description, "\(first.txid.hex):0", "\(second.txid.hex):0"]))
        #expect(coins[0] == nil && coins[1] == nil && coins[2]?.value == first.outputs[0].value - 500)
        #expect(try await q.transaction(TxRef(txid: second.txid.hex)).fee == 500)
        #expect(try await q.verifyUTXO().ok)
    }

    @Test func aMissingCoinIsRefusedAndNothingIsWritten() async throws {
        let (_, chain, q, a, base) = try await setup()
        let coin = coinbaseCoin(base[0])
        let ghost = (OutPoint(txid: Hash256.sha256d([9]), index: 0), a.output(coin.1.value))
        let good = a.spend([coin], to: [a.output(coin.1.value - 500)])
        let bad = a.spend([ghost], to: [a.output(100)])
        let block = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [good, bad], fees: 500)
        let r = await chain.submit(block, source: "test")
        #expect(!r.accepted && r.reason == "bad-txns-inputs-missingorspent", "\(r)")
        #expect(r.message?.contains("transaction 2 input 0") == true, "\(r)")
        #expect(await chain.tip.hash == base.last!.hash)
        #expect(try await status(q, block) == Schema.Status.invalid.rawValue)
        #expect(try await q.coins(OutpointList(outpoints: [coin.0.description]))[0] != nil)
        #expect(try await q.verifyUTXO().ok)
    }

    /// A reorganisation onto a branch whose second block has a bad signature: the whole write is
    /// rolled back (the old branch stays, with its coins), the bad block is marked invalid and the
    /// good one before it stays a valid stored block.
    @Test func aBadSignatureInABranchRollsTheWholeReorganisationBack() async throws {
        let (h, chain, q, a, base) = try await setup()
        let b = TestWallet(), thief = TestWallet()
        let old = await extendChain(chain, from: base.last!, height: base.count + 1, count: 1, wallet: a, extra: [1])
        let utxoBefore = try await q.chainInfo().utxoCount
        let pay = a.spend([coinbaseCoin(base[0])], to: [b.output(coinbaseCoin(base[0]).1.value - 500)])
        let side1 = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: b, transactions: [pay], fees: 500, extra: [2])
        #expect(await chain.submit(side1, source: "test").reason == "inconclusive")
        let steal = thief.spend([coinbaseCoin(base[1])], to: [thief.output(coinbaseCoin(base[1]).1.value)])
        let side2 = ChainFixtures.next(after: side1.header, height: base.count + 2, paying: thief, transactions: [steal])
        let r = await chain.submit(side2, source: "test")
        #expect(!r.accepted && r.reason == "bad-txns-signature", "\(r)")
        #expect(r.message?.contains("transaction 1 input 0") == true, "\(r)")
        #expect(await chain.tip.hash == old[0].hash)
        #expect(try await status(q, side2) == Schema.Status.invalid.rawValue)
        #expect(try await status(q, side1) == Schema.Status.stored.rawValue)
        #expect(try await q.chainInfo().utxoCount == utxoBefore)
        #expect(try await q.coins(OutpointList(outpoints: [coinbaseCoin(base[0]).0.description]))[0] != nil)
        #expect(try await q.verifyUTXO().ok)
        #expect(h.changes.withLock { $0.last?.connected.last?.block.hash } == old[0].hash, "nothing published for the refused branch")
    }

    /// The first block of a branch has a bad signature and the second spends a missing coin: the
    /// first is the block refused, as checking each block whole in order refuses it before the second.
    @Test func anEarlierBlocksBadSignatureIsRefusedBeforeALaterBlocksRule() async throws {
        let (_, chain, q, a, base) = try await setup()
        let thief = TestWallet()
        let old = await extendChain(chain, from: base.last!, height: base.count + 1, count: 1, wallet: a, extra: [1])
        let steal = thief.spend([coinbaseCoin(base[0])], to: [thief.output(coinbaseCoin(base[0]).1.value)])
        let side1 = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: thief, transactions: [steal], extra: [2])
        #expect(await chain.submit(side1, source: "test").reason == "inconclusive")
        let ghost = a.spend([(OutPoint(txid: Hash256.sha256d([9]), index: 0), a.output(1_000))], to: [a.output(100)])
        let side2 = ChainFixtures.next(after: side1.header, height: base.count + 2, paying: thief, transactions: [ghost])
        let r = await chain.submit(side2, source: "test")
        #expect(!r.accepted && r.reason == "bad-txns-signature", "\(r)")
        #expect(await chain.tip.hash == old[0].hash)
        #expect(try await status(q, side1) == Schema.Status.invalid.rawValue)
        #expect(try await status(q, side2) == Schema.Status.invalid.rawValue)
        #expect(try await q.verifyUTXO().ok)
    }

    /// A block of many transactions (more than one verification chunk) with one bad signature
    /// far in: refused with that transaction's position, nothing written.
    @Test func aBadSignatureDeepInABigBlockIsFoundAndNothingIsWritten() async throws {
        let (_, chain, q, a, base) = try await setup()
        let coin = coinbaseCoin(base[0])
        let n = 150
        let fan = a.spend([coin], to: (0..<n).map { _ in a.output(coin.1.value / UInt64(n + 1)) })
        let fanBlock = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [fan],
                                          fees: coin.1.value - fan.outputs.reduce(0) { $0 + $1.value })
        #expect(await chain.submit(fanBlock, source: "test").isTip)
        let utxoBefore = try await q.chainInfo().utxoCount
        var spends = (0..<n).map { i in
            a.spend([(OutPoint(txid: fan.txid, index: UInt32(i)), fan.outputs[i])], to: [a.output(fan.outputs[i].value - 10)])
        }
        spends[130].inputs[0].payload[3] ^= 1
        let block = ChainFixtures.next(after: fanBlock.header, height: base.count + 2, paying: a, transactions: spends, fees: 10 * UInt64(n))
        let r = await chain.submit(block, source: "test")
        #expect(!r.accepted && r.reason == "bad-txns-signature", "\(r)")
        #expect(r.message?.contains("transaction 131 input 0") == true, "\(r)")
        #expect(await chain.tip.hash == fanBlock.hash)
        #expect(try await q.chainInfo().utxoCount == utxoBefore)
        #expect(try await q.verifyUTXO().ok)
    }

    /// A damaged store: the tip block spends a coin but its undo row is gone. A reorganisation that
    /// must disconnect it is refused (it could not restore the coin) and its commit rolls back: the
    /// tip, the coins and every index row of the block stay as they were.
    /// (Both refusals come before any write: a regression test of the guards, not of a rollback.)
    @Test func aBlockWithoutItsUndoDataIsNotDisconnectedAndNothingIsWritten() async throws {
        let (_, chain, q, a, base) = try await setup()
        let b = TestWallet(), c = TestWallet()
        let coin = coinbaseCoin(base[0])
        let pay = a.spend([coin], to: [b.output(1_000), a.output(coin.1.value - 1_300)])
        let block = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [pay], fees: 300)
        #expect(await chain.submit(block, source: "test").isTip)
        let rows = { () async throws -> [Int] in
            try await q.db.read { db in
                try ["addr", "spend", "tx", "utxo"].map { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \($0)") ?? 0 }
            }
        }
        try await q.db.write { db in try db.execute(sql: "DELETE FROM undo WHERE hash = ?", arguments: [Data(block.hash.bytes)]) }
        let before = try await rows()
        // A longer branch from the block's parent: activating it must disconnect the damaged block first.
        let side1 = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: c, extra: [5])
        #expect(await chain.submit(side1, source: "test").reason == "inconclusive")
        let side2 = ChainFixtures.next(after: side1.header, height: base.count + 2, paying: c, extra: [5])
        let r = await chain.submit(side2, source: "test")
        #expect(!r.accepted && r.reason == SubmitOutcome.internalCode && r.message?.contains("undo data") == true, "\(r)")
        #expect(await chain.tip.hash == block.hash)
        #expect(try await rows() == before)
        // The storage's own guard, below the chain's (which refuses first, reading the undo data):
        // the disconnection throws before it writes anything.
        await #expect(throws: ChainStorage.MissingUndo.self) {
            try await q.db.write { db in _ = try ChainStorage.disconnect(db, block: block, height: base.count + 1) }
        }
        #expect(try await rows() == before)
        #expect(try await q.coins(OutpointList(outpoints: [coin.0.description]))[0] == nil, "the coin the block spent stays spent")
        #expect(try await q.addressStats(AddressRef(publicKey: Hex.encode(b.publicKey))).txCount == 1)
        #expect(try await q.verifyUTXO().ok)
    }
}
