import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit
import Synchronization
import Testing
import TestSupport
@testable import Mempool

/// Holds `mempool.sqlite`'s write lock from another connection (as another process's writer
/// would): the pool's commits wait (its busy timeout) until `release`.
final class WriteLockHolder: Sendable {
    private let queue: DatabaseQueue
    private let released = DispatchSemaphore(value: 0)
    private let task: Mutex<Task<Void, any Error>?> = Mutex(nil)

    init(path: String) async throws {
        queue = try DatabaseQueue(path: path)
        let held = AsyncStream<Void>.makeStream()
        let released = self.released
        task.withLock {
            $0 = Task { [queue] in
                // On GRDB's own queue, not the cooperative pool: waiting there blocks no task.
                try await queue.write { db in
                    try db.execute(sql: "INSERT OR REPLACE INTO meta VALUES ('held', 1)")
                    held.continuation.yield()
                    released.wait()
                    try db.execute(sql: "DELETE FROM meta WHERE key = 'held'")
                }
            }
        }
        for await _ in held.stream { break }
    }

    func release() async throws {
        released.signal()
        try await task.withLock { $0 }?.value
    }
}

final class Answered: Sendable { let count = Atomic<Int>(0) }

/// Issue 11, group commit (GroupCommit.swift): admissions share SQLite transactions; each caller is
/// answered, and each transaction announced, only once the commit holding it has returned.
@Suite("Group commit")
struct GroupCommitTests {
    func path(_ h: PoolHarness) -> String { h.dir.appendingPathComponent("mempool.sqlite").path }

    /// A pool whose commits wait for a held write lock rather than fail at once.
    func open(_ h: PoolHarness) throws -> Pool { try h.openPatient() }

    func storedTxids(_ h: PoolHarness) async throws -> Set<Hash256> {
        let db = try DatabaseQueue(path: path(h))
        return try await db.read { Set(try Data.fetchAll($0, sql: "SELECT txid FROM tx").map { Hash256(bytes: Array($0)) }) }
    }

    /// A transaction with `count` outputs of the wallet's, to spend independently.
    func fanOut(_ h: PoolHarness, _ count: Int) -> Transaction {
        let coin = h.spendable[0]
        let each = (coin.1.value - 20_000) / Amount(count)
        return h.wallet.spend([coin], to: (0..<count).map { _ in h.wallet.output(each) })
    }

    func child(_ h: PoolHarness, of parent: Transaction, _ i: Int, fee: Amount = 1_000) -> Transaction {
        let out = parent.outputs[i]
        return h.wallet.spend([(OutPoint(txid: parent.txid, index: UInt32(i)), out)], to: [h.wallet.output(out.value - fee)])
    }

