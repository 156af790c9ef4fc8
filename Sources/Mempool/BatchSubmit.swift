import ChainCore
import NodeKit
import Synchronization

/// `submittxs` (docs/PROTOCOL.md, "Bus: batched submissions"): many raw transactions in one bus
/// request from the edge. Each is judged on its own through the same stages as a `submittx`, with
/// the batch's work shared (`Pool.submit(batch:)`): one step on the actor for the coins of all, one
/// `getcoins` for what the coin view lacks, the signatures verified across the cores, one pass of the
/// gate admitting them in the request's order; the reply carries every answer in order and leaves
/// once each is settled (an accepted one on disk: the group commit), so an answer is never given
/// before its own commit.
enum BatchSubmit {
    /// Counters for `getstatus` (and the tests: a flood through the edge comes in batches).
    final class Stats: Sendable {
        private let batchCount = Atomic<Int>(0)
        private let transactionCount = Atomic<Int>(0)
        private let largestCount = Atomic<Int>(0)

        var batches: Int { batchCount.load(ordering: .relaxed) }
        var transactions: Int { transactionCount.load(ordering: .relaxed) }
        var largest: Int { largestCount.load(ordering: .relaxed) }

        func record(_ count: Int) {
            batchCount.add(1, ordering: .relaxed)
            transactionCount.add(count, ordering: .relaxed)
            largestCount.max(count, ordering: .relaxed)
        }
    }

    /// Answers one `submittxs` request: a malformed batch is refused as a whole (`bad-params`),
    /// before any transaction is admitted.
    static func serve(_ payload: [UInt8], pool: Pool, stats: Stats) async throws(RPCError) -> [UInt8] {
        let items = try SubmitBatch.decodeRequest(payload)
        stats.record(items.count)
        let results = await pool.submit(batch: items)
        return SubmitBatch.encode(results.map { result -> SubmitBatch.Answer in
            switch result {
            case let .success(e): .accepted(txid: e.txid, fee: e.fee, size: e.size)
            case let .failure(refusal): .refused(RPCError(refusal.code, refusal.message))
            }
        })
    }
}

