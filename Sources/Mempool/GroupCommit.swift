import ChainCore
import Foundation
import NodeKit
import Synchronization

/// Group commit (issue 11): the pool's one ordered writer to `mempool.sqlite`.
///
/// Inside the gate an admission's checks pass, its entry goes into memory (later admissions see
/// it: conflicts, parents, already in the pool) and its rows, a replacement's deletes and the
/// sequence are queued here; the gate is released without waiting for the disk. The writer
/// commits whatever is queued in one SQLite transaction (`MempoolStore.commit`); what arrives
/// while a commit runs makes the next batch. After a commit has returned, the batch's
/// announcements (A/R, hashtx, rawtx, trace) go out in queue order, which is sequence order, and
/// then its callers are answered: nothing is acknowledged or announced before it is on disk.
///
/// Every write of the pool's transactions goes through this one queue (admissions, removals for
/// blocks, conflicts, eviction and replacement, the sequence), so a delete never overtakes its
/// insert. Nothing waits for the writer inside the gate (the gate would wait on the writer, and a
/// failed commit's rollback on the gate): entry points that must see their writes on disk wait
/// after the gate (`flushed`).
///
/// A failed commit: the writer stops, and behind the gate the batch's admissions and their
/// descendants leave memory again (with those queued behind it that spend them), what they
/// replaced comes back when it still passes the checks (its rows were never deleted), and each
/// of their callers is refused with `internal`; their A/hashtx/rawtx were never published. An R
/// follows for each of them, as a snapshot (`getrawmempool`) taken meanwhile may hold them.
/// Removals in the failed batch had already left memory: their announcements go out as before
/// the queue existed (their rows stay on disk, and a reload re-checks them). Then the writer
/// goes on.
struct WriteQueue {
    /// One queued change: its writes, what to announce once they are on disk, and whom to answer.
    struct Item {
        var writes: [MempoolStore.Write]
        var publications: [Publication] = []
        /// The entries that entered memory with it (they leave again if it fails).
        var admitted: [PoolEntry] = []
        /// What they replaced (back in memory if it fails, checked again).
        var replaced: [PoolEntry] = []
        /// The caller waiting for it, if any (`Pool.acknowledgement`).
        var ticket: UInt64?
        /// `flushed()`'s: answered once everything queued before it is on disk.
        var barrier = false

        /// Writes nothing that must be on disk before a later change is: no announcement, no caller,
        /// no entry, no sequence; only trace rows and the deletion of rows without a sequence (a
        /// block's transactions leaving quietly, trace rows). The writer may put it behind later
        /// changes (`WriteQueue.takeBatch`), a few rows a commit. A barrier moves with them.
        var deferrable: Bool {
            guard publications.isEmpty, admitted.isEmpty, replaced.isEmpty else { return false }
            if barrier { return writes.isEmpty }
            guard ticket == nil, !writes.isEmpty else { return false }
            return writes.allSatisfy {
                switch $0 {
                case .trace: true
                case let .delete(_, sequence): sequence == nil
                case .admit, .sequence: false
                }
            }
        }

        /// The rows it writes (statements, about).
        var rows: Int {
            writes.reduce(0) {
                switch $1 {
                case let .admit(_, _, gone, _): $0 + 4 + 2 * gone.count
                case let .delete(txids, _): $0 + txids.count
                case .sequence: $0 + 1
                case let .trace(events): $0 + events.count
                }
            }
        }

        /// The rows of the pool's transactions it deletes.
        var deleted: [Hash256] {
            writes.flatMap { w -> [Hash256] in if case let .delete(txids, _) = w { txids } else { [] } }
        }

        /// The transactions whose row it inserts.
        var inserted: [Hash256] {
            writes.compactMap { w -> Hash256? in if case let .admit(e, _, _, _) = w { e.txid } else { nil } }
        }

