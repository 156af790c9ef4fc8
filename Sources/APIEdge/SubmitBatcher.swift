import Bus
import ChainCore
import NodeKit
import Synchronization

/// Collects concurrent transaction submissions into `submittxs` batches (docs/PROTOCOL.md, "Bus:
/// batched submissions": raw bytes, one bus request for many transactions) and hands each caller
/// its own answer. No timer: a submission that finds fewer than `maxInFlight` batches in flight goes
/// at once (alone, on an idle edge: no added latency); those that arrive while that many are in
/// flight wait for one of them to return and then go together, or go at once as soon as `maxCount`
/// of them (or `maxBytes`) are waiting. A batch's size so follows the load, and under a flood the
/// mempool gets one request per round trip of each of the batches in flight instead of one per
/// transaction.
///
/// A failure of the whole request (the mempool unreachable, a batch it could not read) is every
/// caller's in that batch. The bound on submissions in flight is `SubmitQueue`'s, around this.
final class SubmitBatcher: Sendable {
    typealias Send = @Sendable ([SubmitBatch.Item]) async throws -> [SubmitBatch.Answer]
    /// Unchecked: `deliver` resumes every waiter of a batch exactly once (the checked kind cost an
    /// object per submission).
    private typealias Waiter = UnsafeContinuation<SubmitBatch.Answer, any Error>
    private typealias Waiting = (item: SubmitBatch.Item, waiter: Waiter)

    /// Transactions per batch at most, by default: a few milliseconds of the mempool's work, so a
    /// batch's answers are not held long behind its slowest transaction.
    static let defaultMaxCount = 128
    /// Batches in flight at once before submissions wait, by default. Two, not one: the mempool checks
    /// one batch's signatures (on every core, before its gate) while the other waits for its commit,
    /// and a submission arriving just after a batch left waits for whichever returns first, not a
    /// whole round trip of that one (issue 11: batches half the size, 23 instead of 47 a request under
    /// the closed-loop flood, at the same CPU per transaction; the paced load's acknowledgement p50
    /// and p99 no worse, within this machine's noise).
    static let defaultMaxInFlight = 2

    /// Counters (for the tests).
    struct Stats: Sendable, Equatable {
        var batches = 0
        var transactions = 0
        var largest = 0
    }

    private struct State {
        var waiting: [Waiting] = []
        var waitingBytes = 0
        var inFlight = 0
        var stats = Stats()
    }

    let maxCount: Int
    let maxBytes: Int
    let maxInFlight: Int
    private let send: Send
    private let state = Mutex(State())

    init(maxCount: Int = SubmitBatcher.defaultMaxCount, maxBytes: Int = SubmitBatch.maxBatchBytes / 2,
         maxInFlight: Int = SubmitBatcher.defaultMaxInFlight, send: @escaping Send) {
        self.maxCount = min(max(1, maxCount), SubmitBatch.maxCount)
        self.maxInFlight = max(1, maxInFlight)
        self.maxBytes = min(max(SubmitBatch.maxTransactionBytes, maxBytes), SubmitBatch.maxBatchBytes / 2)
        self.send = send
    }

    var stats: Stats { state.withLock { $0.stats } }
    /// Submissions waiting for the next batch.
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Queues `item` for the next batch and waits for its answer (`item.raw` at most
    /// `SubmitBatch.maxTransactionBytes`). Throws what the whole batch's request threw.
    func submit(_ item: SubmitBatch.Item) async throws -> SubmitBatch.Answer {
        precondition(item.raw.count <= SubmitBatch.maxTransactionBytes, "a transaction too big for a batch goes with submittx")
        return try await withUnsafeThrowingContinuation { (waiter: Waiter) in
            let batch = state.withLock { s -> [Waiting]? in
                s.waiting.append((item, waiter))
                s.waitingBytes += item.encodedSize
                guard s.inFlight < maxInFlight || s.waiting.count >= maxCount || s.waitingBytes >= maxBytes else { return nil }
                return take(&s)
            }
            if let batch { Task { await self.run(batch) } }
        }
    }

    /// The next batch from the front of the queue (at most `maxCount` and `maxBytes`), counted in flight.
    private func take(_ s: inout State) -> [Waiting] {
        var count = 0, bytes = 0
        while count < s.waiting.count, count < maxCount {
            let size = s.waiting[count].item.encodedSize
            if count > 0, bytes + size > maxBytes { break }
            bytes += size
            count += 1
        }
        let batch = Array(s.waiting.prefix(count))
        s.waiting.removeFirst(count)
        s.waitingBytes -= bytes
        s.inFlight += 1
        s.stats.batches += 1
        s.stats.transactions += count
        s.stats.largest = max(s.stats.largest, count)
        return batch
    }

    /// Sends `batch`, then, as long as submissions wait, the next batch of them.
    private func run(_ first: [Waiting]) async {
        var batch = first
        while true {
            await deliver(batch)
            let next = state.withLock { s -> [Waiting]? in
                s.inFlight -= 1
                return s.waiting.isEmpty ? nil : take(&s)
            }
            guard let next else { return }
            batch = next
        }
    }

    private func deliver(_ batch: [Waiting]) async {
        do {
            let answers = try await send(batch.map(\.item))
            guard answers.count == batch.count else {
                throw RPCError("internal", "submittxs answered \(answers.count) transactions of \(batch.count)")
            }
            for (waiting, answer) in zip(batch, answers) { waiting.waiter.resume(returning: answer) }
        } catch {
            for waiting in batch { waiting.waiter.resume(throwing: error) }
        }
    }

    /// One batch to the mempool's `submittxs`. A refusal of the whole batch is never one client's
    /// mistake (the edge built it): it is an `internal` error (502), not a 400.
    static func send(_ items: [SubmitBatch.Item], to mempool: RPCClient) async throws -> [SubmitBatch.Answer] {
        guard let payload = SubmitBatch.encode(items) else {
            throw RPCError("internal", "a batch of \(items.count) transactions breaks submittxs's limits")
        }
        do {
            return try SubmitBatch.decodeAnswers(try await mempool.callBinary(MempoolMethod.submittxs, payload), count: items.count)
        } catch let e as RPCError where e.code != "internal" {
            throw RPCError("internal", "submittxs refused the batch: \(e)")
        }
    }
}
