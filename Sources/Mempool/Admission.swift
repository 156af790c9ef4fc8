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
/// Pool` below) runs them in order. A submission runs in two parts (issue 11):
///
/// - before the gate, concurrently for concurrent submissions: decode, the context-free checks,
///   the coins (pool parents and coin view read on the actor in one step, the chain store asked
///   for the rest), and the signatures verified against those coins off the actor, on the
///   cooperative pool (`verdict`, `@concurrent`). This reads the pool but changes nothing in it
///   except the coin view, and that only under its generation rule (CoinCache.swift).
/// - inside the gate, one at a time: every other stage again, on the pool as it is then (coins
///   looked up again: the answer from before the gate is used only if no block event came
///   since; the input rules at the current tip; ancestors, fee rate, conflicts and replacement).
///   The signatures' verdict is reused only when the outputs spent are the ones it was reached
///   with; otherwise they are verified again, in the gate. A signature covers the transaction
///   and each spent output's value and key (PROTOCOL §5, the sighash), nothing else of the
///   pool or chain, so an equal verdict is the verdict.
enum Admission {
    typealias Refusal = Pool.Refusal

    /// A transaction's signatures judged against the outputs it spends.
    struct SignatureVerdict: Sendable, Equatable {
        /// Per input, the output it spends, as verified: its value and key are all a signature
        /// covers besides the transaction itself.
        let spent: [TxOutput]
        /// The first input whose signature does not verify, or nil when all do.
        let failingInput: Int?
    }

    /// One transaction of a batch for the gate: what the stages before it found, and the submitter's limit.
    struct Gated: Sendable {
        var tx: Transaction
        var txid: Hash256
        var raw: [UInt8]
        var receivedAt: Double?
        var maxFee: UInt64?
        var prechecked: Prechecked
    }

    /// What the stages before the gate found, for the gated stages to use when still true.
    struct Prechecked: Sendable {
        /// The chain store's answer (only unspent coins) for the outpoints `asked`, asked while the
        /// coin view was at `generation`.
        var asked: Set<OutPoint> = []
        var answered: [OutPoint: Coin] = [:]
        var generation: UInt64?
        var signatures: SignatureVerdict?
        /// The context-free checks passed before the gate (a pure function of the transaction, its
        /// bytes and the policy: not run again inside it).
        var contextFree = false

        /// The chain's coins for `outpoints` from the answer, if it covers them all and no block
        /// event, gap or restart has been applied since it was asked (`generation` unchanged).
        func coins(for outpoints: [OutPoint], generation now: UInt64) -> [OutPoint: Coin]? {
            guard generation == now, outpoints.allSatisfy({ asked.contains($0) }) else { return nil }
            return answered.filter { outpoints.contains($0.key) }
        }
    }

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

    /// The submitter's limit (JSON-RPC `maxfeerate` for this size, as a fee): a fee above it is refused.
    static func checkMaxFee(fee: Amount, size: Int, maxFee: UInt64) throws(Refusal) {
        guard fee > maxFee else { return }
        throw Refusal(code: Policy.Reason.maxFeeExceeded.rawValue,
                      message: "fee \(fee) units for \(size) bytes is above the \(maxFee) units allowed by the submitter's maximum fee rate")
    }

    /// Stage 4c: the minimum relay fee rate.
    static func checkFeeRate(fee: Amount, size: Int, policy: Policy) throws(Refusal) {
        let rate = Double(fee) / Double(size)
        guard rate >= policy.minFeeRate else {
            throw Refusal(code: Policy.Reason.lowFee.rawValue,
                          message: "fee rate \(String(format: "%.2f", rate)) units/byte, minimum \(policy.minFeeRate) (\(Int((policy.minFeeRate * Double(size)).rounded(.up))) units for this size)")
        }
    }