        /// A deferrable item cut into items of at most `rows` rows each, in order.
        func chunked(_ rows: Int) -> [Item] {
            guard deferrable, !barrier, self.rows > rows else { return [self] }
            var out = [Item]()
            for w in writes {
                switch w {
                case let .delete(txids, sequence):
                    for start in stride(from: 0, to: txids.count, by: rows) {
                        out.append(Item(writes: [.delete(Array(txids[start..<min(start + rows, txids.count)]), sequence: sequence)]))
                    }
                case let .trace(events):
                    for start in stride(from: 0, to: events.count, by: rows) {
                        out.append(Item(writes: [.trace(Array(events[start..<min(start + rows, events.count)]))]))
                    }
                case .admit, .sequence:
                    out.append(Item(writes: [w]))
                }
            }
            return out
        }
    }

    /// An announcement, made once the write it follows is committed.
    enum Publication: Sendable {
        case added(PoolEntry, sequence: UInt64)
        case removed(Hash256, sequence: UInt64, reason: String)
        case trace(TraceEvent)
        /// The `accepted` trace event of an admission (with what it replaced and their fees), made
        /// only when someone subscribes to the live trace (`PoolEvents.tracesWanted`).
        case accepted(PoolEntry, replacing: (txids: [Hash256], fees: Amount)?)

        /// The `accepted` trace event.
        static func acceptedEvent(_ e: PoolEntry, replacing: (txids: [Hash256], fees: Amount)?) -> TraceEvent {
            var detail = "fee \(e.fee) units, \(e.size) bytes, \(String(format: "%.2f", e.feeRate)) units/byte"
            if let replacing {
                detail += "; replaces \(replacing.txids.map(\.hex).joined(separator: ", ")) (fees \(replacing.fees) units)"
            }
            return TraceEvent(id: e.txid.hex, kind: .tx, stage: .accepted, service: .mempool, time: e.time, detail: detail)
        }
    }

    /// Rows of deferrable items (`Item.deferrable`) a commit takes at most: a block's ~900
    /// transactions leaving (their deletions and `mined` trace rows) are written a slice a commit,
    /// behind the admissions queued after them, instead of one long commit that every admission
    /// queued behind it waits for.
    static let deferrableRows = 128

    /// Admissions queued and not yet committed at most (`submittx` refuses more with
    /// `mempool-busy`: the caller retries later; memory stays bounded).
    var limit = 20_000
    var items: [Item] = []
    /// The batch being committed.
    var inFlight: [Item] = []
    var draining = false
    /// A commit failed: nothing more is written until its rollback has run behind the gate.
    var paused = false
    /// SQLite transactions the writer committed (`getstatus` details `commits`), the largest batch
    /// (changes in one transaction), and the commits that failed.
    var commits = 0
    var largestBatch = 0
    var failures = 0
    /// Admissions queued or in flight (for `limit`).
    var pendingAdmissions = 0

    /// Who waits for which ticket, and the outcomes settled before their caller came to wait: behind
    /// a lock, not the pool's actor, so a caller waiting for its commit is resumed by the writer
    /// and goes on without a hop onto the actor (`Pool.acknowledgements`).
    let acks: Acknowledgements

    init(acks: Acknowledgements = Acknowledgements()) {
        self.acks = acks
    }

    func newTicket() -> UInt64 { acks.newTicket() }

    /// Answers the caller holding `ticket` (nil: committed), now or when it comes to wait.
    func settle(_ ticket: UInt64?, _ outcome: Pool.Refusal?) { acks.settle(ticket, outcome) }

    /// The outcomes of `tickets`, in order, if every one is settled already (then taken); else nil
    /// and nothing taken.
    func takeSettled(_ tickets: [UInt64]) -> [Pool.Refusal?]? { acks.takeSettled(tickets) }

    /// Waits for every ticket of `tickets` (distinct, each waited for by no one else): `waiter` is
    /// resumed once, with their outcomes in order, when the last of them is settled.
    func waitAll(_ tickets: [UInt64], _ waiter: CheckedContinuation<[Pool.Refusal?], Never>) { acks.waitAll(tickets, waiter) }

