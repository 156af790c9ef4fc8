import Bus
import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit
import Testing
import TestSupport
@testable import Mempool

/// Issue 11, the mempool's CPU per transaction: a group commit's announcements go to the
/// publisher's thread in one hand-over, and a batch's callers wait for their commits in one wait.
@Suite("Batched announcements and acknowledgements")
struct BatchedAnnouncementTests {
    /// The pool's writer queue behind an actor (its waits need a continuation stored in it).
    actor Queue {
        var q = WriteQueue()
        func tickets(_ n: Int) -> [UInt64] { (0..<n).map { _ in q.newTicket() } }
        func settle(_ t: UInt64, _ outcome: Pool.Refusal?) { q.settle(t, outcome) }
        func waitAll(_ tickets: [UInt64]) async -> [String?] {
            if let all = q.takeSettled(tickets) { return all.map { $0?.code } }
            return await withCheckedContinuation { q.waitAll(tickets, $0) }.map { $0?.code }
        }
    }

    @Test("one wait for a batch's tickets: answered once, when the last is settled, each with its own outcome, in order")
    func oneWaitForABatch() async throws {
        try await withHangGuard(seconds: 180) {
            let queue = Queue()
            let t = await queue.tickets(4)
            await queue.settle(t[2], nil)  // settled before the wait
            let answers = Task { await queue.waitAll(t) }
            // The rest settled out of order, one refused: the wait ends only after the last.
            await queue.settle(t[3], Pool.Refusal(code: "internal", message: "could not persist"))
            await queue.settle(t[0], nil)
            await queue.settle(t[1], nil)
            #expect(await answers.value == [nil, nil, nil, "internal"])
            // All settled before the wait: answered at once.
            let u = await queue.tickets(2)
            await queue.settle(u[1], nil)
            await queue.settle(u[0], Pool.Refusal(code: "x", message: ""))
            #expect(await queue.waitAll(u) == ["x", nil])
        }
    }

    /// `n` transactions spending the harness's coins, one each.
    func payments(_ h: PoolHarness, _ n: Int) -> [Transaction] { (0..<n).map { h.pay(h.spendable[$0]) } }

    @Test("a batch's announcements keep their order, their topics' sequence numbers and the mempool sequence")
    func messagesInOrder() async throws {
        let h = try await PoolHarness()
        let txs = payments(h, 2)
        let entries = txs.map { PoolEntry(tx: $0, txid: $0.txid, raw: $0.encoded, fee: 1_000, spent: [], time: 1, parents: []) }
        let gone = Hash256(bytes: Array(repeating: 7, count: 32))
        let event = TraceEvent(id: gone.hex, kind: .tx, stage: .removed, service: .mempool, time: 1, detail: "x")
        let publications: [WriteQueue.Publication] = [
            .removed(gone, sequence: 5, reason: "replaced"), .trace(event),
            .added(entries[0], sequence: 6), .accepted(entries[0], replacing: nil),
            .added(entries[1], sequence: 7), .accepted(entries[1], replacing: nil),
        ]
        func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let a = entries[0].txid.displayBytes, b = entries[1].txid.displayBytes
        let quiet = PublishedEvents.messages(publications, traces: false)
        #expect(quiet.map(\.topic) == [Topic.sequence, Topic.hashtx, Topic.rawtx, Topic.sequence, Topic.hashtx, Topic.rawtx, Topic.sequence])
        #expect(quiet.map(\.body) == [gone.displayBytes + Array("R".utf8) + le64(5), a, entries[0].raw, a + Array("A".utf8) + le64(6),
                                      b, entries[1].raw, b + Array("A".utf8) + le64(7)])
        let traced = PublishedEvents.messages(publications, traces: true)
        #expect(traced.map(\.topic) == [Topic.sequence, Topic.trace, Topic.hashtx, Topic.rawtx, Topic.sequence, Topic.trace,
                                        Topic.hashtx, Topic.rawtx, Topic.sequence, Topic.trace])
    }

    @Test("a submitted batch is announced on the bus one message per transaction and topic, in the batch's order, numbered without gaps")
    func batchOnTheBus() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let context = try ZMQContext()
            let publisher = try await Publisher(context: context, bind: ["inproc://mempool-batch-\(UUID().uuidString)"])
            let subscriber = try await Subscriber(context: context, connect: publisher.endpoints,
                                                  topics: [Topic.hashtx, Topic.rawtx, Topic.sequence])
            try await subscriber.ready()
            let db = try DatabasePool(path: h.poolPath)
            try MempoolStore.migrator().migrate(db)
            let pool = Pool(params: .regtest, policy: Policy(), db: db, chain: h.chain,
                            events: PublishedEvents(publisher: publisher), logger: Logger(label: "test"))
            let txs = payments(h, 5)
            let answers = await pool.submit(batch: txs.map { SubmitBatch.Item(raw: $0.encoded, receivedAt: nil) })
            #expect(answers.allSatisfy { (try? $0.get()) != nil })
            var iterator = subscriber.events.makeAsyncIterator()
            var got = [(topic: String, body: [UInt8], sequence: UInt32)]()
            while got.count < 3 * txs.count, let event = await iterator.next() {
                guard case let .message(topic, body, sequence) = event else {
                    Issue.record("unexpected \(event)")
                    break
                }
                got.append((topic, body, sequence))
            }
            try #require(got.count == 3 * txs.count)
            for (i, tx) in txs.enumerated() {
                let hash = tx.txid.displayBytes
                let three = got[3 * i..<3 * i + 3].map { $0 }
                #expect(three.map(\.topic) == [Topic.hashtx, Topic.rawtx, Topic.sequence])
                #expect(three.map(\.sequence) == [UInt32(i), UInt32(i), UInt32(i)])
                #expect(three[0].body == hash)
                #expect(three[1].body == tx.encoded)
                #expect(three[2].body == hash + Array("A".utf8) + (0..<8).map { UInt8(truncatingIfNeeded: UInt64(i + 1) >> (8 * $0)) })
            }
            await subscriber.stop()
            await publisher.stop()
            await context.terminate()
        }
    }
}
