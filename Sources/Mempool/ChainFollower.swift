import Bus
import ChainCore
import Foundation
import Logging
import NodeKit

/// Following the chain (btcd's `mempool.MaybeAcceptTransaction` callers in `netsync` and
/// `RemoveDoubleSpends`/`RemoveTransaction` on a connected block; Bitcoin Core's
/// `removeForBlock` and `MaybeUpdateMempoolForReorg`): what the pool keeps while it waits to
/// readmit transactions, and the pure decisions about a block and a re-admission. The pool owns one
/// and drives it from the chain store's `connected` / `disconnected` / `tip` publications (see
/// `follow(subscriber:pool:)`), behind its gate.
struct ChainFollower: Sendable {
    /// Transactions of disconnected blocks, oldest block first, waiting to be readmitted.
    var returning: [Transaction] = []
    /// Persisted transactions not yet re-checked after a reload (the chain store was not answering).
    var deferred: [Hash256: PoolEntry] = [:]
    /// A revalidation is scheduled.
    var revalidationPending = false
    /// The best block as far as the pool has followed the stream: the last `connected`, or the
    /// parent of the last `disconnected` (nil until the first).
    var followed: Hash256?
    /// How many times a reorg's revalidation waited for the stream to reach the chain store's tip.
    var streamWaits = 0
    /// At most this many waits (of `streamWait` each) before a reorg's revalidation runs anyway.
    static let maxStreamWaits = 100
    static let streamWait = Duration.milliseconds(100)

    /// Whether a reorg's revalidation should wait: the chain store is at `tip`, but the pool has not
    /// followed its stream that far. A reorg publishes each disconnected block, newest first, then
    /// each connected one; until the pool has followed them all, the transactions of the older
    /// disconnected blocks are not among `returning` yet, and a pool transaction spending their
    /// outputs would look as if it spent nothing: revalidated then, it would be dropped.
    mutating func shouldWaitForStream(tip: ChainTip) -> Bool {
        guard let followed, followed.hex != tip.hash, streamWaits < Self.maxStreamWaits else {
            streamWaits = 0
            return false
        }
        streamWaits += 1
        return true
    }

    /// Whether a new submission touches a transaction waiting to come back from a disconnected
    /// block: it is one, spends one's outputs, or spends a coin one spends. Judged now, it would
    /// be refused for missing inputs, or taken in place of the returning one without the
    /// replacement rules; it waits instead (`mempool-busy`), as Bitcoin Core readmits a reorg's
    /// transactions before it accepts new ones.
    func touchesReturning(_ tx: Transaction, txid: Hash256) -> Bool {
        guard !returning.isEmpty else { return false }
        var ids = Set<Hash256>()
        var spent = Set<OutPoint>()
        for r in returning {
            ids.insert(r.txid)
            for input in r.inputs { spent.insert(input.previousOutput) }
        }
        return ids.contains(txid) || tx.inputs.contains { ids.contains($0.previousOutput.txid) || spent.contains($0.previousOutput) }
    }

    /// What waits to be readmitted (on disk, not in memory: the consistency check allows for it).
    var waiting: Set<Hash256> { Set(deferred.keys).union(returning.map(\.txid)) }

    /// A block's transactions were disconnected (a reorg disconnects several blocks, newest first):
    /// they go before those collected so far.
    mutating func disconnected(_ block: Block) {
        returning.insert(contentsOf: block.transactions.dropFirst(), at: 0)
    }

    /// The returning transactions as entries to readmit (their fee is found again by the checks),
    /// emptying the list.
    mutating func takeReturning(now: Double) -> [PoolEntry] {
        defer { returning = [] }
        return returning.map { PoolEntry(tx: $0, txid: $0.txid, raw: $0.encoded, fee: 0, spent: [], time: now, parents: []) }
    }

    /// The deferred reloads, oldest first, emptying the list.
    mutating func takeDeferred() -> [PoolEntry] {
        defer { deferred = [:] }
        return deferred.values.sorted { $0.time < $1.time }
    }

    /// What a connected block does to the pool: the pool transactions it includes (they leave
    /// quietly, the block's C says it) and the pool transactions spending a coin one of its
    /// transactions spends (they leave with their descendants, announced as R).
    /// `txids`: the block's, in order (`block.txids`), when the caller has them already.
    static func effects(of block: Block, txids: [Hash256]? = nil, on graph: PoolGraph) -> (included: [Hash256], conflicts: [Hash256]) {
        var included = [Hash256]()
        var conflicts = [Hash256]()
        let txids = txids ?? block.txids
        for (tx, txid) in zip(block.transactions, txids).dropFirst() {
            if graph.contains(txid) { included.append(txid) }
            for input in tx.inputs {
                if let other = graph.spender(of: input.previousOutput), other != txid { conflicts.append(other) }
            }
        }
        return (included, conflicts)
    }