    /// Stage 5: every input's signature against the outputs it spends (a batch of 16 or more
    /// checks spread over the cores, `SignatureBatch`). Depends on the transaction and those
    /// outputs only, not on the pool. `@concurrent`: always off the caller's actor, so the pool
    /// serves others while it runs. On the cooperative pool, not a thread of its own: an Ed25519
    /// verification is ~50 µs of CPU that never blocks, and concurrent submissions already run as
    /// separate tasks; a dedicated queue would add two thread hops per transaction and more
    /// threads than the machine's cores.
    @concurrent
    static func verdict(_ tx: Transaction, spent: [Coin], params: ChainParams) async -> SignatureVerdict {
        let bad = await SignatureBatch.firstFailure(TransactionRules.signatureChecks(tx, coins: spent, params: params))
        return SignatureVerdict(spent: spent.map(\.output), failingInput: bad?.inputIndex)
    }

    /// `verdict` on the caller's task, with no suspension when the transaction has fewer inputs
    /// than `SignatureBatch.parallelThreshold` (the usual case): a batch's slices already run in
    /// parallel (BatchSubmit.swift), so each transaction in them is one plain call.
    static func verdictNow(_ tx: Transaction, spent: [Coin], params: ChainParams) async -> SignatureVerdict {
        let checks = TransactionRules.signatureChecks(tx, coins: spent, params: params)
        let bad = checks.count < SignatureBatch.parallelThreshold ? checks.first { !$0.verify() } : await SignatureBatch.firstFailure(checks)
        return SignatureVerdict(spent: spent.map(\.output), failingInput: bad?.inputIndex)
    }

    /// Stage 5 as one step: verified, and refused on the first failing input.
    static func verifySignatures(_ tx: Transaction, spent: [Coin], params: ChainParams) async throws(Refusal) {
        try refuse(await verdict(tx, spent: spent, params: params))
    }

    /// The refusal a verdict means, if any.
    static func refuse(_ verdict: SignatureVerdict) throws(Refusal) {
        if let bad = verdict.failingInput {
            throw Refusal(code: RejectReason.badSignature.rawValue, message: "input \(bad) signature does not verify")
        }
    }

    /// Not already in the pool.
    static func checkNotInPool(_ txid: Hash256, in graph: PoolGraph) throws(Refusal) {
        guard !graph.contains(txid) else { throw Refusal(code: Policy.Reason.alreadyInPool.rawValue, message: "\(txid.hex) is already in the mempool") }
    }
}

extension Pool {
    /// Validates and adds a transaction, replacing the ones it conflicts with when it pays for
    /// that (see `ReplacementPolicy.plan`); persisted before this returns. Decoding, the coins and
    /// the signatures come first, outside the gate and concurrently with other submissions
    /// (`precheck`); the rest runs inside it.
    nonisolated func submit(hex: String, receivedAt: Double?, maxFee: UInt64? = nil) async throws(Refusal) -> PoolEntry {
        let started = StageTimes.now()
        let (tx, raw) = try Admission.decode(hex: hex, policy: policy)
        let pre = await precheck(tx, raw: raw)
        StageTimes.shared.record(.precheck, since: started)
        await announceReceived(tx.txid, receivedAt: receivedAt)
        let e = try await admit(tx, raw: raw, receivedAt: receivedAt, maxFee: maxFee, prechecked: pre)
        StageTimes.shared.record(.total, since: started)
        return e
    }

    /// The edge's `received` trace event, published before the gate (off the actor: never a hop
    /// while the gate is held); its row is written with the entry, or with the refusal.
    nonisolated func announceReceived(_ txid: Hash256, receivedAt: Double?) async {
        guard let receivedAt, events.tracesWanted else { return }
        await events.trace(TraceEvent(id: txid.hex, kind: .tx, stage: .received, service: .edge, time: receivedAt, detail: "POST /api/tx"))
    }

    /// The stages before the gate: context-free checks, the coins, the signatures' verdict. Refuses
    /// nothing itself: whatever it cannot settle (a context-free failure, a missing coin, a chain
    /// store that does not answer) is left to the gated stages, which refuse with the same reasons
    /// and trace as before.
    nonisolated func precheck(_ tx: Transaction, raw: [UInt8]) async -> Admission.Prechecked {
        guard (try? Admission.checkContextFree(tx, raw: raw, policy: policy)) != nil else { return Admission.Prechecked() }
        var pre = await prefetchCoins(tx)
        pre.found.contextFree = true
        if let spent = pre.spent {
            pre.found.signatures = await Admission.verdict(tx, spent: spent, params: params)
        }
        return pre.found
    }

