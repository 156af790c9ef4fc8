import ChainCore
import Foundation
import GRDB
import NodeKit
import Testing
import TestSupport
@testable import Mempool

/// What the pool announces when it learns of the chain late, after a restart, and its consistency check.
@Suite struct MempoolAnnouncements {
    func storedCount(_ h: PoolHarness) async throws -> Int {
        let db = try DatabaseQueue(path: h.dir.appendingPathComponent("mempool.sqlite").path)
        return try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM tx") ?? 0 }
    }

    /// The chain store restarted and the pool missed the `connected` of a block holding its
    /// transactions: the revalidation that follows removes them as included (no R), while a
    /// transaction whose input a block spent otherwise still gets its R.
    @Test func aBlockLearntOfLateIsARemovalByInclusion() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let mined = h.pay(h.spendable[0])
        let minedChild = h.wallet.spend([(OutPoint(txid: mined.txid, index: 1), mined.outputs[1])], to: [h.wallet.output(mined.outputs[1].value - 2_000)])
        let conflicted = h.pay(h.spendable[1])
        for tx in [mined, minedChild, conflicted] { _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil) }
        h.events.log.withLock { $0.removeAll() }
        // The block (never seen by the pool) confirmed `mined` and `minedChild`, and spent conflicted's input otherwise.
        h.chain.view.withLock { v in
            v.coins[h.spendable[0].0] = nil
            v.coins[h.spendable[1].0] = nil
            v.coins[OutPoint(txid: mined.txid, index: 0)] = Coin(output: mined.outputs[0], height: 40, isCoinbase: false)
            v.coins[OutPoint(txid: minedChild.txid, index: 0)] = Coin(output: minedChild.outputs[0], height: 40, isCoinbase: false)
        }
        h.chain.confirmed.withLock { $0.formUnion([mined.txid, minedChild.txid]) }
        await pool.revalidateAll(reason: "test: the chain store restarted")
        #expect(await pool.entries.isEmpty)
        #expect(try await storedCount(h) == 0)
        let log = h.events.log.withLock { $0 }
        #expect(!log.contains { $0.hasPrefix("R \(mined.txid.hex)") }, "\(log)")
        #expect(!log.contains { $0.hasPrefix("R \(minedChild.txid.hex)") }, "\(log)")
        #expect(log.contains { $0.hasPrefix("R \(conflicted.txid.hex)") }, "\(log)")
        let stages = try await pool.trace(mined.txid.hex).map(\.stage)
        #expect(stages.contains(.mined))
    }

    /// A restarted pool announces again what it reloads (the process that acknowledged a
    /// transaction may have died before announcing it), and a mined one quietly leaves.
    @Test func aReloadAnnouncesWhatItKeeps() async throws {
        let h = try await PoolHarness()
        var txids = [Hash256]()
        do {
            let pool = try h.open()
            for i in 0..<3 {
                let tx = h.pay(h.spendable[i])
                _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
                txids.append(tx.txid)
            }
        }
        // While it was down, a block confirmed the first one.
        h.chain.view.withLock { $0.coins[h.spendable[0].0] = nil }
        h.chain.confirmed.withLock { _ = $0.insert(txids[0]) }
        h.events.log.withLock { $0.removeAll() }
        let reopened = try h.open()
        try await reopened.loadPersisted()
        let log = h.events.log.withLock { $0 }
        // The mempool sequence goes on from where the last process left it (3 announcements), never back.
        #expect(Set(log) == ["A \(txids[1].hex) 4", "A \(txids[2].hex) 5"], "\(log)")
        #expect(await reopened.sequence == 5)
        // And again after another restart: above everything announced before.
        let third = try h.open()
        h.events.log.withLock { $0.removeAll() }
        try await third.loadPersisted()
        let again = h.events.log.withLock { $0 }
        #expect(again.count == 2 && again.allSatisfy { UInt64($0.split(separator: " ").last ?? "") ?? 0 > 5 }, "\(again)")
        #expect(try await storedCount(h) == 2)
    }

    @Test func theConsistencyCheck() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let parent = h.pay(h.spendable[0])
        let child = h.wallet.spend([(OutPoint(txid: parent.txid, index: 1), parent.outputs[1])], to: [h.wallet.output(parent.outputs[1].value - 2_000)])
        for tx in [parent, child, h.pay(h.spendable[1])] { _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil) }
        let good = await pool.check()
        #expect(good.ok && good.count == 3 && good.stored == 3 && good.chainChecked, "\(good.problems)")
        // Its file lost a row, and the chain spent an input behind its back: both reported.
        let db = try DatabaseQueue(path: h.dir.appendingPathComponent("mempool.sqlite").path)
        try await db.write { try $0.execute(sql: "DELETE FROM tx WHERE txid = ?", arguments: [Data(child.txid.bytes)]) }
        h.chain.view.withLock { $0.coins[h.spendable[1].0] = nil }
        let bad = await pool.check()
        #expect(!bad.ok)
        #expect(bad.stored == 2)
        #expect(bad.problems.contains { $0.contains(child.txid.hex) && $0.contains("not in mempool.sqlite") }, "\(bad.problems)")
        #expect(bad.problems.contains { $0.contains("not an unspent coin") }, "\(bad.problems)")
        // The chain store not answering: reported as not checked, never as consistent.
        h.chain.down.store(true, ordering: .relaxed)
        let unchecked = await pool.check()
        #expect(!unchecked.chainChecked && !unchecked.ok)
    }
}
