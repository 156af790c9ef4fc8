import ChainCore
import Foundation
import NodeKit

/// What a replacement evicts: the pool transactions it conflicts with directly, and all their
/// descendants (which would spend coins that no longer exist).
struct Replacement: Sendable {
    let direct: [Hash256]
    /// The direct conflicts and their descendants, each once.
    let evicted: [PoolEntry]
    let fees: Amount

    /// The trace event of a transaction this replacement evicted: who replaced it, and for what fee.
    func replacedEvent(_ old: PoolEntry, by new: PoolEntry) -> TraceEvent {
        let how = direct.contains(old.txid)
            ? "fee \(old.fee) → \(new.fee) units, \(String(format: "%.2f", old.feeRate)) → \(String(format: "%.2f", new.feeRate)) units/byte"
            : "a descendant of a replaced transaction"
        return TraceEvent(id: old.txid.hex, kind: .tx, stage: .replaced, service: .mempool, time: new.time,
                          detail: "replaced by \(new.txid.hex) (\(how))")
    }
}

/// Replacement, full-RBF as Bitcoin Core's default since v28 (no opt-in signal, BIP-125's rules
/// otherwise; Core's `MemPoolAccept::ReplacementChecks` in its order, `policy/rbf.cpp`): pure
/// functions over the pool's graph, no I/O.
enum ReplacementPolicy {
    /// A transaction that spends a coin a pool transaction already spends replaces that transaction
    /// and all its descendants when:
    /// - its fee rate is above each directly conflicting transaction's (rule 6);
    /// - it evicts at most `maxReplacements` transactions in all (rule 5);
    /// - each unconfirmed coin it spends was already spent by one of the conflicts, from the same
    ///   parent (rule 2): it adds no new unconfirmed ancestor;
    /// - it spends no output of a transaction it replaces;
    /// - it pays at least the evicted fees (rule 3) plus `incrementalFeeRate` × its own size (rule 4).
    /// `parents`: its unconfirmed parents (in the graph). Returns nil when it conflicts with nothing.
    static func plan(_ tx: Transaction, fee: Amount, size: Int, parents: Set<Hash256>,
                     in graph: PoolGraph, policy: Policy) throws(Pool.Refusal) -> Replacement? {
        let direct = graph.conflicts(of: tx)
        guard !direct.isEmpty else { return nil }
        let conflicts = direct.compactMap { graph[$0] }
        let rate = Double(fee) / Double(max(size, 1))
        func f(_ r: Double) -> String { String(format: "%.2f", r) }
        for c in conflicts where rate <= c.feeRate {
            throw Pool.Refusal(code: Policy.Reason.insufficientFee.rawValue,
                               message: "replacement fee rate \(f(rate)) units/byte is not above \(f(c.feeRate)) of \(c.txid.hex), which it replaces")
        }
        var evicted = [PoolEntry]()
        var seen = Set<Hash256>()
        for d in direct {
            for t in graph.descendants(of: d) where seen.insert(t).inserted {
                if let e = graph[t] { evicted.append(e) }
            }
            if evicted.count > policy.maxReplacements { break }
        }
        guard evicted.count <= policy.maxReplacements else {
            throw Pool.Refusal(code: Policy.Reason.tooManyReplacements.rawValue,
                               message: "it would replace more than \(policy.maxReplacements) transactions (\(direct.count) in conflict and their descendants)")
        }
        let parentsOfConflicts = Set(conflicts.flatMap { $0.tx.inputs.map(\.previousOutput.txid) })
        for p in parents.sorted(by: { $0.hex < $1.hex }) where !parentsOfConflicts.contains(p) && !seen.contains(p) {
            throw Pool.Refusal(code: Policy.Reason.addsUnconfirmed.rawValue,
                               message: "it spends an output of the unconfirmed \(p.hex), which none of the transactions it replaces spends")
        }
        if let p = parents.first(where: seen.contains) {
            throw Pool.Refusal(code: Policy.Reason.spendsConflicting.rawValue,
                               message: "it spends an output of \(p.hex), which it would replace")
        }
        let fees = evicted.reduce(Amount(0)) { $0 + $1.fee }
        guard fee >= fees else {
            throw Pool.Refusal(code: Policy.Reason.insufficientFee.rawValue,
                               message: "replacement fee \(fee) units is less than the \(fees) units of the \(evicted.count) transactions it replaces")
        }
        let relay = Amount((policy.incrementalFeeRate * Double(size)).rounded(.up))
        guard fee - fees >= relay else {
            throw Pool.Refusal(code: Policy.Reason.insufficientFee.rawValue,
                               message: "replacement pays \(fee - fees) units more than the \(fees) it replaces; its relay needs at least \(relay) more (\(policy.incrementalFeeRate) units/byte × \(size) bytes): a fee of \(fees + relay)")
        }
        return Replacement(direct: direct, evicted: evicted, fees: fees)
    }

    /// Re-admission (reload, revalidation) never replaces: any conflict is refused.
    static func refuseConflicts(_ tx: Transaction, in graph: PoolGraph) throws(Pool.Refusal) {
        for input in tx.inputs {
            if let other = graph.spender(of: input.previousOutput) {
                throw Pool.Refusal(code: Policy.Reason.conflict.rawValue, message: "\(input.previousOutput) is already spent by \(other.hex) in the mempool")
            }
        }
    }
}