    /// Stage 3 before the gate: the coins from pool parents and the coin view (one step on the
    /// actor, no suspension between them), the rest asked of the chain store. The answer goes into
    /// the view only if no block event came while it was asked (CoinCache's generation rule).
    private func prefetchCoins(_ tx: Transaction) async -> (found: Admission.Prechecked, spent: [Coin]?) {
        guard var inputs = try? Admission.poolInputs(tx, in: graph) else { return (Admission.Prechecked(), nil) }
        let (known, unknown) = coinView.lookup(inputs.missing)
        var pre = Admission.Prechecked()
        var found = known
        if !unknown.isEmpty || !coinView.enabled {
            let generation = coinView.generation
            guard let asked = try? await chain.coins(unknown) else { return (pre, nil) }
            coinView.remember(asked, ifGeneration: generation)
            pre.asked = Set(unknown)
            pre.answered = asked
            pre.generation = generation
            found.merge(asked) { _, new in new }
        }
        for (i, input) in tx.inputs.enumerated() where inputs.coins[i] == nil {
            inputs.coins[i] = found[input.previousOutput]
        }
        guard inputs.coins.allSatisfy({ $0 != nil }) else { return (pre, nil) }
        return (pre, inputs.coins.map { $0! })
    }

    /// The stages inside the gate, then store and publish (queued for the group commit); answered
    /// once the commit holding its write has returned (GroupCommit.swift), outside the gate.
    nonisolated func admit(_ tx: Transaction, raw: [UInt8], receivedAt: Double?, maxFee: UInt64? = nil,
                           prechecked: Admission.Prechecked) async throws(Refusal) -> PoolEntry {
        let (entry, ticket) = try await gated(tx, raw: raw, receivedAt: receivedAt, maxFee: maxFee, prechecked: prechecked, asked: StageTimes.now())
        let left = StageTimes.now()
        defer { StageTimes.shared.record(.ackWait, since: left) }
        if let refusal = await acknowledgement(ticket) {
            await rejected(entry.txid, refusal, receivedAt: receivedAt)
            throw refusal
        }
        return entry
    }

    /// `admit`'s part on the actor: the gated stages, its write queued; the wait for the commit
    /// is off the actor (`acknowledgement`), so its answer leaves without queueing for the actor.
    private func gated(_ tx: Transaction, raw: [UInt8], receivedAt: Double?, maxFee: UInt64?, prechecked: Admission.Prechecked,
                       asked: Double) async throws(Refusal) -> (PoolEntry, UInt64) {
        let times = StageTimes.shared
        return try await exclusively { () async throws(Refusal) -> (PoolEntry, UInt64) in
            let entered = StageTimes.now()
            times.record(.gateWait, entered - asked)
            defer { times.record(.gateHold, since: entered) }
            return try await submitNow(tx, raw: raw, receivedAt: receivedAt, maxFee: maxFee, prechecked: prechecked)
        }
    }

    /// A batch's stages inside the gate (`admit` for each), in one pass of the gate, then every
    /// acknowledgement awaited (off the actor, in one wait); answered in order.
    nonisolated func admit(batch: [Admission.Gated]) async -> [Result<PoolEntry, Refusal>] {
        let times = StageTimes.shared
        let taken = await gatePass(batch, asked: StageTimes.now())
        let left = StageTimes.now()
        // One wait for every admitted one's commit (resumed once), each answered by its own commit.
        let tickets = taken.compactMap { t -> UInt64? in if case let .success((_, ticket)) = t { ticket } else { nil } }
        var outcomes = await acknowledgements(tickets).makeIterator()
        let waited = StageTimes.now() - left
        var out = [Result<PoolEntry, Refusal>]()
        out.reserveCapacity(batch.count)
        for (b, t) in zip(batch, taken) {
            switch t {
            case let .failure(refusal): out.append(.failure(refusal))
            case let .success((entry, _)):
                if let refusal = outcomes.next()! {
                    await rejected(entry.txid, refusal, receivedAt: b.receivedAt)
                    out.append(.failure(refusal))
                } else {
                    out.append(.success(entry))
                }
                times.record(.ackWait, waited)
            }
        }
        return out
    }