    /// The outcome if settled already (taken), else nil and the waiter is kept.
    func wait(_ ticket: UInt64, _ waiter: CheckedContinuation<Pool.Refusal?, Never>) { acks.wait(ticket, waiter) }

    /// The transactions whose rows are queued or being written or deleted: memory and disk may
    /// differ for them (`checkmempool` allows for it).
    var unsettled: Set<Hash256> {
        var out = Set<Hash256>()
        for item in inFlight + items {
            for w in item.writes {
                switch w {
                case let .admit(e, _, gone, _): out.insert(e.txid); out.formUnion(gone.map(\.0))
                case let .delete(txids, _): out.formUnion(txids)
                case .sequence, .trace: break
                }
            }
        }
        return out
    }

    /// The next batch, taken from `items`: every change in queue order, except that deferrable
    /// items (`Item.deferrable`) past the first `rowBudget` rows of them stay queued, in order, for
    /// the next commits: later changes may go before them, unless one inserts a row they delete
    /// (then it and everything after it wait too, so a delete never overtakes an insert or the
    /// reverse for one row). A barrier (`flushed`) stays behind whatever deferrable item is still
    /// queued before it, so it is answered only once everything queued before it is on disk. At
    /// least one item is taken when any is queued.
    mutating func takeBatch(rowBudget: Int = WriteQueue.deferrableRows) -> [Item] {
        var batch = [Item]()
        var deferred = [Item]()
        var deferredDeletes = Set<Hash256>()
        var budget = rowBudget
        var rest = items.endIndex
        for (i, item) in items.enumerated() {
            if item.deferrable {
                if deferred.isEmpty, item.rows <= budget || batch.isEmpty {
                    batch.append(item)
                    budget -= item.rows
                } else {
                    deferred.append(item)
                    deferredDeletes.formUnion(item.deleted)
                }
            } else if !deferredDeletes.isEmpty, item.inserted.contains(where: deferredDeletes.contains) {
                rest = i
                break
            } else {
                batch.append(item)
            }
        }
        items = deferred + items[rest...]
        return batch
    }
}

