import ChainCore
import Foundation
import NodeKit

/// The admission pipeline (btcd's `mempool.maybeAcceptTransaction`, Bitcoin Core's `MemPoolAccept`),
/// one stage per function:
///
///     decode → context-free checks → coin lookup → input rules (consensus, fee rate, ancestors)
///            → signature verification → gated re-checks → store → publish
///
/// The pure stages are here, as static functions of `Admission`; the pool's side (`extension
/// Pool` below) runs them in order. Today the whole pipeline after decoding runs inside the pool's
/// gate, one transaction at a time (Pool.swift explains the gate). What does not read the pool's
/// state (`decode`, `checkContextFree`, and `verifySignatures` for the coins it is given) is
/// written so it can move outside the gate, in parallel, leaving inside only the cheap re-checks
/// (issue 11).
enum Admission {
    typealias Refusal = Pool.Refusal

    /// Stage 1: a submitted transaction's hex, decoded; too long or not a transaction is refused.
    static func decode(hex: String, policy: Policy) throws(Refusal) -> (Transaction, [UInt8]) {
        guard hex.utf8.count <= 2 * policy.maxTxSize + 2, let raw = Hex.decode(hex) else {
            throw Refusal(code: hex.utf8.count > 2 * policy.maxTxSize ? Policy.Reason.oversize.rawValue : Policy.Reason.malformed.rawValue,
                          message: hex.utf8.count > 2 * policy.maxTxSize ? "transaction larger than \(policy.maxTxSize) bytes" : "not hex")
        }
        do {
            return (try Transaction(bytes: raw), raw)
        } catch {
            throw Refusal(code: Policy.Reason.malformed.rawValue, message: error.description)
        }
    }

    /// Stage 2: what needs neither the pool nor the chain: size, the consensus sanity rules, not a
    /// coinbase, no dust output.
    static func checkContextFree(_ tx: Transaction, raw: [UInt8], policy: Policy) throws(Refusal) {
        guard raw.count <= policy.maxTxSize else {
            throw Refusal(code: Policy.Reason.oversize.rawValue, message: "\(raw.count) bytes, limit \(policy.maxTxSize)")
        }
        do { try TransactionRules.checkSanity(tx) } catch { throw Refusal(code: error.reason.rawValue, message: error.detail) }
        guard !tx.isCoinbase else { throw Refusal(code: Policy.Reason.coinbase.rawValue, message: "a coinbase only comes in a block") }
        for (i, o) in tx.outputs.enumerated() where o.value < policy.dustLimit {
            throw Refusal(code: Policy.Reason.dust.rawValue, message: "output \(i) pays \(o.value) units, below the dust limit \(policy.dustLimit)")
        }
    }

    /// The coins a transaction spends, as far as the pool knows them.
    struct PoolInputs {
        /// Per input: the coin when a pool transaction creates it (height `Int.max`: unconfirmed), else nil.
        var coins: [Coin?]
        /// The pool transactions it spends from.
        var parents: Set<Hash256>
        /// The outpoints to ask the chain for.
        var missing: [OutPoint]
    }

    /// Stage 3a: the coins that pool transactions create (a missing output of a pool parent is refused).
    static func poolInputs(_ tx: Transaction, in graph: PoolGraph) throws(Refusal) -> PoolInputs {
        var found = PoolInputs(coins: [Coin?](repeating: nil, count: tx.inputs.count), parents: [], missing: [])
        for (i, input) in tx.inputs.enumerated() {
            let op = input.previousOutput
            if let parent = graph[op.txid] {
                guard Int(op.index) < parent.tx.outputs.count else {
                    throw Refusal(code: RejectReason.inputsMissingOrSpent.rawValue, message: "input \(i) names output \(op.index) of \(op.txid.hex), which has \(parent.tx.outputs.count)")
                }
                found.coins[i] = Coin(output: parent.tx.outputs[Int(op.index)], height: Int.max, isCoinbase: false)
                found.parents.insert(op.txid)
            } else {
                found.missing.append(op)
            }
        }
        return found
    }

    /// Stage 4a: the consensus rules on the inputs (maturity, amounts), an unconfirmed parent
    /// counting as mined in the next block; returns the fee.
    static func checkInputs(_ tx: Transaction, spent: [Coin], tipHeight: Int, params: ChainParams) throws(Refusal) -> Amount {
        let spendHeight = tipHeight + 1
        let forRules = spent.map { $0.height == Int.max ? Coin(output: $0.output, height: spendHeight, isCoinbase: false) : $0 }
        do {
            return try TransactionRules.checkInputs(tx, coins: forRules, spendHeight: spendHeight, params: params)
        } catch {
            throw Refusal(code: error.reason.rawValue, message: error.detail)
        }
    }