    /// What a refusal means for a transaction being readmitted.
    enum Outcome: Equatable {
        /// Could not be checked (the chain store did not answer): kept, checked again later.
        case unchecked
        /// Its inputs are missing: maybe its parent comes back later in this pass.
        case laterInPass
        /// Already in the pool: counts as kept.
        case alreadyHere
        /// A block holds it (learnt of late, or not at all: a gap, a restart of the chain store):
        /// a removal by inclusion, never announced as R.
        case mined
        /// Definitively invalid now.
        case invalid
    }

    static func outcome(of refusal: Pool.Refusal) -> Outcome {
        switch refusal.code {
        case MempoolRefusal.chainUnavailable.rawValue: .unchecked
        case RejectReason.inputsMissingOrSpent.rawValue: .laterInPass
        case Policy.Reason.alreadyInPool.rawValue: .alreadyHere
        case Policy.Reason.alreadyKnown.rawValue: .mined
        default: .invalid
        }
    }
}

extension Pool {
    func currentTip() async throws -> ChainTip {
        if let tip { return tip }
        let t = try await chain.tip()
        tip = t
        return t
    }

    func setTip(_ t: ChainTip) { tip = t }

    /// A block joined the best chain: drop what it includes and what conflicts with it. Its txids
    /// (a SHA-256d of each transaction's encoding, computed again at each use of `tx.txid`) are
    /// hashed here, once, off the actor: neither the gate nor the actor is held for them (a
    /// 5,000-transaction block needs them twice, for the coin view and for its effects).
    @concurrent nonisolated func blockConnected(_ block: Block, height: Int) async {
        let txids = block.txids
        await blockConnected(block, txids: txids, height: height)
    }

    private func blockConnected(_ block: Block, txids: [Hash256], height: Int) async {
        // The chain store's tip, asked before the gate: admissions do not wait for its round trip.
        // Asked after the chain store published this block, so it is at least as high.
        let fresh = try? await chain.tip()
        let times = StageTimes.shared, asked = StageTimes.now()
        await exclusively {
            let entered = StageTimes.now()
            times.record(.blockGateWait, entered - asked)
            changingSummary { blockConnectedNow(block, txids: txids, height: height, tip: fresh) }
            times.record(.blockGateHold, since: entered)
        }
        await flushed()
    }

    /// Behind the gate, and without a suspension: memory changes only; the rows' deletion and the
    /// `mined` trace rows are queued for the writer, which writes them a slice a commit behind the
    /// admissions that follow (`WriteQueue.takeBatch`). `fresh`: the chain store's tip, asked before.
    private func blockConnectedNow(_ block: Block, txids: [Hash256], height: Int, tip fresh: ChainTip?) {
        let blockHash = block.hash
        follower.followed = blockHash
        coinView.connected(block, txids: txids, height: height)
        let (included, conflicts) = ChainFollower.effects(of: block, txids: txids, on: graph)
        // Included ones leave quietly (the block's C says it); children of included stay, now with a confirmed parent.
        for t in included { graph.confirm(t) }
        let minedAt = ServiceSupport.now(), detail = "in block \(blockHash.hex) at height \(height)"
        remove(included, reason: "included in block \(blockHash.hex)", publish: false) {
            TraceEvent(id: $0.hex, kind: .tx, stage: .mined, service: .mempool, time: minedAt, detail: detail)
        }
        let conflicted = conflicts.flatMap { graph.descendants(of: $0) }
        remove(conflicted, reason: "conflicts with block \(blockHash.hex)")
        if let t = tip, t.height < height { tip = nil }
        // `fresh` was asked before the gate: a revalidation that ran meanwhile may have set a higher tip.
        if let fresh, fresh.height >= height, fresh.height >= (tip?.height ?? height) { tip = fresh }
        templateNoticeNow()
    }

    /// A block left the best chain. Its transactions are collected (a reorg
    /// disconnects several blocks, newest first) and readmitted together with the
    /// whole pool a moment later, so parents come back before children and the
    /// pool's links and checks are rebuilt against the new chain.
    func blockDisconnected(_ block: Block) async {
        await exclusively {
            follower.disconnected(block)
            follower.followed = block.header.previousHash
            coinView.disconnected(block)
            scheduleRevalidation(reason: "reorg: block \(block.hash.hex) disconnected", delay: .milliseconds(300), afterReorg: true)
        }
    }