/// The callers waiting for their changes' commits (`WriteQueue`'s tickets), behind a lock: the
/// writer settles a ticket and its caller goes on where it waits, off the pool's actor (a batch's
/// answers leave without queueing for the actor behind the gate). A continuation is resumed
/// outside the lock.
final class Acknowledgements: Sendable {
    private struct State {
        var nextTicket: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Pool.Refusal?, Never>] = [:]
        /// Outcomes settled before their caller came to wait.
        var settled: [UInt64: Pool.Refusal?] = [:]
        /// Callers waiting for several tickets at once (`waitAll`: a batch's admissions), by the
        /// ticket that answers them (the group's first open one), and that ticket for each of the
        /// group's open tickets.
        var groups: [UInt64: Group] = [:]
        var groupOf: [UInt64: UInt64] = [:]
    }

    /// A caller waiting for every ticket of a batch: resumed once, when the last is settled.
    private struct Group {
        var tickets: [UInt64]
        var outcomes: [UInt64: Pool.Refusal?]
        let waiter: CheckedContinuation<[Pool.Refusal?], Never>
    }

    private enum Resume {
        case none
        case one(CheckedContinuation<Pool.Refusal?, Never>)
        case all(CheckedContinuation<[Pool.Refusal?], Never>, [Pool.Refusal?])
    }

    private let state = Mutex(State())

    init() {}

    func newTicket() -> UInt64 {
        state.withLock { s in
            s.nextTicket += 1
            return s.nextTicket
        }
    }

    /// Answers the caller holding `ticket` (nil: committed), now or when it comes to wait.
    func settle(_ ticket: UInt64?, _ outcome: Pool.Refusal?) {
        guard let ticket else { return }
        let resume = state.withLock { s -> Resume in
            if let waiter = s.waiters.removeValue(forKey: ticket) { return .one(waiter) }
            if let key = s.groupOf.removeValue(forKey: ticket) {
                s.groups[key]!.outcomes[ticket] = outcome
                if let group = s.groups[key], group.outcomes.count == group.tickets.count {
                    s.groups[key] = nil
                    return .all(group.waiter, group.tickets.map { group.outcomes[$0]! })
                }
                return .none
            }
            s.settled[ticket] = outcome
            return .none
        }
        switch resume {
        case .none: break
        case let .one(waiter): waiter.resume(returning: outcome)
        case let .all(waiter, outcomes): waiter.resume(returning: outcomes)
        }
    }

    /// The outcomes of `tickets`, in order, if every one is settled already (then taken); else nil
    /// and nothing taken.
    func takeSettled(_ tickets: [UInt64]) -> [Pool.Refusal?]? {
        state.withLock { s in
            guard tickets.allSatisfy({ s.settled[$0] != nil }) else { return nil }
            return tickets.map { s.settled.removeValue(forKey: $0)! }
        }
    }

    /// Waits for every ticket of `tickets` (distinct, each waited for by no one else): `waiter` is
    /// resumed once, with their outcomes in order, when the last of them is settled.
    func waitAll(_ tickets: [UInt64], _ waiter: CheckedContinuation<[Pool.Refusal?], Never>) {
        let ready = state.withLock { s -> [Pool.Refusal?]? in
            var outcomes = [UInt64: Pool.Refusal?](minimumCapacity: tickets.count)
            var open = [UInt64]()
            for t in tickets {
                if let outcome = s.settled.removeValue(forKey: t) { outcomes[t] = outcome } else { open.append(t) }
            }
            guard let key = open.first else { return tickets.map { outcomes[$0]! } }
            s.groups[key] = Group(tickets: tickets, outcomes: outcomes, waiter: waiter)
            for t in open { s.groupOf[t] = key }
            return nil
        }
        if let ready { waiter.resume(returning: ready) }
    }

    /// The outcome if settled already (taken), else nil and the waiter is kept.
    func wait(_ ticket: UInt64, _ waiter: CheckedContinuation<Pool.Refusal?, Never>) {
        let ready = state.withLock { s -> Pool.Refusal?? in
            if let outcome = s.settled.removeValue(forKey: ticket) { return .some(outcome) }
            s.waiters[ticket] = waiter
            return nil
        }
        if let ready { waiter.resume(returning: ready) }
    }
}

extension Pool {
    /// Queues a change for the writer (in gate order, which is sequence order).
    func enqueue(_ item: WriteQueue.Item) {
        if !item.admitted.isEmpty { writer.pendingAdmissions += 1 }
        writer.items.append(contentsOf: item.chunked(WriteQueue.deferrableRows))
        startWriter()
    }

    /// Waits until the change holding `ticket` is committed (nil) or refused. Never inside the gate.
    /// Off the actor (`Acknowledgements`): the caller goes on where the writer resumes it.
    nonisolated func acknowledgement(_ ticket: UInt64) async -> Refusal? {
        await withCheckedContinuation { acks.wait(ticket, $0) }
    }

    /// `acknowledgement` for each of `tickets` (a batch's admissions), in order, with one wait for
    /// all (one continuation resumed once, when the last of them is settled, instead of one each):
    /// each outcome is still that of the commit holding its own write. Never inside the gate.
    nonisolated func acknowledgements(_ tickets: [UInt64]) async -> [Refusal?] {
        guard !tickets.isEmpty else { return [] }
        if let all = acks.takeSettled(tickets) { return all }
        return await withCheckedContinuation { acks.waitAll(tickets, $0) }
    }

    /// Waits until everything queued so far is on disk (or its failure handled). Never inside the gate.
    func flushed() async {
        let ticket = writer.newTicket()
        enqueue(WriteQueue.Item(writes: [], ticket: ticket, barrier: true))
        _ = await acknowledgement(ticket)
    }

    /// The bound on admissions waiting for the disk (`WriteQueue.limit`).
    func setWriterLimit(_ n: Int) { writer.limit = max(1, n) }

