import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit
import Synchronization

/// Where the pool learns about confirmed coins and the tip.
protocol ChainSource: Sendable {
    /// The unspent ones of `outpoints`, any number of them (`RemoteChain` asks in parts the chain store takes).
    func coins(_ outpoints: [OutPoint]) async throws -> [OutPoint: Coin]
    func isConfirmed(_ txid: Hash256) async throws -> Bool
    func tip() async throws -> ChainTip
}

/// The pool's numbers `info()` answers from (`Pool.summary`).
struct PoolSummary: Sendable {
    var count = 0
    var bytes = 0
    var totalFee: Amount = 0
    var feeRateBuckets: [Double: Int] = [:]
    var sequence: UInt64 = 0
}

/// What the pool tells the world.
protocol PoolEvents: Sendable {
    func added(_ entry: PoolEntry, sequence: UInt64) async
    func removed(_ txid: Hash256, sequence: UInt64, reason: String) async
    func templateChanged(sequence: UInt64, count: Int) async
    func trace(_ event: TraceEvent) async
    /// Whether a live trace event would reach anyone now (false: the caller may skip making it).
    var tracesWanted: Bool { get }
    /// A batch's announcements, in order (each as `added`, `removed` or `trace` would make it): a
    /// publisher may hand them over in one go (`PublishedEvents`).
    func announce(_ publications: [WriteQueue.Publication]) async
    /// `announce` without a suspension, when this publisher can (true: done); false: nothing was
    /// done, call `announce`.
    func announceNow(_ publications: [WriteQueue.Publication]) -> Bool
}

extension PoolEvents {
    var tracesWanted: Bool { true }

    func announceNow(_ publications: [WriteQueue.Publication]) -> Bool { false }

    /// One at a time, in order.
    func announce(_ publications: [WriteQueue.Publication]) async {
        for p in publications {
            switch p {
            case let .added(e, sequence): await added(e, sequence: sequence)
            case let .removed(t, sequence, reason): await removed(t, sequence: sequence, reason: reason)
            case let .trace(e): await trace(e)
            case let .accepted(e, replacing): if tracesWanted { await trace(WriteQueue.Publication.acceptedEvent(e, replacing: replacing)) }
            }
        }
    }
}