    /// After a restart or a gap in the chain's stream, or a reorg: re-check every
    /// transaction against the chain as it is now. Memory is rebuilt; the file
    /// loses only what is definitively invalid. A transaction that could not be
    /// checked (the chain store not answering yet) stays, and the check is retried.
    func revalidateAll(reason: String) async {
        await exclusively { await revalidateNow(reason: reason) }
        await flushed()
    }

    private func revalidateNow(reason: String, afterReorg: Bool = false) async {
        // A gap, a restart of the chain store or a reorg: the coins are asked again (also while the
        // chain store does not answer: nothing is served from a view that may have missed blocks).
        coinView.clear()
        guard let fresh = try? await chain.tip() else {
            logger.warning("chain store not answering; revalidation postponed", metadata: ["reason": "\(reason)"])
            scheduleRevalidation(reason: reason, afterReorg: afterReorg)
            return
        }
        tip = fresh
        if afterReorg, follower.shouldWaitForStream(tip: fresh) {
            scheduleRevalidation(reason: reason, delay: ChainFollower.streamWait, afterReorg: true)
            return
        }
        let returned = follower.takeReturning(now: ServiceSupport.now())
        let returnedIDs = Set(returned.map(\.txid))
        let all = returned + graph.byTime().filter { !returnedIDs.contains($0.txid) }
        graph.removeAll()
        let (kept, invalid, unchecked, mined) = await readmit(all, returned: returnedIDs)
        for e in unchecked where !returnedIDs.contains(e.txid) { graph.insert(e) }   // as they were: valid when accepted, not checkable now
        for e in unchecked where returnedIDs.contains(e.txid) { follower.returning.append(e.tx) }
        await removeMined(mined.filter { !returnedIDs.contains($0.txid) }, why: "after \(reason)")
        remove(invalid.filter { !returnedIDs.contains($0.txid) }.map(\.txid), reason: "no longer valid after \(reason)", keepInMemoryFirst: false)
        if !unchecked.isEmpty { scheduleRevalidation(reason: reason) }
        templateNoticeNow()
        logger.notice("mempool revalidated", metadata: ["reason": "\(reason)", "before": "\(all.count - returned.count)", "returned": "\(returned.count)",
                                                        "kept": "\(kept)", "invalid": "\(invalid.count)", "mined": "\(mined.count)",
                                                        "unchecked": "\(unchecked.count)"])
    }

    private func scheduleRevalidation(reason: String, delay: Duration = .seconds(1), afterReorg: Bool = false) {
        guard !follower.revalidationPending else { return }
        follower.revalidationPending = true
        Task { [weak self] in
            try? await Task.sleep(for: delay)
            await self?.runScheduledRevalidation(reason: reason, afterReorg: afterReorg)
        }
    }

    private func runScheduledRevalidation(reason: String, afterReorg: Bool) async {
        await exclusively {
            follower.revalidationPending = false
            await revalidateNow(reason: reason, afterReorg: afterReorg)
        }
    }

    /// Re-accepts transactions (parents before children, in passes) into
    /// memory. Those in `returned` (from disconnected blocks) are new to the
    /// pool: they are persisted and announced. Returns how many came back, the
    /// definitively invalid ones and the ones that could not be checked.
    private func readmit(_ candidates: [PoolEntry], returned: Set<Hash256> = [], announce: Bool = false)
        async -> (kept: Int, invalid: [PoolEntry], unchecked: [PoolEntry], mined: [PoolEntry]) {
        var pending = candidates
        var unchecked = [PoolEntry]()
        var invalid = [PoolEntry]()
        var mined = [PoolEntry]()
        var kept = 0
        var progress = true
        while progress && !pending.isEmpty {
            progress = false
            var next = [PoolEntry]()
            for e in pending {
                do {
                    let entry = try await accept(e.tx, txid: e.txid, raw: e.raw, time: e.time)
                    if returned.contains(e.txid) {
                        take(entry)
                        await record(e.txid, .returned, detail: "its block was disconnected")
                    } else if announce {
                        reannounce(entry)
                    } else {
                        graph.insert(entry)
                    }
                    kept += 1
                    progress = true
                } catch {
                    switch ChainFollower.outcome(of: error) {
                    case .unchecked: unchecked.append(e)
                    case .laterInPass: next.append(e)
                    case .alreadyHere: kept += 1
                    case .mined: mined.append(e)
                    case .invalid: invalid.append(e)
                    }
                }
            }
            pending = next
        }
        // What still misses inputs after a pass without progress is gone for good, unless
        // something could not be checked: then its parent may be among those, so wait.
        if unchecked.isEmpty { return (kept, invalid + pending, unchecked, mined) }
        return (kept, invalid, unchecked + pending, mined)
    }

