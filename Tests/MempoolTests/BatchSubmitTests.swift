import ChainCore
import Foundation
import GRDB
import NodeKit
import Synchronization
import Testing
import TestSupport
@testable import Mempool

/// `submittxs` on the pool (BatchSubmit.swift): each transaction of a batch gets exactly what
/// `submittx` would have answered it, and the reply waits until the accepted ones are on disk.
@Suite("Batched submissions")
struct BatchSubmitTests {
    /// What `submittx` answers for `hex` (the router's mapping of `submit(hex:receivedAt:)`).
    static func single(_ pool: Pool, _ hex: String) async -> SubmitBatch.Answer {
        do {
            let e = try await pool.submit(hex: hex, receivedAt: nil)
            return .accepted(txid: e.txid, fee: e.fee, size: e.size)
        } catch {
            return .refused(RPCError(error.code, error.message))
        }
    }

    static func serve(_ items: [SubmitBatch.Item], pool: Pool, stats: BatchSubmit.Stats = BatchSubmit.Stats()) async throws -> [SubmitBatch.Answer] {
        let payload = try #require(SubmitBatch.encode(items))
        return try SubmitBatch.decodeAnswers(try await BatchSubmit.serve(payload, pool: pool, stats: stats), count: items.count)
    }

    @Test("a batch mixing good and bad transactions answers each as submittx would, in order")
    func mixedBatch() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let pool = try h.open()
            let good = [h.pay(h.spendable[0]), h.pay(h.spendable[1], fee: 3_000)]
            let orphanParent = h.pay(h.spendable[2])
            let orphan = h.wallet.spend([(OutPoint(txid: orphanParent.txid, index: 1), orphanParent.outputs[1])], to: [h.wallet.output(orphanParent.outputs[1].value - 1_000)])
            let lowFee = h.pay(h.spendable[3], fee: 1)
            let truncated = Array(good[0].encoded.dropLast())
            let oversized = Array(repeating: UInt8(1), count: Policy().maxTxSize + 2)
            let raws = [good[0].encoded, truncated, orphan.encoded, oversized, lowFee.encoded, good[1].encoded]
            let stats = BatchSubmit.Stats()
            let answers = try await Self.serve(raws.map { SubmitBatch.Item(raw: $0, receivedAt: 1_795_565_000) }, pool: pool, stats: stats)
            #expect(stats.batches == 1 && stats.transactions == raws.count && stats.largest == raws.count)

