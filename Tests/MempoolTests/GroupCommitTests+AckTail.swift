import ChainCore
import Foundation
import GRDB
import NodeKit
import Testing
import TestSupport
@testable import Mempool

/// Issue 11, the acknowledgement tail: a block's removal does not hold the admissions queued
/// behind it (its rows are written a slice a commit, behind them, `WriteQueue.takeBatch`), and
/// `getmempoolinfo` is answered from a summary kept at every change, without the actor.
@Suite("Acknowledgement tail")
struct AckTailTests {
    typealias G = PoolGraphTests
    typealias Item = WriteQueue.Item

    static func ids(_ n: Int, from: Int = 0) -> [Hash256] {
        (from..<(from + n)).map { i in Hash256(bytes: (0..<32).map { UInt8(truncatingIfNeeded: i >> (8 * ($0 % 4))) }) }
    }

    /// A queued admission (its caller waiting on `ticket`).
    static func admission(_ e: PoolEntry, ticket: UInt64) -> Item {
        Item(writes: [.admit(e, receivedAt: nil, replacing: [], sequence: ticket)],
             publications: [.added(e, sequence: ticket)], admitted: [e], ticket: ticket)
    }

    /// The tickets, and the deleted rows, of a batch, in order.
    static func shape(_ batch: [Item]) -> [String] {
        batch.map { item in
            if item.barrier { return "barrier" }
            if let t = item.ticket { return "admit \(t)" }
            return "rows \(item.rows)"
        }
    }

    @Test("a quiet removal is cut into slices; admissions queued after it go first, a slice a commit with them")
    func quietRemovalsGoBehind() {
        var q = WriteQueue()
        let removal = Item(writes: [.delete(Self.ids(300), sequence: nil)])
        #expect(removal.deferrable)
        #expect(removal.chunked(WriteQueue.deferrableRows).map(\.rows) == [128, 128, 44])
        let a = G.entry([G.coin(1)], tag: 1), b = G.entry([G.coin(2)], tag: 2)
        q.items = removal.chunked(WriteQueue.deferrableRows) + [Self.admission(a, ticket: 1), Item(writes: [], ticket: 2, barrier: true),
                                                                 Self.admission(b, ticket: 3)]
        // the first slice, both admissions; the barrier stays behind the rest of the removal
        #expect(Self.shape(q.takeBatch()) == ["rows 128", "admit 1", "admit 3"])
        #expect(Self.shape(q.takeBatch()) == ["rows 128"])
        #expect(Self.shape(q.takeBatch()) == ["rows 44", "barrier"])
        #expect(q.items.isEmpty)
    }

    @Test("what an announcement, a caller, an entry or a sequence follows is never put behind")
    func onlyQuietWritesAreDeferrable() {
        let e = G.entry([G.coin(1)], tag: 1)
        #expect(!Self.admission(e, ticket: 1).deferrable)
        #expect(!Item(writes: [.delete(Self.ids(2), sequence: 7)]).deferrable)
        #expect(!Item(writes: [.sequence(3)]).deferrable)
        #expect(!Item(writes: [.delete(Self.ids(2), sequence: nil)], publications: [.removed(Self.ids(1)[0], sequence: 1, reason: "x")]).deferrable)
        #expect(!Item(writes: [], ticket: 1).deferrable)
        #expect(Item(writes: [.trace([])]).deferrable)
        #expect(Item(writes: [], ticket: 1, barrier: true).deferrable)
    }

    @Test("an insert of a row a deferred slice deletes waits behind it, with everything after it")
    func aDeleteNeverPassesAnInsertOfItsRow() {
        var q = WriteQueue()
        let back = G.entry([G.coin(1)], tag: 1), other = G.entry([G.coin(2)], tag: 2)
        q.items = [Item(writes: [.delete(Self.ids(128), sequence: nil)]), Item(writes: [.delete([back.txid], sequence: nil)]),
                   Self.admission(back, ticket: 1), Self.admission(other, ticket: 2)]
        #expect(Self.shape(q.takeBatch()) == ["rows 128"])
        #expect(Self.shape(q.takeBatch()) == ["rows 1", "admit 1", "admit 2"])
        // at the front, a slice larger than the budget still goes (the writer always progresses)
        q.items = [Item(writes: [.delete(Self.ids(5), sequence: nil)])]
        #expect(Self.shape(q.takeBatch(rowBudget: 2)) == ["rows 5"])
    }