    /// Transactions that left because a block holds them: deleted quietly (the block's C says it), with a trace row.
    private func removeMined(_ mined: [PoolEntry], why: String) async {
        guard !mined.isEmpty else { return }
        let now = ServiceSupport.now(), detail = "found in the chain \(why)"
        remove(mined.map(\.txid), reason: "included in a block", publish: false, keepInMemoryFirst: false) {
            TraceEvent(id: $0.hex, kind: .tx, stage: .mined, service: .mempool, time: now, detail: detail)
        }
    }

    /// Loads what was persisted (after a crash or a restart) and re-checks it.
    /// Only what is definitively invalid is deleted from the file; what can't
    /// be checked now is kept and checked again shortly.
    func loadPersisted() async throws {
        let (rows, stored) = try await store.load()
        await exclusively {
            if let stored { resumeSequence(from: stored) }
            reserveSequence(rows.count)
            await load(rows)
        }
        await flushed()
    }

    private func load(_ rows: [MempoolStore.Row]) async {
        var candidates = [PoolEntry]()
        var undecodable = [Hash256]()
        for row in rows {
            guard let tx = try? Transaction(bytes: row.raw) else {
                undecodable.append(Hash256.sha256d(row.raw))
                continue
            }
            candidates.append(PoolEntry(tx: tx, txid: tx.txid, raw: row.raw, fee: row.fee, spent: [], time: row.time, parents: []))
        }
        if !undecodable.isEmpty {
            try? await store.delete(undecodable)
        }
        tip = try? await chain.tip()
        let (kept, invalid, unchecked, mined) = await readmit(candidates, announce: true)
        // Unchecked ones stay on disk; revalidation picks them up (they are not served until then).
        await removeMined(mined, why: "on reload")
        remove(invalid.map(\.txid), reason: "dropped on reload", keepInMemoryFirst: false)
        if !unchecked.isEmpty {
            for e in unchecked where !graph.contains(e.txid) { follower.deferred[e.txid] = e }
            scheduleDeferredLoad()
        }
        logger.notice("mempool loaded from disk", metadata: ["stored": "\(rows.count)", "kept": "\(kept)",
                                                              "invalid": "\(invalid.count)", "unchecked": "\(unchecked.count)"])
    }

    private func scheduleDeferredLoad() {
        Task { [weak self] in
            try? await Task.sleep(for: .seconds(1))
            await self?.retryDeferred()
        }
    }

    private func retryDeferred() async {
        await exclusively { await retryDeferredNow() }
    }

    private func retryDeferredNow() async {
        let waiting = follower.takeDeferred()
        guard !waiting.isEmpty else { return }
        reserveSequence(waiting.count)
        let (kept, invalid, unchecked, mined) = await readmit(waiting, announce: true)
        await removeMined(mined, why: "on reload")
        remove(invalid.map(\.txid), reason: "dropped on reload", keepInMemoryFirst: false)
        for e in unchecked { follower.deferred[e.txid] = e }
        if !follower.deferred.isEmpty { scheduleDeferredLoad() }
        if kept > 0 { templateNoticeNow() }
    }
}

/// Applies the chain store's events; on a gap or a restart of the chain store, revalidates everything.
func follow(subscriber: Subscriber, pool: Pool, pacer: Pacer? = nil, logger: Logger) async {
    for await event in subscriber.events {
        switch event {
        case let .message(topic, body, _):
            switch topic {
            case Topic.connected, Topic.disconnected:
                guard let (height, raw) = HeightPrefixed.decode(body), let block = try? Block(bytes: raw) else {
                    logger.warning("undecodable \(topic) message")
                    continue
                }
                if topic == Topic.connected { await pool.blockConnected(block, height: height) }
                else { await pool.blockDisconnected(block) }
            case Topic.tip:
                if let tip = try? JSON.decode(ChainTip.self, body) {
                    await pool.setTip(tip)
                    await pacer?.tipChanged(height: tip.height)
                }
            default:
                break
            }
        case let .gap(topic, expected, received):
            logger.warning("missed chain events", metadata: ["topic": "\(topic)", "expected": "\(expected)", "received": "\(received)"])
            await pool.forgetCoins()
            await pool.revalidateAll(reason: "gap in \(topic)")
        case let .reset(topic, _, _):
            await pool.forgetCoins()
            if topic == Topic.connected { await pool.revalidateAll(reason: "the chain store restarted") }
        }
    }
}
