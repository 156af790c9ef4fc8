import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit

/// Where the pool learns about confirmed coins and the tip.
protocol ChainSource: Sendable {
    func coins(_ outpoints: [OutPoint]) async throws -> [OutPoint: Coin]
    func isConfirmed(_ txid: Hash256) async throws -> Bool
    func tip() async throws -> ChainTip
}

/// What the pool tells the world.
protocol PoolEvents: Sendable {
    func added(_ entry: PoolEntry, sequence: UInt64) async
    func removed(_ txid: Hash256, sequence: UInt64, reason: String) async
    func templateChanged(sequence: UInt64, count: Int) async
    func trace(_ event: TraceEvent) async
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
    var graph = PoolGraph()
    var entries: [Hash256: PoolEntry] { graph.entries }
    var bytes: Int { graph.bytes }
    /// The mempool sequence: only this file moves it, each time after storing a value at least as
    /// high (`MempoolStore`), so it never goes back across a restart.
    private(set) var sequence: UInt64 = 0
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
    /// What was put in a template at least once (its `template` trace row is written once).
    private var templated = Set<Hash256>()

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

    /// Stores a sequence `count` ahead (before announcements that write nothing else).
    func reserveSequence(_ count: Int) async {
        let value = sequence + UInt64(count)
        do {
            try await store.storeSequence(value)
        } catch {
            logger.error("could not store the mempool sequence", metadata: ["error": "\(error)"])
        }
    }

    // MARK: adding (the admission pipeline that leads here is Admission.swift)

    struct Refusal: Error {
        let code: String
        let message: String
    }

    /// Evicts the lowest fee rates (with their descendants) until `entry` fits, or refuses it.
    /// `freeing`: what the entry replaces, gone when it enters (not evicted here, and its bytes count as free).
    func makeRoom(for entry: PoolEntry, freeing: Set<Hash256> = []) async throws(Refusal) {
        let ancestors = graph.ancestors(of: entry.parents)
        func freed() -> Int { freeing.reduce(0) { $0 + (entries[$1]?.size ?? 0) } }
        while bytes - freed() + entry.size > policy.maxPoolBytes {
            guard let lowest = graph.lowestFeeRate(excluding: freeing),
                  lowest.feeRate < entry.feeRate else {
                throw Refusal(code: Policy.Reason.full.rawValue, message: "the mempool is full and this fee rate is not above its lowest")
            }
            let doomed = graph.descendants(of: lowest.txid)
            guard ancestors.isDisjoint(with: doomed) else {
                throw Refusal(code: Policy.Reason.full.rawValue, message: "the mempool is full and making room would evict this transaction's own ancestors")
            }
            await remove(doomed, reason: "evicted: lowest fee rate in a full mempool")
        }
    }

    /// Stage 8 of the admission (publish): into memory, announced (A), traced; a template notice follows.
    func added(_ e: PoolEntry, replacing: Replacement? = nil) async {
        insert(e)
        sequence += 1
        await events.added(e, sequence: sequence)
        var detail = "fee \(e.fee) units, \(e.size) bytes, \(String(format: "%.2f", e.feeRate)) units/byte"
        if let replacing {
            detail += "; replaces \(replacing.evicted.map(\.txid.hex).joined(separator: ", ")) (fees \(replacing.fees) units)"
        }
        await events.trace(TraceEvent(id: e.txid.hex, kind: .tx, stage: .accepted, service: .mempool, time: e.time, detail: detail))
        scheduleTemplateNotice()
    }

    /// A replacement, already written (`persist`): the replaced leave memory, each announced as R
    /// (as Bitcoin Core, removal reason REPLACED) with its `replaced` trace event, then the
    /// replacement is added and announced as A.
    func replaced(_ plan: Replacement, by e: PoolEntry) async {
        for old in plan.evicted { detach(old.txid) }
        for old in plan.evicted {
            sequence += 1
            await events.removed(old.txid, sequence: sequence, reason: "replaced by \(e.txid.hex)")
            await events.trace(plan.replacedEvent(old, by: e))
        }
        await added(e, replacing: plan)
    }

    /// Back in memory after a restart, and announced again (hashtx, rawtx, sequence A with a new
    /// mempool sequence): the process that acknowledged it may have died before its announcement
    /// left, and a subscriber that saw it already recognises the txid.
    func reannounce(_ e: PoolEntry) async {
        insert(e)
        sequence += 1
        await events.added(e, sequence: sequence)
    }

    /// Memory only: the entry and its links.
    private func insert(_ e: PoolEntry) {
        graph.insert(e)
    }

    // MARK: removing

    /// Memory only: takes the entry and its links out; false if it was not there.
    @discardableResult
    private func detach(_ t: Hash256) -> Bool {
        guard graph.remove(t) != nil else { return false }
        templated.remove(t)
        return true
    }

    /// Removes transactions from memory and disk; publishes R for each unless included in a block.
    /// With `keepInMemoryFirst: false` the transactions need not be in memory
    /// (they failed re-admission): their rows are deleted and R is published all the same.
    func remove(_ txids: [Hash256], reason: String, publish: Bool = true, keepInMemoryFirst: Bool = true) async {
        var gone = [Hash256]()
        for t in txids {
            guard detach(t) else {
                if !keepInMemoryFirst { gone.append(t) }
                continue
            }
            gone.append(t)
        }
        guard !gone.isEmpty else { return }
        let next: UInt64? = publish ? sequence + UInt64(gone.count) : nil
        do {
            try await store.delete(gone, sequence: next)
        } catch {
            logger.error("could not delete from mempool.sqlite", metadata: ["error": "\(error)"])
        }
        for t in gone {
            if publish {
                sequence += 1
                await events.removed(t, sequence: sequence, reason: reason)
                await record(t, .removed, detail: reason)
            }
        }
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

    /// The graph as it is, with the sequence and the tip (awaited first, then all read at once).
    func miningSnapshot() async throws -> MiningSnapshot {
        let t = try await currentTip()
        return MiningSnapshot(graph: graph, sequence: sequence, tip: t)
    }

    /// First time in a template: one trace row each, written in one transaction (what has left the
    /// pool since the snapshot is skipped).
    func didTemplate(_ txids: [Hash256], height: Int, minerID: String) async {
        let detail = "in a template for height \(height), asked by miner \(minerID)"
        let fresh = txids.filter { graph.contains($0) && templated.insert($0).inserted }.map {
            TraceEvent(id: $0.hex, kind: .tx, stage: .template, service: .mempool, time: ServiceSupport.now(), detail: detail)
        }
        guard !fresh.isEmpty else { return }
        for e in fresh { await events.trace(e) }
        do {
            try await store.record(fresh)
        } catch {
            logger.warning("could not store template trace events", metadata: ["error": "\(error)"])
        }
    }

    // MARK: trace

    func record(_ txid: Hash256, _ stage: TraceStage, service: ServiceName = .mempool, detail: String? = nil,
                        time: Double = ServiceSupport.now(), persist: Bool = true, persistOnly: Bool = false) async {
        let e = TraceEvent(id: txid.hex, kind: .tx, stage: stage, service: service, time: time, detail: detail)
        if !persistOnly { await events.trace(e) }
        if persist { await persistTrace(e) }
    }

    func persistTrace(_ e: TraceEvent) async {
        do {
            try await store.record([e])
        } catch {
            logger.warning("could not store a trace event", metadata: ["error": "\(error)"])
        }
    }

    func trace(_ id: String) async throws -> [TraceEvent] {
        try await store.trace(id.lowercased())
    }
}