extension Pool {
    /// A batch of raw submissions (`submittxs`), answered in order, each exactly as
    /// `submit(raw:receivedAt:)` would answer it alone after the ones before it: the same stages and
    /// refusals, the gated ones in the batch's order. What a lone submission does per transaction
    /// is done once for the batch (issue 11: the mempool's CPU per transaction): the coins of every
    /// transaction looked up in one step on the actor, with one `getcoins` for the coins neither
    /// the pool nor the coin view holds; the signatures verified in one slice per core; one pass
    /// through the gate (`exclusively`) admitting them one after another; the acknowledgements
    /// awaited in one step (each still only once the commit holding its write has returned).
    nonisolated func submit(batch items: [SubmitBatch.Item]) async -> [Result<PoolEntry, Refusal>] {
        let started = StageTimes.now()
        var results = [Result<PoolEntry, Refusal>?](repeating: nil, count: items.count)
        var decoded = [(index: Int, tx: Transaction, txid: Hash256)]()
        decoded.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            do throws(Refusal) {
                let tx = try Admission.decode(raw: item.raw, policy: policy)
                decoded.append((i, tx, tx.txid))
            } catch {
                results[i] = .failure(error)
            }
        }
        let prechecked = await precheck(batch: decoded.map { ($0.tx, items[$0.index].raw) })
        StageTimes.shared.record(.precheck, since: started)
        for d in decoded { await announceReceived(d.txid, receivedAt: items[d.index].receivedAt) }
        let gated = await admit(batch: decoded.enumerated().map { k, d in
            let item = items[d.index]
            return Admission.Gated(tx: d.tx, txid: d.txid, raw: item.raw, receivedAt: item.receivedAt, maxFee: item.maxFee, prechecked: prechecked[k])
        })
        for (d, result) in zip(decoded, gated) { results[d.index] = result }
        StageTimes.shared.record(.total, since: started)
        return results.map { $0! }
    }

    /// The stages before the gate for a batch (`precheck` for each): the context-free checks, the
    /// coins of all in one step, the signatures' verdicts in one slice per core.
    nonisolated func precheck(batch: [(tx: Transaction, raw: [UInt8])]) async -> [Admission.Prechecked] {
        let passing = batch.map { (try? Admission.checkContextFree($0.tx, raw: $0.raw, policy: policy)) != nil }
        var found = await prefetchCoins(batch: batch.map(\.tx), skipping: passing.map { !$0 })
        for i in found.indices where passing[i] { found[i].found.contextFree = true }
        let work = found.indices.filter { found[$0].spent != nil }
        guard !work.isEmpty else { return found.map(\.found) }
        let slices = min(work.count, SignatureBatch.defaultParallelism)
        let params = self.params
        // One child task per slice, each verifying its transactions one after another without a
        // suspension (`Admission.verdictNow`), the last slice on this task: one task made per core
        // but one, not an async call per transaction.
        func slice(_ s: Int) -> [(Int, Transaction, [Coin])] {
            stride(from: s, to: work.count, by: slices).map { k in (work[k], batch[work[k]].tx, found[work[k]].spent!) }
        }
        func verify(_ mine: [(Int, Transaction, [Coin])]) async -> [(Int, Admission.SignatureVerdict)] {
            var out = [(Int, Admission.SignatureVerdict)]()
            out.reserveCapacity(mine.count)
            for (i, tx, spent) in mine { out.append((i, await Admission.verdictNow(tx, spent: spent, params: params))) }
            return out
        }
        let verdicts = await withTaskGroup(of: [(Int, Admission.SignatureVerdict)].self) { group in
            for s in 1..<slices {
                let mine = slice(s)
                group.addTask { await verify(mine) }
            }
            var all = await verify(slice(0))
            for await part in group { all += part }
            return all
        }
        for (i, verdict) in verdicts { found[i].found.signatures = verdict }
        return found.map(\.found)
    }

    /// Stage 3 before the gate for a batch (`prefetchCoins` for each, in one step on the actor):
    /// one question to the chain store for every coin of the batch that neither the pool nor the
    /// coin view holds, under the same generation rule.
    private func prefetchCoins(batch: [Transaction], skipping: [Bool]) async -> [(found: Admission.Prechecked, spent: [Coin]?)] {
        var out = [(found: Admission.Prechecked, spent: [Coin]?)](repeating: (Admission.Prechecked(), nil), count: batch.count)
        var inputs = [Admission.PoolInputs?](repeating: nil, count: batch.count)
        var known = [OutPoint: Coin]()
        var unknown = [[OutPoint]](repeating: [], count: batch.count)
        var ask = [OutPoint]()
        for (i, tx) in batch.enumerated() where !skipping[i] {
            guard let found = try? Admission.poolInputs(tx, in: graph) else { continue }
            inputs[i] = found
            let (hit, missing) = coinView.lookup(found.missing)
            known.merge(hit) { _, new in new }
            unknown[i] = missing
            ask += missing
        }
        var answered = [OutPoint: Coin]()
        var generation: UInt64?
        var askedOK = true
        if inputs.contains(where: { $0 != nil }), !ask.isEmpty || !coinView.enabled {
            let asked = coinView.generation
            // Each coin once (`RemoteChain` asks in calls the chain store takes): a batch of
            // many-input transactions must not lose its work before the gate to one refused call.
            if let reply = try? await chain.coins(Array(Set(ask))) {
                coinView.remember(reply, ifGeneration: asked)
                answered = reply
                generation = asked
            } else {
                askedOK = false
            }
        }
        for (i, tx) in batch.enumerated() {
            guard var found = inputs[i] else { continue }
            var pre = Admission.Prechecked()
            if !unknown[i].isEmpty || generation != nil {
                guard askedOK else { continue }
                pre.asked = Set(unknown[i])
                for op in unknown[i] { if let c = answered[op] { pre.answered[op] = c } }
                pre.generation = generation
            }
            for (k, input) in tx.inputs.enumerated() where found.coins[k] == nil {
                found.coins[k] = known[input.previousOutput] ?? pre.answered[input.previousOutput]
            }
            out[i].found = pre
            if found.coins.allSatisfy({ $0 != nil }) { out[i].spent = found.coins.map { $0! } }
        }
        return out
    }
}

extension Pool {
    /// A submission as raw bytes (`submittxs`): the stages and the answers of `submit(hex:receivedAt:)`
    /// for the hex of these bytes, without the hex.
    nonisolated func submit(raw: [UInt8], receivedAt: Double?, maxFee: UInt64? = nil) async throws(Refusal) -> PoolEntry {
        let started = StageTimes.now()
        let tx = try Admission.decode(raw: raw, policy: policy)
        let pre = await precheck(tx, raw: raw)
        StageTimes.shared.record(.precheck, since: started)
        await announceReceived(tx.txid, receivedAt: receivedAt)
        let e = try await admit(tx, raw: raw, receivedAt: receivedAt, maxFee: maxFee, prechecked: pre)
        StageTimes.shared.record(.total, since: started)
        return e
    }
}

extension Admission {
    /// Stage 1 for raw bytes: what `decode(hex:policy:)` refuses for their hex (it takes up to
    /// 2 × maxTxSize + 2 hex digits, so up to maxTxSize + 1 bytes, leaving the exact size to the
    /// context-free checks).
    static func decode(raw: [UInt8], policy: Policy) throws(Refusal) -> Transaction {
        guard raw.count <= policy.maxTxSize + 1 else {
            throw Refusal(code: Policy.Reason.oversize.rawValue, message: "transaction larger than \(policy.maxTxSize) bytes")
        }
        do {
            return try Transaction(bytes: raw)
        } catch {
            throw Refusal(code: Policy.Reason.malformed.rawValue, message: error.description)
        }
    }
}