/// The mempool: validates against the chain's UTXO set and its own
/// transactions, persists before acknowledging, follows the chain.
///
/// The one actor of the service, and its gate: it owns the rooms and is the only code that
/// awaits the chain store. Its rooms are plain values or pure functions, each in its file:
/// `PoolGraph` (entries and links), `Admission` (the pipeline's stages; the pool's side of it is
/// `extension Pool` in Admission.swift), `ReplacementPolicy` (the RBF rules), `MempoolStore`
/// (every SQL statement), `ChainFollower` (connected/disconnected, revalidation, reloads; its
/// `extension Pool` drives it), `CoinCache` (the coin view: the chain's coins it knows). Block
/// templates are built outside it, by `TemplateGenerator` over the pool as a `TxSource`
/// (BlockAssembler.swift). This file keeps the state, the gate, and every change of the mempool
/// sequence: adding, publishing, removing, eviction. A submission's stages that change nothing
/// (decoding, the coins, the signatures) run before the gate, concurrently (Admission.swift).
actor Pool: TxSource {
    let params: ChainParams
    let policy: Policy
    /// Every SQL statement of the mempool (`mempool.sqlite`).
    let store: MempoolStore
    let chain: any ChainSource
    let events: any PoolEvents
    let logger: Logger

    /// The transactions and their links (`PoolGraph`), changed only behind the gate (here, in
    /// Admission.swift and in ChainFollower.swift).
    var graph = PoolGraph() {
        didSet {
            graphChanges &+= 1
            if summaryHeld == 0 { updateSummary() }
        }
    }
    /// Moves on every change of `graph` (any entry in or out, a confirmation, a reorg's reset): with
    /// the tip, what a template depends on (`templateState`). A plain `didSet` (no `oldValue`)
    /// lets the graph be changed in place.
    private(set) var graphChanges: UInt64 = 0
    var entries: [Hash256: PoolEntry] { graph.entries }
    var bytes: Int { graph.bytes }
    /// The mempool sequence: only this file moves it, each time after storing a value at least as
    /// high (`MempoolStore`), so it never goes back across a restart.
    private(set) var sequence: UInt64 = 0 { didSet { if summaryHeld == 0 { updateSummary() } } }
    /// What `info()` (`getmempoolinfo`, the explorer's `/api/mempool`) answers: the graph's running
    /// totals and the sequence, set at every change of either (after a whole change: `changingSummary`),
    /// and read without the actor, so the read waits behind no admission.
    nonisolated let summary = Mutex(PoolSummary())
    /// Changes in progress that set `summary` once, at their end.
    private var summaryHeld = 0
    /// The chain's tip as last heard (`ChainFollower.swift` keeps it).
    var tip: ChainTip?
    /// Re-admissions waiting (`ChainFollower`).
    var follower = ChainFollower()
    /// The chain's unspent coins the pool knows (`CoinCache`), changed only behind the gate.
    var coinView = CoinCache()
    /// Admissions whose signatures' verdict, reached before the gate, was used inside it, and those
    /// verified again inside it (none reached, or the coins changed meanwhile); `getstatus`.
    var signaturesReused = 0
    var signaturesVerifiedInGate = 0
    /// The ordered writer to `mempool.sqlite` (group commit, GroupCommit.swift): every write of the
    /// pool's transactions and sequence is queued there, behind the gate.
    var writer: WriteQueue
    /// The writer's callers waiting for their commits (shared with `writer`), read off the actor.
    nonisolated let acks: Acknowledgements
    /// What was put in a template at least once, with its `template` trace event's time and detail
    /// (one each, the first time): the row is written with the deletion of the transaction's row
    /// (`templateRows`), in the commit that writes its other waiting trace rows, not when the
    /// template is made (issue 11: a row a transaction on a random page of the trace index, a
    /// quarter of the mempool's page writes under a flood). Until then `trace` answers it from
    /// here; a restart forgets it and the next template stamps it again.
    private var templated: [Hash256: (time: Double, detail: String)] = [:]

    /// One state change at a time: the actor is reentrant at every await, and a
    /// check done before an await (no conflict, not already here) must still
    /// hold when its result is applied. Submissions, block events,
    /// revalidation and reloads all pass through this gate.
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func exclusively<T>(_ body: () async throws(Refusal) -> T) async throws(Refusal) -> T {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        return try await body()
    }

    func exclusively(_ body: () async -> Void) async {
        try? await exclusively { () async throws(Refusal) -> Void in await body() }
    }

    init(params: ChainParams, policy: Policy, db: DatabasePool, chain: any ChainSource, events: any PoolEvents, logger: Logger) {
        self.params = params
        self.policy = policy
        self.store = MempoolStore(db: db)
        self.chain = chain
        self.events = events
        self.logger = logger
        let acks = Acknowledgements()
        self.acks = acks
        self.writer = WriteQueue(acks: acks)
    }

    /// The subscription to the chain's publications is synced: from now on every block reaches the
    /// pool or shows as a gap, so the coin view may answer.
    func enableCoinView() async {
        await exclusively { coinView.enable() }
    }

    /// Blocks may have been missed (a gap, a restart of the chain store): the coin view forgets
    /// every coin at once, without waiting for the gate (an emptier view is never wrong). An
    /// admission in flight may still keep the answer it is waiting for; the revalidation that
    /// follows (queued behind it at the gate) empties the view again before it re-checks the pool.
    func forgetCoins() {
        coinView.clear()
    }

    /// A restart goes on from the stored sequence (never back).
    func resumeSequence(from stored: UInt64) {
        sequence = max(sequence, stored)
    }

    /// Stores a sequence `count` ahead (before announcements that write nothing else); queued.
    func reserveSequence(_ count: Int) {
        enqueue(WriteQueue.Item(writes: [.sequence(sequence + UInt64(count))]))
    }

    private func updateSummary() {
        let now = PoolSummary(count: graph.count, bytes: graph.bytes, totalFee: graph.totalFee,
                              feeRateBuckets: graph.feeRateBuckets, sequence: sequence)
        summary.withLock { $0 = now }
    }

    /// Several changes, across suspensions, that set `summary` once at their end (`endSummaryHold`):
    /// a batch's admissions in one pass of the gate. Every change still goes through the gate, so a
    /// reader sees the state before the batch or after it.
    func beginSummaryHold() { summaryHeld += 1 }

    func endSummaryHold() {
        summaryHeld -= 1
        if summaryHeld == 0 { updateSummary() }
    }

    /// Runs `body` (several changes of the graph and the sequence in one step, no suspension) and
    /// sets `summary` once after it: a reader sees the state before or after, never one between.
    func changingSummary<T>(_ body: () throws -> T) rethrows -> T {
        summaryHeld += 1
        defer {
            summaryHeld -= 1
            if summaryHeld == 0 { updateSummary() }
        }
        return try body()
    }

    // MARK: adding (the admission pipeline that leads here is Admission.swift)

    struct Refusal: Error {
        let code: String
        let message: String
    }

    /// Evicts the lowest fee rates (with their descendants) until `entry` fits, or refuses it.
    /// `freeing`: what the entry replaces, gone when it enters (not evicted here, and its bytes count as free).
    func makeRoom(for entry: PoolEntry, freeing: Set<Hash256> = []) async throws(Refusal) {
        func freed() -> Int { freeing.reduce(0) { $0 + (entries[$1]?.size ?? 0) } }
        // (the ancestors walked only when something must go: a pool with room, the usual case, asks nothing of the graph)
        guard bytes - freed() + entry.size > policy.maxPoolBytes else { return }
        let ancestors = graph.ancestors(of: entry.parents)
        while bytes - freed() + entry.size > policy.maxPoolBytes {
            guard let lowest = graph.lowestFeeRate(excluding: freeing),
                  lowest.feeRate < entry.feeRate else {
                throw Refusal(code: Policy.Reason.full.rawValue, message: "the mempool is full and this fee rate is not above its lowest")
            }
            let doomed = graph.descendants(of: lowest.txid)
            guard ancestors.isDisjoint(with: doomed) else {
                throw Refusal(code: Policy.Reason.full.rawValue, message: "the mempool is full and making room would evict this transaction's own ancestors")
            }
            remove(doomed, reason: "evicted: lowest fee rate in a full mempool")
        }
    }

    /// Stages 7 and 8 of the admission (store, publish), behind the gate: into memory now (the
    /// replaced out, the entry in, the sequence moved), its rows queued for the writer
    /// (GroupCommit.swift) with its announcements (R for each replaced, as Bitcoin Core's removal
    /// reason REPLACED, with its `replaced` trace event; then A and the `accepted` trace event),
    /// made once they are on disk. Returns the ticket its caller waits on (`acknowledgement`) when
    /// `acknowledged`. One SQLite transaction holds the entry and the replaced rows' deletion: a
    /// crash leaves either the old transactions or the new one, never both or neither.
    @discardableResult
    func take(_ e: PoolEntry, replacing plan: Replacement? = nil, receivedAt: Double? = nil, acknowledged: Bool = false) -> UInt64? {
        changingSummary { takeNow(e, replacing: plan, receivedAt: receivedAt, acknowledged: acknowledged) }
    }

    private func takeNow(_ e: PoolEntry, replacing plan: Replacement?, receivedAt: Double?, acknowledged: Bool) -> UInt64? {
        var publications = [WriteQueue.Publication]()
        for old in plan?.evicted ?? [] { detach(old.txid) }
        let templateRows = self.templateRows(plan?.evicted.map(\.txid) ?? []).flatMap(\.value)
        for old in plan?.evicted ?? [] {
            sequence += 1
            publications.append(.removed(old.txid, sequence: sequence, reason: "replaced by \(e.txid.hex)"))
            publications.append(.trace(plan!.replacedEvent(old, by: e)))
        }
        insert(e)
        sequence += 1
        publications.append(.added(e, sequence: sequence))
        publications.append(.accepted(e, replacing: plan.map { p in (p.evicted.map(\.txid), p.fees) }))
        let gone = plan.map { p in p.evicted.map { ($0.txid, p.replacedEvent($0, by: e)) } } ?? []
        let ticket = acknowledged ? writer.newTicket() : nil
        enqueue(WriteQueue.Item(writes: [.admit(e, receivedAt: receivedAt, replacing: gone, sequence: sequence)]
                                    + (templateRows.isEmpty ? [] : [.trace(templateRows)]),
                                publications: publications, admitted: [e], replaced: plan?.evicted ?? [], ticket: ticket))
        scheduleTemplateNotice()
        return ticket
    }

    /// Back in memory after a restart, and announced again (hashtx, rawtx, sequence A with a new
    /// mempool sequence, reserved on disk first: `reserveSequence`): the process that acknowledged
    /// it may have died before its announcement left, and a subscriber that saw it already
    /// recognises the txid.
    func reannounce(_ e: PoolEntry) {
        changingSummary {
            insert(e)
            sequence += 1
        }
        enqueue(WriteQueue.Item(writes: [], publications: [.added(e, sequence: sequence)]))
    }

    /// A failed commit's rollback (GroupCommit.swift), behind the gate: `doomed` out of memory (R
    /// for each, as a snapshot may hold them), then what their admissions replaced back in when it
    /// still passes the checks (its rows were never deleted), else deleted and announced as R;
    /// either way with its `template` mark (`templateMarks`, taken by the failed admission), which
    /// waits in memory again or is written with the deletion.
    func withdraw(_ doomed: [Hash256], restoring replaced: [PoolEntry],
                  templateMarks: [Hash256: (time: Double, detail: String)] = [:]) async {
        remove(doomed, reason: "could not be stored")
        for old in replaced where !graph.contains(old.txid) {
            if let mark = templateMarks[old.txid], templated[old.txid] == nil { templated[old.txid] = mark }
            if let e = try? await accept(old.tx, txid: old.txid, raw: old.raw, time: old.time) {
                insert(e)
            } else {
                remove([old.txid], reason: "replaced by a transaction that could not be stored, and no longer valid",
                             keepInMemoryFirst: false)
            }
        }
    }

    /// Memory only: the entry and its links.
    private func insert(_ e: PoolEntry) {
        graph.insert(e)
    }

    // MARK: removing

    /// Memory only: takes the entry and its links out; false if it was not there.
    @discardableResult
    private func detach(_ t: Hash256) -> Bool {
        graph.remove(t) != nil
    }

    /// The `template` trace rows waiting for these transactions (taken: their rows are being deleted).
    private func templateRows(_ txids: [Hash256]) -> [Hash256: [TraceEvent]] {
        var out = [Hash256: [TraceEvent]]()
        for t in txids {
            if let mark = templated.removeValue(forKey: t) { out[t] = [Self.templateEvent(t, mark)] }
        }
        return out
    }

    private static func templateEvent(_ t: Hash256, _ mark: (time: Double, detail: String)) -> TraceEvent {
        TraceEvent(id: t.hex, kind: .tx, stage: .template, service: .mempool, time: mark.time, detail: mark.detail)
    }

    /// Removes transactions from memory, and queues the deletion of their rows (GroupCommit.swift:
    /// after any write of them queued before); publishes R for each unless included in a block,
    /// once the deletion is on disk. With `keepInMemoryFirst: false` the transactions need not be
    /// in memory (they failed re-admission): their rows are deleted and R is published all the same.
    /// `mined`: quiet removals (`publish` false) of a block's transactions, with the `mined` trace
    /// row of each written in the commit that deletes its row: a slice of the rows and of their trace
    /// rows per change, so each transaction's trace rows (those that waited in its row and this one)
    /// reach the trace index together.
    func remove(_ txids: [Hash256], reason: String, publish: Bool = true, keepInMemoryFirst: Bool = true,
                mined: ((Hash256) -> TraceEvent)? = nil) {
        changingSummary { removeNow(txids, reason: reason, publish: publish, keepInMemoryFirst: keepInMemoryFirst, mined: mined) }
    }

    private func removeNow(_ txids: [Hash256], reason: String, publish: Bool, keepInMemoryFirst: Bool, mined: ((Hash256) -> TraceEvent)?) {
        var gone = [Hash256]()
        for t in txids {
            guard detach(t) else {
                if !keepInMemoryFirst { gone.append(t) }
                continue
            }
            gone.append(t)
        }
        guard !gone.isEmpty else { return }
        let waiting = templateRows(gone)
        if !publish, let mined {
            // (a third of a commit's rows: each transaction's deletion, its `mined` row and its waiting
            // `template` row stay in one change, so in one commit)
            let slice = WriteQueue.deferrableRows / 3
            for start in stride(from: 0, to: gone.count, by: slice) {
                let part = Array(gone[start..<min(start + slice, gone.count)])
                enqueue(WriteQueue.Item(writes: [.delete(part, sequence: nil), .trace(part.map(mined) + part.flatMap { waiting[$0] ?? [] })]))
            }
            return
        }
        var publications = [WriteQueue.Publication]()
        var traces = gone.flatMap { waiting[$0] ?? [] }
        if publish {
            for t in gone {
                sequence += 1
                publications.append(.removed(t, sequence: sequence, reason: reason))
                let e = TraceEvent(id: t.hex, kind: .tx, stage: .removed, service: .mempool, time: ServiceSupport.now(), detail: reason)
                publications.append(.trace(e))
                traces.append(e)
            }
        }
        enqueue(WriteQueue.Item(writes: [.delete(gone, sequence: publish ? sequence : nil), .trace(traces)], publications: publications))
    }

    // MARK: template notices

    private var noticePending = false

    private func scheduleTemplateNotice() {
        guard !noticePending else { return }
        noticePending = true
        Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(250))
            await self?.templateNoticeNow()
        }
    }

    func templateNoticeNow() {
        noticePending = false
        let seq = sequence, count = entries.count
        let events = self.events
        Task { await events.templateChanged(sequence: seq, count: count) }
    }

    // MARK: the pool as block assembly's source (BlockAssembler.swift)

    /// Block assembly's choice from the graph as it is, with the sequence and the tip (awaited
    /// first, then all read at once): chosen here, on the actor, reading the fee-rate index as far
    /// as a block goes (O(k log n)), rather than a copy of the graph handed out (MiningSnapshot).
    func miningSnapshot() async throws -> MiningSnapshot {
        let t = try await currentTip()
        let began = StageTimes.now()
        defer { StageTimes.shared.record(.snapshot, since: began) }
        return MiningSnapshot(graph: graph, sequence: sequence, tip: t)
    }

    /// What a template is made from, read without making one (`TemplateGenerator` reuses its last
    /// template while this is unchanged).
    func templateState() async throws -> TemplateState? {
        let t = try await currentTip()
        return TemplateState(changes: graphChanges, tipHash: t.hash)
    }

    /// First time in a template: its `template` trace event, kept until its row is deleted
    /// (`templated`), and published live when someone listens (what has left the pool since the
    /// snapshot is skipped).
    func didTemplate(_ txids: [Hash256], height: Int, minerID: String) async {
        let mark = (time: ServiceSupport.now(), detail: "in a template for height \(height), asked by miner \(minerID)")
        var fresh = [Hash256]()
        for t in txids where templated[t] == nil && graph.contains(t) {
            templated[t] = mark
            fresh.append(t)
        }
        guard !fresh.isEmpty, events.tracesWanted else { return }
        await Self.announce(fresh.map { .trace(Self.templateEvent($0, mark)) }, to: events)
    }

    // MARK: trace

    func record(_ txid: Hash256, _ stage: TraceStage, service: ServiceName = .mempool, detail: String? = nil,
                        time: Double = ServiceSupport.now(), persist: Bool = true, persistOnly: Bool = false) async {
        let e = TraceEvent(id: txid.hex, kind: .tx, stage: stage, service: service, time: time, detail: detail)
        if !persistOnly { await events.trace(e) }
        if persist { await persistTrace(e) }
    }

    /// A trace row, queued for the writer (GroupCommit.swift) with the next batch: never a wait
    /// for the disk inside the gate (a refusal's rows too).
    func persistTrace(_ e: TraceEvent) async {
        persistTraces([e])
    }

    /// Trace rows, queued for the writer as one change (written a slice a commit when many:
    /// `WriteQueue.takeBatch`).
    func persistTraces(_ events: [TraceEvent]) {
        guard !events.isEmpty else { return }
        enqueue(WriteQueue.Item(writes: [.trace(events)]))
    }

    /// A transaction's trace rows, once what is queued is written, with its `template` row while it
    /// waits here (`templated`; read before and after the store, so a row written meanwhile is
    /// counted once).
    func trace(_ id: String) async throws -> [TraceEvent] {
        let id = id.lowercased()
        await flushed()
        let txid = Hash256(hex: id).flatMap { $0.hex == id ? $0 : nil }
        let before = txid.flatMap { templated[$0] }
        let stored = try await store.trace(id)
        guard let txid, let mark = templated[txid] ?? before, !stored.contains(where: { $0.stage == .template }) else { return stored }
        return (stored + [Self.templateEvent(txid, mark)]).enumerated()
            .sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    }
}