    /// A batch's one pass of the gate: each taken (with the ticket of its write) or refused, in order.
    private func gatePass(_ batch: [Admission.Gated], asked: Double) async -> [Result<(PoolEntry, UInt64), Refusal>] {
        let times = StageTimes.shared
        var taken = [Result<(PoolEntry, UInt64), Refusal>]()
        taken.reserveCapacity(batch.count)
        await exclusively {
            times.record(.gateWait, StageTimes.now() - asked)
            // (the summary that `info()` reads set once, after the batch)
            beginSummaryHold()
            defer { endSummaryHold() }
            for b in batch {
                let entered = StageTimes.now()
                do throws(Refusal) {
                    taken.append(.success(try await submitNow(b.tx, txid: b.txid, raw: b.raw, receivedAt: b.receivedAt, maxFee: b.maxFee,
                                                              prechecked: b.prechecked)))
                } catch {
                    taken.append(.failure(error))
                }
                times.record(.gateHold, since: entered)
            }
        }
        return taken
    }

    private func submitNow(_ tx: Transaction, txid: Hash256? = nil, raw: [UInt8], receivedAt: Double?, maxFee: UInt64?,
                           prechecked: Admission.Prechecked) async throws(Refusal) -> (PoolEntry, UInt64) {
        let txid = txid ?? tx.txid
        let now = ServiceSupport.now()
        do {
            try checkWriterRoom()
            let (entry, plan) = try await check(tx, txid: txid, raw: raw, time: now, replacing: true, maxFee: maxFee, prechecked: prechecked)
            return (entry, take(entry, replacing: plan, receivedAt: receivedAt, acknowledged: true)!)
        } catch let refusal {
            await rejected(txid, refusal, receivedAt: receivedAt)
            throw refusal
        }
    }

    /// A refused submission's trace rows (its `received` row, when it has one, is not written with an entry).
    private func rejected(_ txid: Hash256, _ refusal: Refusal, receivedAt: Double?) async {
        if let receivedAt { await persistTrace(TraceEvent(id: txid.hex, kind: .tx, stage: .received, service: .edge, time: receivedAt, detail: "POST /api/tx")) }
        await record(txid, .rejected, detail: "\(refusal.code): \(refusal.message)")
    }

    /// `testtx` (JSON-RPC testmempoolaccept): the same checks as a submission (replacement included),
    /// against the pool as it is, through the same gate; nothing is stored, published or traced.
    func test(hex: String, maxFee: UInt64? = nil) async throws(Refusal) -> PoolEntry {
        let (tx, raw) = try Admission.decode(hex: hex, policy: policy)
        return try await exclusively { () async throws(Refusal) -> PoolEntry in
            try await check(tx, txid: tx.txid, raw: raw, time: ServiceSupport.now(), replacing: true, maxFee: maxFee).0
        }
    }

    /// The checks for re-admission (reload, revalidation): a conflict is refused, never a replacement.
    func accept(_ tx: Transaction, txid: Hash256, raw: [UInt8], time: Double) async throws(Refusal) -> PoolEntry {
        try await check(tx, txid: txid, raw: raw, time: time, replacing: false).0
    }