    /// Refuses an admission when the writer's queue is full (checked inside the gate).
    func checkWriterRoom() throws(Refusal) {
        guard writer.pendingAdmissions < writer.limit else {
            throw Refusal(code: Policy.Reason.busy.rawValue,
                          message: "\(writer.pendingAdmissions) admissions are waiting for the disk; retry shortly")
        }
    }

    private func startWriter() {
        guard !writer.draining, !writer.paused, !writer.items.isEmpty else { return }
        writer.draining = true
        Task { await drain() }
    }

    /// The writer: one batch at a time, each everything queued when the previous one returned.
    private func drain() async {
        while !writer.paused, !writer.items.isEmpty {
            let batch = writer.takeBatch()
            writer.inFlight = batch
            let writes = batch.flatMap(\.writes)
            let times = StageTimes.shared, began = StageTimes.now()
            do {
                try await store.commit(writes)
            } catch {
                writer.inFlight = []
                writer.failures += 1
                writer.paused = true
                logger.error("could not commit to mempool.sqlite", metadata: ["error": "\(error)", "changes": "\(batch.count)"])
                Task { await rollBack(batch, error: error) }
                break
            }
            writer.inFlight = []
            if !writes.isEmpty { writer.commits += 1 }
            writer.largestBatch = max(writer.largestBatch, batch.count)
            let committed = StageTimes.now()
            times.record(.commit, committed - began)
            times.record(.commitSize, Double(batch.count))
            // The batch's announcements in queue order, handed to the publisher here when it takes
            // them without a suspension (`PoolEvents.announceNow`: no hop off the actor and back
            // behind every job waiting for it), else in one call off the actor; then its callers
            // answered (they go on off the actor, `Acknowledgements`).
            let publications = batch.flatMap(\.publications)
            if !publications.isEmpty, !events.announceNow(publications) { await Self.announce(publications, to: events) }
            for item in batch {
                if !item.admitted.isEmpty { writer.pendingAdmissions -= 1 }
                writer.settle(item.ticket, nil)
            }
            times.record(.publish, since: committed)
        }
        writer.draining = false
        startWriter()
    }

    func publish(_ publications: [WriteQueue.Publication]) async {
        await Self.announce(publications, to: events)
    }

    /// The announcements, in order (nonisolated: off the actor in one go; handed to the publisher's
    /// thread in one go, `PoolEvents.announce`).
    static func announce(_ publications: [WriteQueue.Publication], to events: any PoolEvents) async {
        await events.announce(publications)
    }

    /// A failed commit, behind the gate: its admissions (and what spends them, queued behind) out
    /// of memory, what they replaced back, their callers refused; then the writer goes on.
    private func rollBack(_ batch: [WriteQueue.Item], error: any Error) async {
        await exclusively {
            var failed = batch.filter { !$0.admitted.isEmpty }
            for item in batch where item.admitted.isEmpty {
                await publish(item.publications)
                writer.settle(item.ticket, nil)
            }
            var doomed = Set<Hash256>()
            for e in failed.flatMap(\.admitted) { doomed.formUnion(graph.descendants(of: e.txid)) }
            let behind = writer.items.filter { item in item.admitted.contains { doomed.contains($0.txid) } }
            writer.items.removeAll { item in item.admitted.contains { doomed.contains($0.txid) } }
            failed += behind
            let refusal = Refusal(code: "internal", message: "could not persist: \(error)")
            // The `template` rows the failed admissions took out of memory for what they replaced
            // (`takeNow`) go back with it.
            var marks = [Hash256: (time: Double, detail: String)]()
            for item in failed {
                for case let .trace(events) in item.writes {
                    for e in events where e.stage == .template {
                        if let t = Hash256(hex: e.id) { marks[t] = (e.time, e.detail ?? "") }
                    }
                }
            }
            await withdraw(Array(doomed), restoring: failed.flatMap(\.replaced).sorted { $0.time < $1.time }, templateMarks: marks)
            for item in failed {
                writer.pendingAdmissions -= 1
                writer.settle(item.ticket, refusal)
            }
            writer.paused = false
            startWriter()
        }
    }
}