    func submit(_ pool: Pool, _ tx: Transaction) async -> Result<PoolEntry, Pool.Refusal> {
        do { return .success(try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)) } catch { return .failure(error) }
    }

    @Test("concurrent submissions commit in fewer transactions than submissions, none answered before its commit")
    func sharedCommits() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let pool = try open(h)
            let parent = fanOut(h, 20)
            _ = try await pool.submit(hex: Hex.encode(parent.encoded), receivedAt: nil)
            let before = await pool.writer.commits
            let lock = try await WriteLockHolder(path: path(h))
            let answered = Answered()
            let children = (0..<20).map { child(h, of: parent, $0) }
            let results = Task {
                await withTaskGroup(of: Bool.self) { group in
                    for c in children {
                        group.addTask {
                            let ok = (try? await pool.submit(hex: Hex.encode(c.encoded), receivedAt: nil)) != nil
                            answered.count.add(1, ordering: .relaxed)
                            return ok
                        }
                    }
                    return await group.reduce(into: [Bool]()) { $0.append($1) }
                }
            }
            // Every admission passed the gate (all in memory), yet the disk holds none: nobody is
            // answered and nothing is announced.
            try await waitUntil("all 20 children in memory") { await pool.entries.count == 21 }
            #expect(answered.count.load(ordering: .relaxed) == 0)
            #expect(h.events.log.withLock { $0.count } == 1)
            #expect(try await storedTxids(h) == [parent.txid])
            try await lock.release()
            #expect(await results.value == Array(repeating: true, count: 20))
            let commits = await pool.writer.commits - before
            #expect(commits >= 1 && commits < 20)
            #expect(try await storedTxids(h) == Set([parent.txid] + children.map(\.txid)))
            // the announcements in sequence order, one A each
            let log = h.events.log.withLock { $0 }
            #expect(log.count == 21)
            #expect(log.map { UInt64($0.split(separator: " ")[2])! } == Array(1...21))
            #expect(await pool.check().ok)
        }
    }

    @Test("a child in the same batch as its parent: both committed together, announced parent first")
    func childInTheSameBatch() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let pool = try open(h)
            let lock = try await WriteLockHolder(path: path(h))
            // a first admission takes the writer (its commit waits for the lock) ...
            let first = h.pay(h.spendable[1])
            async let a = submit(pool, first)
            try await waitUntil("the first batch in flight") { await pool.writer.inFlight.count == 1 }
            // ... so the parent and its child queue up behind it, for one batch
            let parent = h.pay(h.spendable[0])
            async let b = submit(pool, parent)
            try await waitUntil("the parent in memory") { await pool.entries[parent.txid] != nil }
            let kid = child(h, of: parent, 1)
            async let c = submit(pool, kid)
            try await waitUntil("the child in memory") { await pool.entries[kid.txid] != nil }
            #expect(await pool.entries[kid.txid]?.parents == [parent.txid])
            try await lock.release()
            let (ra, rb, rc) = await (a, b, c)
            #expect((try? ra.get()) != nil && (try? rb.get()) != nil && (try? rc.get()) != nil)
            #expect(await pool.writer.commits == 2)
            #expect(await pool.writer.largestBatch >= 2)
            #expect(try await storedTxids(h) == [first.txid, parent.txid, kid.txid])
            #expect(h.events.log.withLock { $0 } == ["A \(first.txid.hex) 1", "A \(parent.txid.hex) 2", "A \(kid.txid.hex) 3"])
        }
    }

    @Test("a failed commit takes its batch and their descendants out of memory and refuses their callers; the rest goes on")
    func failedCommit() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let pool = try open(h)
            // The disk refuses one transaction (fee 1,234 units): a real SQLite failure mid-commit.
            let db = try DatabaseQueue(path: path(h))
            try await db.write { try $0.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON tx WHEN NEW.fee = 1234 BEGIN SELECT RAISE(ABORT, 'disk says no'); END") }
            let lock = try await WriteLockHolder(path: path(h))
            let doomed = h.pay(h.spendable[0], fee: 1_234)
            async let a = submit(pool, doomed)
            try await waitUntil("its batch in flight") { await pool.writer.inFlight.count == 1 }
            // its child and an unrelated transaction queue behind the failing batch
            let kid = child(h, of: doomed, 1)
            async let b = submit(pool, kid)
            try await waitUntil("the child in memory") { await pool.entries[kid.txid] != nil }
            let other = h.pay(h.spendable[1])
            async let c = submit(pool, other)
            try await waitUntil("the other in memory") { await pool.entries[other.txid] != nil }
            try await lock.release()
            let (ra, rb, rc) = await (a, b, c)
            guard case let .failure(fa) = ra, case let .failure(fb) = rb else {
                Issue.record("the failed batch and the child behind it were acknowledged")
                return
            }
            #expect(fa.code == "internal" && fb.code == "internal")
            #expect((try? rc.get())?.txid == other.txid)
            #expect(await pool.writer.failures == 1)
            #expect(await Set(pool.entries.keys) == [other.txid])
            #expect(try await storedTxids(h) == [other.txid])
            // never announced as accepted (an R each, as a snapshot may have held them); the other is
            let log = h.events.log.withLock { $0 }
            #expect(!log.contains("A \(doomed.txid.hex) 1") && !log.contains { $0.hasPrefix("A \(kid.txid.hex)") })
            #expect(log.contains { $0.hasPrefix("A \(other.txid.hex)") })
            #expect(log.contains { $0.hasPrefix("R \(doomed.txid.hex)") } && log.contains { $0.hasPrefix("R \(kid.txid.hex)") })
            let stages = try await pool.trace(doomed.txid.hex).map(\.stage)
            #expect(stages.last == .rejected && !stages.contains(.accepted))
            #expect(await pool.check().ok)
            // the disk answers again: the same transaction is taken
            try await db.write { try $0.execute(sql: "DROP TRIGGER refuse") }
            #expect((try? await submit(pool, doomed).get()) != nil)
            #expect(try await storedTxids(h) == [other.txid, doomed.txid])
        }
    }

    @Test("a failed replacement brings back what it replaced")
    func failedReplacement() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let pool = try open(h)
            let original = h.pay(h.spendable[0], fee: 1_000)
            _ = try await pool.submit(hex: Hex.encode(original.encoded), receivedAt: nil)
            let db = try DatabaseQueue(path: path(h))
            try await db.write { try $0.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON tx WHEN NEW.fee = 51234 BEGIN SELECT RAISE(ABORT, 'disk says no'); END") }
            let replacement = h.pay(h.spendable[0], fee: 51_234)
            let result = await submit(pool, replacement)
            guard case let .failure(refusal) = result else { Issue.record("acknowledged"); return }
            #expect(refusal.code == "internal")
            #expect(await Set(pool.entries.keys) == [original.txid])
            #expect(try await storedTxids(h) == [original.txid])
            #expect(!h.events.log.withLock { $0 }.contains { $0.hasPrefix("R \(original.txid.hex)") })
            #expect(await pool.check().ok)
        }
    }

    @Test("past its bound, the writer's queue refuses with mempool-busy rather than grow; then takes again")
    func boundedQueue() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let pool = try open(h)
            await pool.setWriterLimit(2)
            let lock = try await WriteLockHolder(path: path(h))
            let first = h.pay(h.spendable[0]), second = h.pay(h.spendable[1]), third = h.pay(h.spendable[2])
            async let a = submit(pool, first)
            try await waitUntil("the first batch in flight") { await pool.writer.inFlight.count == 1 }
            async let b = submit(pool, second)
            try await waitUntil("the second queued") { await pool.entries[second.txid] != nil }
            // two admissions wait for the disk: the third is refused at once, and left out of memory
            guard case let .failure(busy) = await submit(pool, third) else { Issue.record("a third admission was queued"); return }
            #expect(busy.code == Policy.Reason.busy.rawValue)
            #expect(await pool.entries[third.txid] == nil)
            try await lock.release()
            let (ra, rb) = await (a, b)
            #expect((try? ra.get()) != nil && (try? rb.get()) != nil)
            #expect(await pool.writer.pendingAdmissions == 0)
            #expect((try? await submit(pool, third).get()) != nil)
            #expect(try await storedTxids(h) == [first.txid, second.txid, third.txid])
        }
    }
}