    /// The stages after decoding, in order; adds nothing (except making room in a full pool). With
    /// `replacing`, a conflict is a replacement allowed by `ReplacementPolicy.plan`'s rules, and
    /// what the transaction would replace is returned; without, a conflict is refused. Runs inside
    /// the gate; `prechecked` is what the stages before it found, used only where still true. A fee
    /// above `maxFee` is refused once the transaction's own rules, the replacement rules and its
    /// signatures have passed (Core checks it after a test acceptance, so those refusals come
    /// first), before the re-checks and before the pool makes room for it (so nothing is evicted
    /// for a transaction then refused).
    private func check(_ tx: Transaction, txid: Hash256, raw: [UInt8], time: Double, replacing: Bool, maxFee: UInt64? = nil,
                       prechecked: Admission.Prechecked = Admission.Prechecked()) async throws(Refusal) -> (PoolEntry, Replacement?) {
        if !prechecked.contextFree { try Admission.checkContextFree(tx, raw: raw, policy: policy) }
        try Admission.checkNotInPool(txid, in: graph)
        if !replacing { try ReplacementPolicy.refuseConflicts(tx, in: graph) }
        if replacing, follower.touchesReturning(tx, txid: txid) {
            throw Refusal(code: Policy.Reason.busy.rawValue, message: "a reorg is being applied and this transaction touches one that is coming back from a disconnected block; retry shortly")
        }
        let (spent, parents, tipNow) = try await lookUpCoins(tx, txid: txid, prechecked: prechecked)
        let fee = try Admission.checkInputs(tx, spent: spent, tipHeight: tipNow.height, params: params)
        try Admission.checkAncestors(parents, in: graph, policy: policy)
        try Admission.checkFeeRate(fee: fee, size: raw.count, policy: policy)
        if replacing {
            _ = try ReplacementPolicy.plan(tx, fee: fee, size: raw.count, parents: parents, in: graph, policy: policy)
        }
        try await verifySignatures(tx, spent: spent, verdict: prechecked.signatures)
        if let maxFee { try Admission.checkMaxFee(fee: fee, size: raw.count, maxFee: maxFee) }
        return try await recheck(PoolEntry(tx: tx, txid: txid, raw: raw, fee: fee, spent: spent, time: time, parents: parents),
                                 replacing: replacing)
    }

    /// Stage 5 inside the gate: the verdict reached before the gate when it was reached with the
    /// very outputs spent now; otherwise (none, or the coins changed while it waited) verified
    /// again here, off the actor.
    private func verifySignatures(_ tx: Transaction, spent: [Coin], verdict: Admission.SignatureVerdict?) async throws(Refusal) {
        if let verdict, verdict.spent == spent.map(\.output) {
            signaturesReused += 1
            try Admission.refuse(verdict)
            return
        }
        signaturesVerifiedInGate += 1
        try Admission.refuse(await Admission.verdict(tx, spent: spent, params: params))
    }

    /// Stage 3: the coins `tx` spends, from pool parents, else from the coin view, else from the
    /// answer the chain store gave before the gate (if no block event came since), else from the
    /// chain store (its answer kept in the view); and the tip they were judged against. Refuses what
    /// spends a missing or spent coin (or is already mined).
    private func lookUpCoins(_ tx: Transaction, txid: Hash256, prechecked: Admission.Prechecked) async throws(Refusal) -> (spent: [Coin], parents: Set<Hash256>, tip: ChainTip) {
        var inputs = try Admission.poolInputs(tx, in: graph)
        let tipNow: ChainTip
        let (known, unknown) = coinView.lookup(inputs.missing)
        do {
            var found = known
            // (with the view disabled, asked even when empty, as before the view existed)
            if !unknown.isEmpty || !coinView.enabled {
                let asked: [OutPoint: Coin]
                if let answered = prechecked.coins(for: unknown, generation: coinView.generation) {
                    asked = answered
                } else {
                    asked = try await chain.coins(unknown)
                    coinView.remember(asked)
                }
                found.merge(asked) { _, new in new }
            }
            for (i, input) in tx.inputs.enumerated() where inputs.coins[i] == nil {
                inputs.coins[i] = found[input.previousOutput]
            }
            tipNow = try await currentTip()
        } catch {
            throw Refusal(code: MempoolRefusal.chainUnavailable.rawValue, message: "the chain store did not answer: \(error)")
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
        // Eviction changed the pool (each removal is queued for the writer): the plan must still hold.
        if replacing, plan != nil {
            plan = try ReplacementPolicy.plan(tx, fee: entry.fee, size: entry.size, parents: entry.parents, in: graph, policy: policy)
        }
        return (entry, plan)
    }
}