    @Test("a block of many pool transactions: all deleted from the file, a mined trace row each, over several commits")
    func aLargeBlockIsWrittenInSlices() async throws {
        try await withHangGuard(seconds: 300) {
            let h = try await PoolHarness()
            let pool = try h.open()
            let count = WriteQueue.deferrableRows + 20
            let coin = h.spendable[0]
            let each = (coin.1.value - 20_000) / Amount(count)
            let parent = h.wallet.spend([coin], to: (0..<count).map { _ in h.wallet.output(each) })
            _ = try await pool.submit(hex: Hex.encode(parent.encoded), receivedAt: nil)
            let children = (0..<count).map { i in
                h.wallet.spend([(OutPoint(txid: parent.txid, index: UInt32(i)), parent.outputs[i])], to: [h.wallet.output(each - 1_000)])
            }
            for c in children { _ = try await pool.submit(hex: Hex.encode(c.encoded), receivedAt: nil) }
            let before = await pool.writer.commits
            let block = ChainFixtures.next(after: h.blocks.last!.header, height: h.blocks.count, paying: h.wallet,
                                           transactions: [parent] + children)
            await pool.blockConnected(block, height: h.blocks.count)
            #expect(await pool.entries.isEmpty)
            #expect(await pool.writer.commits - before >= 2)
            let db = try DatabaseQueue(path: h.dir.appendingPathComponent("mempool.sqlite").path)
            #expect(try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM tx") } == 0)
            #expect(try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM trace WHERE stage = 'mined'") } == count + 1)
            #expect(await pool.check().ok)
            // the summary follows: empty again, the sequence where the pool's is
            let info = pool.info()
            #expect(info.count == 0 && info.bytes == 0 && info.totalFee == 0)
            #expect(info.mempoolSequence == (await pool.sequence))
        }
    }

    @Test("a block's transactions leave a slice a change, each slice deleting its rows and writing their mined rows: a transaction's trace rows reach the index in one commit")
    func minedRowsGoWithTheirDeletion() async throws {
        try await withHangGuard(seconds: 300) {
            let h = try await PoolHarness()
            let path = h.poolPath
            let pool = try h.openPatient()
            let count = WriteQueue.deferrableRows
            let coin = h.spendable[0]
            let each = (coin.1.value - 20_000) / Amount(count)
            let parent = h.wallet.spend([coin], to: (0..<count).map { _ in h.wallet.output(each) })
            _ = try await pool.submit(hex: Hex.encode(parent.encoded), receivedAt: 1_795_565_000)
            let children = (0..<count).map { i in
                h.wallet.spend([(OutPoint(txid: parent.txid, index: UInt32(i)), parent.outputs[i])], to: [h.wallet.output(each - 1_000)])
            }
            for c in children { _ = try await pool.submit(hex: Hex.encode(c.encoded), receivedAt: nil) }
            let block = ChainFixtures.next(after: h.blocks.last!.header, height: h.blocks.count, paying: h.wallet,
                                           transactions: [parent] + children)
            let lock = try await WriteLockHolder(path: path)
            let connect = Task { await pool.blockConnected(block, height: h.blocks.count) }
            try await waitUntil("the block applied in memory") { await pool.entries.isEmpty }
            let writer = await pool.writer
            let slices = (writer.inFlight + writer.items).filter { !$0.deleted.isEmpty }
            #expect(slices.count >= 2)
            #expect(Set(slices.flatMap(\.deleted)) == Set([parent.txid] + children.map(\.txid)))
            for slice in slices {
                let mined = slice.writes.flatMap { w -> [String] in
                    if case let .trace(events) = w { events.filter { $0.stage == .mined }.map(\.id) } else { [] }
                }
                #expect(mined == slice.deleted.map(\.hex))
            }
            try await lock.release()
            await connect.value
            #expect(try await pool.trace(parent.txid.hex).map(\.stage) == [.received, .accepted, .mined])
            #expect(try await pool.trace(children[0].txid.hex).map(\.stage) == [.accepted, .mined])
            #expect(await pool.check().ok)
        }
    }

    @Test("getmempoolinfo's summary matches the pool after admissions, a replacement and a removal")
    func theSummaryFollowsThePool() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        #expect(pool.info().count == 0)
        let a = h.pay(h.spendable[0]), b = h.pay(h.spendable[1])
        for tx in [a, b] { _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil) }
        func matches() async -> Bool {
            let info = pool.info()
            let (count, bytes, fee, seq) = await (pool.entries.count, pool.bytes, pool.graph.totalFee, pool.sequence)
            return info.count == count && info.bytes == bytes && info.totalFee == fee && info.mempoolSequence == seq
                && info.feeHistogram.reduce(0) { $0 + Int($1[1]) } == bytes
        }
        #expect(pool.info().count == 2)
        #expect(await matches())
        // a replacement of `a` paying more
        let bump = h.pay(h.spendable[0], fee: 5_000)
        _ = try await pool.submit(hex: Hex.encode(bump.encoded), receivedAt: nil)
        #expect(pool.info().count == 2)
        #expect(await matches())
        let block = ChainFixtures.next(after: h.blocks.last!.header, height: h.blocks.count, paying: h.wallet, transactions: [b])
        await pool.blockConnected(block, height: h.blocks.count)
        #expect(pool.info().count == 1)
        #expect(await matches())
    }
}