    /// Stage 4b: at most `maxAncestors - 1` unconfirmed ancestors.
    static func checkAncestors(_ parents: Set<Hash256>, in graph: PoolGraph, policy: Policy) throws(Refusal) {
        let ancestors = graph.ancestorCount(of: parents)
        guard ancestors + 1 <= policy.maxAncestors else {
            throw Refusal(code: Policy.Reason.tooLongChain.rawValue, message: "\(ancestors) unconfirmed ancestors, at most \(policy.maxAncestors - 1)")
        }
    }

    /// Stage 4c: the minimum relay fee rate.
    static func checkFeeRate(fee: Amount, size: Int, policy: Policy) throws(Refusal) {
        let rate = Double(fee) / Double(size)
        guard rate >= policy.minFeeRate else {
            throw Refusal(code: Policy.Reason.lowFee.rawValue,
                          message: "fee rate \(String(format: "%.2f", rate)) units/byte, minimum \(policy.minFeeRate) (\(Int((policy.minFeeRate * Double(size)).rounded(.up))) units for this size)")
        }
    }

    /// Stage 5: every input's signature, in parallel (`SignatureBatch`). Depends on the transaction
    /// and the coins it spends only, not on the pool: the stage that can run outside the gate.
    static func verifySignatures(_ tx: Transaction, spent: [Coin], params: ChainParams) async throws(Refusal) {
        if let bad = await SignatureBatch.firstFailure(TransactionRules.signatureChecks(tx, coins: spent, params: params)) {
            throw Refusal(code: RejectReason.badSignature.rawValue, message: "input \(bad.inputIndex) signature does not verify")
        }
    }

    /// Not already in the pool.
    static func checkNotInPool(_ txid: Hash256, in graph: PoolGraph) throws(Refusal) {
        guard !graph.contains(txid) else { throw Refusal(code: Policy.Reason.alreadyInPool.rawValue, message: "\(txid.hex) is already in the mempool") }
    }
}

extension Pool {
    /// Validates and adds a transaction, replacing the ones it conflicts with when it pays for
    /// that (see `ReplacementPolicy.plan`); persisted before this returns.
    func submit(hex: String, receivedAt: Double?) async throws(Refusal) -> PoolEntry {
        let (tx, raw) = try Admission.decode(hex: hex, policy: policy)
        return try await exclusively { () async throws(Refusal) -> PoolEntry in try await submitNow(tx, raw: raw, receivedAt: receivedAt) }
    }

    private func submitNow(_ tx: Transaction, raw: [UInt8], receivedAt: Double?) async throws(Refusal) -> PoolEntry {
        let txid = tx.txid
        let now = ServiceSupport.now()
        if let receivedAt {
            await record(txid, .received, service: .edge, detail: "POST /api/tx", time: receivedAt, persist: false)
        }
        do {
            let (entry, plan) = try await acceptReplacing(tx, txid: txid, raw: raw, time: now)
            try await persist(entry, receivedAt: receivedAt, replacing: plan)
            if let plan {
                await replaced(plan, by: entry)
            } else {
                await added(entry)
            }
            return entry
        } catch let refusal {
            if let receivedAt { await persistTrace(TraceEvent(id: txid.hex, kind: .tx, stage: .received, service: .edge, time: receivedAt, detail: "POST /api/tx")) }
            await record(txid, .rejected, detail: "\(refusal.code): \(refusal.message)")
            throw refusal
        }
    }

    /// `testtx` (JSON-RPC testmempoolaccept): the same checks as a submission (replacement included),
    /// against the pool as it is, through the same gate; nothing is stored, published or traced.
    func test(hex: String) async throws(Refusal) -> PoolEntry {
        let (tx, raw) = try Admission.decode(hex: hex, policy: policy)
        return try await exclusively { () async throws(Refusal) -> PoolEntry in
            try await acceptReplacing(tx, txid: tx.txid, raw: raw, time: ServiceSupport.now()).0
        }
    }

    /// The checks for re-admission (reload, revalidation): a conflict is refused, never a replacement.
    func accept(_ tx: Transaction, txid: Hash256, raw: [UInt8], time: Double) async throws(Refusal) -> PoolEntry {
        try await check(tx, txid: txid, raw: raw, time: time, replacing: false).0
    }

    /// The checks for a new submission: a conflict is a replacement, allowed by `ReplacementPolicy.plan`'s rules.
    private func acceptReplacing(_ tx: Transaction, txid: Hash256, raw: [UInt8], time: Double) async throws(Refusal) -> (PoolEntry, Replacement?) {
        try await check(tx, txid: txid, raw: raw, time: time, replacing: true)
    }

