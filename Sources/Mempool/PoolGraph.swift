import ChainCore

/// One transaction in the pool.
struct PoolEntry: Sendable {
    let tx: Transaction
    let txid: Hash256
    let raw: [UInt8]
    let fee: Amount
    /// The coins its inputs spend, in input order.
    let spent: [Coin]
    let time: Double
    /// Unconfirmed parents (in the pool).
    var parents: Set<Hash256>
    var children: Set<Hash256> = []

    var size: Int { raw.count }
    var feeRate: Double { Double(fee) / Double(max(size, 1)) }
}

/// The pool's transactions as a graph (btcd's `mempool.TxPool` pool/outpoints maps, Bitcoin Core's
/// `CTxMemPool` links): the entries, their parent/child links, which pool transaction spends each
/// outpoint, and the byte total. A plain value: no I/O, no awaits; the `Pool` actor owns one and
/// changes it only behind its gate. Copying it is cheap (copy-on-write), so block assembly and the
/// queries read a copy while the pool goes on.
struct PoolGraph: Sendable {
    private(set) var entries: [Hash256: PoolEntry] = [:]
    /// Outpoint → the pool transaction spending it.
    private(set) var spends: [OutPoint: Hash256] = [:]
    /// Sum of the entries' sizes.
    private(set) var bytes = 0

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    var totalFee: Amount { entries.values.reduce(0) { $0 + $1.fee } }

    subscript(_ txid: Hash256) -> PoolEntry? { entries[txid] }
    func contains(_ txid: Hash256) -> Bool { entries[txid] != nil }
    /// The pool transaction spending `outpoint`, if any.
    func spender(of outpoint: OutPoint) -> Hash256? { spends[outpoint] }

    // MARK: changes (memory only)

    /// Adds the entry and its links: its parents are those of `e.parents` in the graph (the others
    /// are confirmed), its children none yet, and each outpoint it spends is indexed.
    mutating func insert(_ e: PoolEntry) {
        var e = e
        e.children = []
        e.parents = e.parents.filter { entries[$0] != nil }
        entries[e.txid] = e
        for input in e.tx.inputs { spends[input.previousOutput] = e.txid }
        for p in e.parents { entries[p]?.children.insert(e.txid) }
        bytes += e.size
    }

    /// Takes the entry and its links out; nil if it was not there. Its children stay, without
    /// this parent.
    @discardableResult
    mutating func remove(_ t: Hash256) -> PoolEntry? {
        guard let e = entries.removeValue(forKey: t) else { return nil }
        for input in e.tx.inputs where spends[input.previousOutput] == t { spends[input.previousOutput] = nil }
        for p in e.parents { entries[p]?.children.remove(t) }
        for c in e.children { entries[c]?.parents.remove(t) }
        bytes -= e.size
        return e
    }

    /// `t` was confirmed (a block holds it): its children keep their place, now with a confirmed
    /// parent, and `t` has no children any more.
    mutating func confirm(_ t: Hash256) {
        guard var e = entries[t] else { return }
        e.children.forEach { entries[$0]?.parents.remove(t) }
        e.children = []
        entries[t] = e
    }

    /// Empties the graph (revalidation rebuilds it).
    mutating func removeAll() {
        entries = [:]
        spends = [:]
        bytes = 0
    }

    // MARK: walks

    /// The pool transactions `tx` conflicts with directly (spending a coin one of them spends), in
    /// input order, each once.
    func conflicts(of tx: Transaction) -> [Hash256] {
        var direct = [Hash256]()
        for input in tx.inputs {
            if let other = spends[input.previousOutput], !direct.contains(other) { direct.append(other) }
        }
        return direct
    }

    /// `parents` and all their unconfirmed ancestors in the graph (those not in the graph are skipped).
    func ancestors(of parents: Set<Hash256>) -> Set<Hash256> {
        var seen = Set<Hash256>()
        var stack = Array(parents)
        while let p = stack.popLast() {
            guard seen.insert(p).inserted, let e = entries[p] else { continue }
            stack.append(contentsOf: e.parents)
        }
        return seen
    }

    /// How many unconfirmed ancestors a transaction with these parents has (`parents` counted, as
    /// named even when absent: the admission counts what it found in the pool).
    func ancestorCount(of parents: Set<Hash256>) -> Int { ancestors(of: parents).count }

    /// `txid` and all its descendants, `txid` first, each once (depth first).
    func descendants(of txid: Hash256) -> [Hash256] {
        var out = [Hash256]()
        var seen = Set<Hash256>()
        var stack = [txid]
        while let t = stack.popLast() {
            guard seen.insert(t).inserted else { continue }
            out.append(t)
            stack.append(contentsOf: entries[t]?.children ?? [])
        }
        return out
    }

    // MARK: fee-rate order

    /// The entry with the lowest fee rate, leaving out `excluded`.
    func lowestFeeRate(excluding excluded: Set<Hash256> = []) -> PoolEntry? {
        entries.values.filter { !excluded.contains($0.txid) }.min { $0.feeRate < $1.feeRate }
    }

    /// The entries, highest fee rate first.
    func byFeeRate() -> [PoolEntry] { entries.values.sorted { $0.feeRate > $1.feeRate } }

    /// The entries, oldest first.
    func byTime() -> [PoolEntry] { entries.values.sorted { $0.time < $1.time } }

    // MARK: consistency

    /// What is wrong with the links, the spend index and the byte count (at most `limit`
    /// problems), and the outpoints the entries spend from the chain (to be checked against it).
    func consistency(limit: Int = 50) -> (problems: [String], fromChain: [OutPoint]) {
        var problems = [String]()
        func problem(_ p: String) { if problems.count < limit { problems.append(p) } }
        var total = 0
        var fromChain = [OutPoint]()
        for (txid, e) in entries {
            total += e.size
            if e.tx.txid != txid { problem("\(txid.hex): stored under the wrong txid") }
            for input in e.tx.inputs {
                if spends[input.previousOutput] != txid { problem("\(txid.hex): spend of \(input.previousOutput) not indexed") }
                if let parent = entries[input.previousOutput.txid] {
                    if !e.parents.contains(parent.txid) { problem("\(txid.hex): parent \(parent.txid.hex) not linked") }
                    if Int(input.previousOutput.index) >= parent.tx.outputs.count { problem("\(txid.hex): spends a missing output of its parent") }
                } else {
                    fromChain.append(input.previousOutput)
                }
            }
            for p in e.parents where entries[p]?.children.contains(txid) != true { problem("\(txid.hex): parent \(p.hex) does not list it as a child") }
            for c in e.children where entries[c]?.parents.contains(txid) != true { problem("\(txid.hex): child \(c.hex) does not list it as a parent") }
        }
        if total != bytes { problem("byte count \(bytes), entries add up to \(total)") }
        for (op, txid) in spends where entries[txid] == nil { problem("\(op) is marked spent by \(txid.hex), which is not in the pool") }
        return (problems, fromChain)
    }
}