            #expect(answers[0] == .accepted(txid: good[0].txid, fee: 1_000, size: good[0].encodedSize))
            #expect(answers[5] == .accepted(txid: good[1].txid, fee: 3_000, size: good[1].encodedSize))
            let codes = answers.map { $0.result.failure?.code }
            #expect(codes == [nil, "bad-encoding", "bad-txns-inputs-missingorspent", "tx-size", "min-relay-fee-not-met", nil])
            // each refusal is submittx's own, message included
            for i in [1, 2, 3, 4] {
                #expect(answers[i] == (await Self.single(pool, Hex.encode(raws[i]))), "item \(i)")
            }
            // the accepted ones are in the pool, and a second time they are what submittx says then
            #expect(await pool.entries.count == 2)
            let again = try await Self.serve([SubmitBatch.Item(raw: good[0].encoded, receivedAt: nil)], pool: pool)
            #expect(again == [await Self.single(pool, Hex.encode(good[0].encoded))])
            #expect(again[0].result.failure?.code == "txn-already-in-mempool")
            #expect(await pool.check().ok)
        }
    }

    @Test("a fee above the submitter's maxFee is refused max-fee-exceeded, after the transaction's own rules (a fee below the relay minimum is that refusal), and nothing of it is kept")
    func maxFee() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let pool = try h.open()
            let dear = h.pay(h.spendable[0], fee: 5_000)
            let cheap = h.pay(h.spendable[1], fee: 1_000)
            let lowFee = h.pay(h.spendable[2], fee: 1)
            let answers = try await Self.serve([SubmitBatch.Item(raw: dear.encoded, receivedAt: 1_795_565_000, maxFee: 4_999),
                                                SubmitBatch.Item(raw: cheap.encoded, receivedAt: nil, maxFee: 1_000),
                                                SubmitBatch.Item(raw: lowFee.encoded, receivedAt: nil, maxFee: 0)], pool: pool)
            #expect(answers.map { $0.result.failure?.code } == ["max-fee-exceeded", nil, "min-relay-fee-not-met"])
            #expect(answers[0].result.failure?.message.contains("fee 5000 units for \(dear.encodedSize) bytes is above the 4999 units") == true)
            #expect(Set(await pool.entries.keys) == [cheap.txid])
            #expect(try await pool.trace(dear.txid.hex).map(\.stage) == [.received, .rejected])
            // the lone submittx and testtx take the same limit; without one, the same transaction is admitted
            do throws(Pool.Refusal) {
                _ = try await pool.submit(hex: Hex.encode(dear.encoded), receivedAt: nil, maxFee: 10)
                Issue.record("submittx admitted a fee over its maxFee")
            } catch { #expect(error.code == "max-fee-exceeded") }
            do throws(Pool.Refusal) {
                _ = try await pool.test(hex: Hex.encode(dear.encoded), maxFee: 4_999)
                Issue.record("testtx allowed a fee over its maxFee")
            } catch { #expect(error.code == "max-fee-exceeded") }
            #expect(try await pool.test(hex: Hex.encode(dear.encoded), maxFee: 5_000).fee == 5_000)
            let again = try await Self.serve([SubmitBatch.Item(raw: dear.encoded, receivedAt: nil)], pool: pool)
            #expect(again == [.accepted(txid: dear.txid, fee: 5_000, size: dear.encodedSize)])
            #expect(await pool.check().ok)
        }
    }

    @Test("the reply waits until every accepted transaction of the batch is on disk")
    func answeredAfterTheCommit() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let path = h.poolPath
            let pool = try h.openPatient()
            let txs = (0..<3).map { h.pay(h.spendable[$0]) }
            let lock = try await WriteLockHolder(path: path)
            let reply = Task { try await Self.serve(txs.map { SubmitBatch.Item(raw: $0.encoded, receivedAt: nil) }, pool: pool) }
            try await waitUntil("all three in memory") { await pool.entries.count == 3 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(h.events.log.withLock { $0.isEmpty }, "announced before the commit")
            try await lock.release()
            let answers = try await reply.value
            #expect(answers == txs.map { .accepted(txid: $0.txid, fee: 1_000, size: $0.encodedSize) })
            let stored = try await DatabaseQueue(path: path).read { Set(try Data.fetchAll($0, sql: "SELECT txid FROM tx").map { Hash256(bytes: Array($0)) }) }
            #expect(stored == Set(txs.map(\.txid)))
        }
    }

    @Test("a batch is judged in its order with one getcoins for all: a child after its parent is accepted, a second spend of one coin refused; the signatures checked before the gate are reused")
    func batchSharesItsWork() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let pool = try h.open()
            let a = h.pay(h.spendable[0]), b = h.pay(h.spendable[1])
            let child = h.wallet.spend([(OutPoint(txid: a.txid, index: 1), a.outputs[1])], to: [h.wallet.output(a.outputs[1].value - 1_000)])
            let doubleSpend = h.pay(h.spendable[1], fee: 1_000, to: Units.perCoin / 2)
            let calls = h.chain.coinCalls.load(ordering: .relaxed)
            let answers = try await Self.serve([a, child, b, doubleSpend].map { SubmitBatch.Item(raw: $0.encoded, receivedAt: 1_795_565_000) }, pool: pool)
            #expect(answers.map { $0.result.failure?.code } == [nil, nil, nil, "insufficient-fee"])
            #expect(answers[1] == .accepted(txid: child.txid, fee: 1_000, size: child.encodedSize))
            #expect(h.chain.coinCalls.load(ordering: .relaxed) - calls == 1)
            // a and b verified before the gate; the child's parent was not in the pool then: verified in it
            #expect(await pool.signaturesReused == 2)
            #expect(await pool.signaturesVerifiedInGate == 1)
            #expect(Set(await pool.entries.keys) == [a.txid, child.txid, b.txid])
            // announced in the batch's order, each with its received row
            #expect(h.events.log.withLock { $0 } == ["A \(a.txid.hex) 1", "A \(child.txid.hex) 2", "A \(b.txid.hex) 3"])
            #expect(try await pool.trace(child.txid.hex).map(\.stage) == [.received, .accepted])
            #expect(try await pool.trace(doubleSpend.txid.hex).map(\.stage) == [.received, .rejected])
            #expect(await pool.check().ok)
        }
    }

    @Test("a child placed before its parent in one batch is refused as submittx would refuse it then (missing inputs), and the parent is admitted")
    func childBeforeParent() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let pool = try h.open()
            let parent = h.pay(h.spendable[0])
            let child = h.wallet.spend([(OutPoint(txid: parent.txid, index: 1), parent.outputs[1])], to: [h.wallet.output(parent.outputs[1].value - 1_000)])
            let answers = try await Self.serve([child, parent].map { SubmitBatch.Item(raw: $0.encoded, receivedAt: nil) }, pool: pool)
            #expect(answers.map { $0.result.failure?.code } == ["bad-txns-inputs-missingorspent", nil])
            #expect(Set(await pool.entries.keys) == [parent.txid])
            // sent again now that its parent is in, the child is admitted
            let again = try await Self.serve([SubmitBatch.Item(raw: child.encoded, receivedAt: nil)], pool: pool)
            #expect(again == [.accepted(txid: child.txid, fee: 1_000, size: child.encodedSize)])
            #expect(await pool.check().ok)
        }
    }

    @Test("batches served at once, each spending the same coins in another way: every coin is spent by exactly one admitted transaction")
    func concurrentBatchesSpendingOneCoin() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let pool = try h.open()
            // four batches; batch k pays coin i to a different amount, so no two spends are the same transaction
            let batches: [[Transaction]] = (0..<4).map { k in
                (0..<3).map { i in h.pay(h.spendable[i], fee: 1_000, to: Units.perCoin / 2 + Amount(k) * 1_000) }
            }
            let answers = await withTaskGroup(of: [SubmitBatch.Answer].self) { group in
                for batch in batches {
                    group.addTask { (try? await Self.serve(batch.map { SubmitBatch.Item(raw: $0.encoded, receivedAt: nil) }, pool: pool)) ?? [] }
                }
                return await group.reduce(into: [[SubmitBatch.Answer]]()) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.count == 3 })
            let accepted = answers.flatMap { $0 }.filter { $0.result.failure == nil }.count
            #expect(accepted == 3, "one spend of each of the 3 coins")
            let entries = await pool.entries
            #expect(entries.count == 3)
            for i in 0..<3 {
                let spenders = batches.map { $0[i].txid }.filter { entries[$0] != nil }
                #expect(spenders.count == 1, "coin \(i) spent by \(spenders.count) admitted transactions")
            }
            #expect(await pool.check().ok)
        }
    }

    /// Events for nobody: no live trace event is wanted.
    final class UnwatchedEvents: PoolEvents {
        let log = Mutex<[String]>([])
        func added(_ entry: PoolEntry, sequence: UInt64) async { log.withLock { $0.append("A \(entry.txid.hex) \(sequence)") } }
        func removed(_ txid: Hash256, sequence: UInt64, reason: String) async {}
        func templateChanged(sequence: UInt64, count: Int) async {}
        func trace(_ event: TraceEvent) async { log.withLock { $0.append("trace \(event.stage.rawValue)") } }
        var tracesWanted: Bool { false }
    }

    @Test("with nobody watching the live trace, no received or accepted event is made; the trace rows are stored all the same")
    func noTraceEventsForNobody() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let db = try DatabasePool(path: h.dir.appendingPathComponent("mempool.sqlite").path)
            try MempoolStore.migrator().migrate(db)
            let events = UnwatchedEvents()
            let pool = Pool(params: .regtest, policy: Policy(), db: db, chain: h.chain, events: events, logger: .init(label: "test"))
            let tx = h.pay(h.spendable[0])
            let answers = try await Self.serve([SubmitBatch.Item(raw: tx.encoded, receivedAt: 1_795_565_000)], pool: pool)
            #expect(answers == [.accepted(txid: tx.txid, fee: 1_000, size: tx.encodedSize)])
            #expect(events.log.withLock { $0 } == ["A \(tx.txid.hex) 1"])
            #expect(try await pool.trace(tx.txid.hex).map(\.stage) == [.received, .accepted])
        }
    }

    @Test("a malformed batch is refused as a whole, nothing admitted")
    func malformedBatch() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let stats = BatchSubmit.Stats()
        var payload = try #require(SubmitBatch.encode([SubmitBatch.Item(raw: h.pay(h.spendable[0]).encoded, receivedAt: nil)]))
        payload.append(0)
        await #expect(throws: RPCError.badParams("submittxs: malformed batch: 1 trailing byte(s) after the end")) {
            _ = try await BatchSubmit.serve(payload, pool: pool, stats: stats)
        }
        #expect(await pool.entries.isEmpty)
        #expect(stats.batches == 0)
    }

    @Test("the router serves submittxs as a binary method and refuses it as JSON")
    func routed() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let tx = h.pay(h.spendable[0])
        let router = RPCRouter(["submittxs": RPCRouter.binaryMethod { payload throws(RPCError) in
            try await BatchSubmit.serve(payload, pool: pool, stats: BatchSubmit.Stats())
        }])
        let reply = await router.handle(BinaryRPC.request("submittxs", try #require(SubmitBatch.encode([SubmitBatch.Item(raw: tx.encoded, receivedAt: nil)]))))
        #expect(reply.first == BinaryRPC.marker)
        #expect(try SubmitBatch.decodeAnswers(Array(reply.dropFirst()), count: 1) == [.accepted(txid: tx.txid, fee: 1_000, size: tx.encodedSize)])
        let json = await router.handle(Array(#"{"method":"submittxs","params":{}}"#.utf8))
        #expect(try JSON.decode(ReplyEnvelope<Empty>.self, json).error?.code == "bad-params")
        let unknown = await router.handle(BinaryRPC.request("nosuch", []))
        #expect(try JSON.decode(ReplyEnvelope<Empty>.self, unknown).error?.code == "unknown-method")
        let malformed = await router.handle([BinaryRPC.marker, 200])
        #expect(try JSON.decode(ReplyEnvelope<Empty>.self, malformed).error?.code == "bad-params")
    }
}

extension Result {
    var failure: Failure? {
        if case let .failure(e) = self { return e }
        return nil
    }
}