    /// The stages after decoding, in order; adds nothing (except making room in a full pool). With
    /// `replacing`, returns what the transaction would replace. Runs inside the gate.
    private func check(_ tx: Transaction, txid: Hash256, raw: [UInt8], time: Double, replacing: Bool) async throws(Refusal) -> (PoolEntry, Replacement?) {
        try Admission.checkContextFree(tx, raw: raw, policy: policy)
        try Admission.checkNotInPool(txid, in: graph)
        if !replacing { try ReplacementPolicy.refuseConflicts(tx, in: graph) }
        let (spent, parents, tipNow) = try await lookUpCoins(tx, txid: txid)
        let fee = try Admission.checkInputs(tx, spent: spent, tipHeight: tipNow.height, params: params)
        try Admission.checkAncestors(parents, in: graph, policy: policy)
        try Admission.checkFeeRate(fee: fee, size: raw.count, policy: policy)
        if replacing {
            _ = try ReplacementPolicy.plan(tx, fee: fee, size: raw.count, parents: parents, in: graph, policy: policy)
        }
        try await Admission.verifySignatures(tx, spent: spent, params: params)
        return try await recheck(PoolEntry(tx: tx, txid: txid, raw: raw, fee: fee, spent: spent, time: time, parents: parents),
                                 replacing: replacing)
    }

    /// Stage 3: the coins `tx` spends, from pool parents, else from the coin view, else from the
    /// chain store (its answer kept in the view); and the tip they were judged against. Refuses what
    /// spends a missing or spent coin (or is already mined).
    private func lookUpCoins(_ tx: Transaction, txid: Hash256) async throws(Refusal) -> (spent: [Coin], parents: Set<Hash256>, tip: ChainTip) {
        var inputs = try Admission.poolInputs(tx, in: graph)
        let tipNow: ChainTip
        let (known, unknown) = coinView.lookup(inputs.missing)
        do {
            var found = known
            // (with the view disabled, asked even when empty, as before the view existed)
            if !unknown.isEmpty || !coinView.enabled {
                let asked = try await chain.coins(unknown)
                coinView.remember(asked)
                found.merge(asked) { _, new in new }
            }
            for (i, input) in tx.inputs.enumerated() where inputs.coins[i] == nil {
                inputs.coins[i] = found[input.previousOutput]
            }
            tipNow = try await currentTip()
        } catch {
            throw Refusal(code: "chain-unavailable", message: "the chain store did not answer: \(error)")
        }
        guard inputs.coins.allSatisfy({ $0 != nil }) else {
            if (try? await chain.isConfirmed(txid)) == true {
                throw Refusal(code: Policy.Reason.alreadyKnown.rawValue, message: "\(txid.hex) is already in the chain")
            }
            let i = inputs.coins.firstIndex { $0 == nil }!
            throw Refusal(code: RejectReason.inputsMissingOrSpent.rawValue, message: "input \(i) spends \(tx.inputs[i].previousOutput), which is missing or spent")
        }
        return (inputs.coins.map { $0! }, inputs.parents, tipNow)
    }

    /// Stage 6, the gated re-checks: things may have changed while the stages above awaited (the
    /// chain store, the signatures); check again before taking it, then make room in a full pool.
    private func recheck(_ entry: PoolEntry, replacing: Bool) async throws(Refusal) -> (PoolEntry, Replacement?) {
        let tx = entry.tx
        try Admission.checkNotInPool(entry.txid, in: graph)
        for p in entry.parents where !graph.contains(p) {
            throw Refusal(code: RejectReason.inputsMissingOrSpent.rawValue, message: "parent \(p.hex) left the mempool")
        }
        var plan: Replacement?
        if replacing {
            plan = try ReplacementPolicy.plan(tx, fee: entry.fee, size: entry.size, parents: entry.parents, in: graph, policy: policy)
        } else {
            try ReplacementPolicy.refuseConflicts(tx, in: graph)
        }
        try await makeRoom(for: entry, freeing: Set(plan?.evicted.map(\.txid) ?? []))
        // Eviction awaited (each removal is written and announced): the plan must still hold.
        if replacing, plan != nil {
            plan = try ReplacementPolicy.plan(tx, fee: entry.fee, size: entry.size, parents: entry.parents, in: graph, policy: policy)
        }
        return (entry, plan)
    }

    /// Stage 7, store: writes the entry, its trace rows and the sequence it leads to; with a
    /// replacement, deletes the replaced rows and writes their `replaced` trace rows in the same
    /// SQLite transaction: a crash leaves either the old transactions or the new one, never both or
    /// neither. (Stage 8, publish, is `added` / `replaced`: memory, A/R, trace, template notice.)
    func persist(_ e: PoolEntry, receivedAt: Double?, replacing plan: Replacement? = nil) async throws(Refusal) {
        let next = sequence + UInt64(plan?.evicted.count ?? 0) + 1
        let gone = plan.map { p in p.evicted.map { ($0.txid, p.replacedEvent($0, by: e)) } } ?? []
        do {
            try await store.admit(e, receivedAt: receivedAt, replacing: gone, sequence: next)
        } catch {
            throw Refusal(code: "internal", message: "could not persist: \(error)")
        }
    }
}
