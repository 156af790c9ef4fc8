import ChainCore
import Foundation
import HeapModule

/// One transaction in the pool.
///
/// What admission fixed (the transaction, its bytes, fee, spent coins, time) lives in one shared
/// immutable `Body`, so a copy of an entry (every dictionary read of the graph makes one) retains
/// three references, not seven: block assembly reads thousands of entries a template.
struct PoolEntry: Sendable {
    final class Body: Sendable {
        let tx: Transaction
        let txid: Hash256
        let raw: [UInt8]
        let fee: Amount
        let spent: [Coin]
        let time: Double
        let feeRate: Double

        init(tx: Transaction, txid: Hash256, raw: [UInt8], fee: Amount, spent: [Coin], time: Double) {
            self.tx = tx; self.txid = txid; self.raw = raw; self.fee = fee; self.spent = spent; self.time = time
            feeRate = Double(fee) / Double(max(raw.count, 1))
        }
    }

    let body: Body
    /// Unconfirmed parents (in the pool).
    var parents: Set<Hash256>
    var children: Set<Hash256> = []

    /// Set by the graph when it takes the entry in (each insertion its own number): tells the
    /// entry's place in the fee-rate index from a stale one of an earlier insertion of the same txid.
    var serial: UInt64 = 0

    init(tx: Transaction, txid: Hash256, raw: [UInt8], fee: Amount, spent: [Coin], time: Double, parents: Set<Hash256>) {
        body = Body(tx: tx, txid: txid, raw: raw, fee: fee, spent: spent, time: time)
        self.parents = parents
    }

    var tx: Transaction { body.tx }
    var txid: Hash256 { body.txid }
    var raw: [UInt8] { body.raw }
    var fee: Amount { body.fee }
    /// The coins its inputs spend, in input order.
    var spent: [Coin] { body.spent }
    var time: Double { body.time }
    var size: Int { body.raw.count }
    var feeRate: Double { body.feeRate }
    /// Its place in fee-rate order (`FeeOrder`).
    var order: FeeOrder { FeeOrder(feeRate: body.feeRate, time: body.time, txid: body.txid, serial: serial) }
}

/// The pool's one fee-rate order, a total order: the highest fee rate first, then the oldest,
/// then the lowest txid (so two entries never tie, and block assembly's choice does not depend on
/// a dictionary's order). `serial` takes no part in the order: it ties a key to one insertion.
struct FeeOrder: Comparable, Sendable {
    let feeRate: Double
    let time: Double
    let txid: Hash256
    let serial: UInt64

    static func < (a: FeeOrder, b: FeeOrder) -> Bool {
        if a.feeRate != b.feeRate { return a.feeRate > b.feeRate }
        if a.time != b.time { return a.time < b.time }
        return a.txid < b.txid
    }

    static func == (a: FeeOrder, b: FeeOrder) -> Bool {
        a.feeRate == b.feeRate && a.time == b.time && a.txid == b.txid
    }
}

/// The pool's transactions as a graph (btcd's `mempool.TxPool` pool/outpoints maps, Bitcoin Core's
/// `CTxMemPool` links): the entries, their parent/child links, which pool transaction spends each
/// outpoint, and the byte total. A plain value: no I/O, no awaits; the `Pool` actor owns one and
/// changes it only behind its gate. Copying it is cheap (copy-on-write), so block assembly and the
/// queries read a copy while the pool goes on.
///
/// Kept up to date on every change, so that no admission, sample or template walks the whole pool
/// (issue 11, how cost grows with work): the totals (bytes, fees, the fee-rate histogram, the
/// entries' sizes) and a fee-rate index (`order`: a min-max heap of `FeeOrder` keys, swift-collections'
/// `Heap`) with its best at one end (block assembly reads it from there, `inFeeRateOrder`) and its
/// lowest at the other (eviction, `lowestFeeRate`). A removal leaves its key in the heap, stale (its
/// serial no longer that of a live entry) and skipped where read; the heap is rebuilt from the
/// entries once stale keys outnumber live ones, so its size stays within twice the pool's.
struct PoolGraph: Sendable {
    private(set) var entries: [Hash256: PoolEntry] = [:]
    /// Outpoint → the pool transaction spending it.
    private(set) var spends: [OutPoint: Hash256] = [:]
    /// Sum of the entries' sizes.
    private(set) var bytes = 0
    /// Sum of the entries' fees.
    private(set) var totalFee: Amount = 0
    /// Bytes per fee-rate bucket (power-of-two rates, 0 for below 1 unit per byte; `getmempoolinfo`'s histogram).
    private(set) var feeRateBuckets: [Double: Int] = [:]
    /// How many entries have each size (the smallest bounds what still fits in a block).
    private var sizeCounts: [Int: Int] = [:]
    /// The fee-rate index: one key per live entry, and stale keys of removed ones.
    private(set) var order = Heap<FeeOrder>()
    private var nextSerial: UInt64 = 0

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    /// The smallest entry's size (nil when empty).
    var minSize: Int? { sizeCounts.keys.min() }

    /// The bucket of `getmempoolinfo`'s fee-rate histogram a fee rate falls in.
    static func bucket(_ rate: Double) -> Double { rate < 1 ? 0 : pow(2, floor(log2(rate))) }

    subscript(_ txid: Hash256) -> PoolEntry? { entries[txid] }
    func contains(_ txid: Hash256) -> Bool { entries[txid] != nil }
    /// The pool transaction spending `outpoint`, if any.
    func spender(of outpoint: OutPoint) -> Hash256? { spends[outpoint] }

    // MARK: changes (memory only)

    /// Adds the entry and its links: its parents are those of `e.parents` in the graph (the others
    /// are confirmed), its children none yet, and each outpoint it spends is indexed.
    mutating func insert(_ e: PoolEntry) {
        if entries[e.txid] != nil { remove(e.txid) }
        var e = e
        e.children = []
        e.parents = e.parents.filter { entries[$0] != nil }
        nextSerial += 1
        e.serial = nextSerial
        entries[e.txid] = e
        for input in e.tx.inputs { spends[input.previousOutput] = e.txid }
        for p in e.parents { entries[p]?.children.insert(e.txid) }
        bytes += e.size
        totalFee += e.fee
        feeRateBuckets[Self.bucket(e.feeRate), default: 0] += e.size
        sizeCounts[e.size, default: 0] += 1
        order.insert(e.order)
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
        totalFee -= e.fee
        let bucket = Self.bucket(e.feeRate)
        if let b = feeRateBuckets[bucket], b > e.size { feeRateBuckets[bucket] = b - e.size } else { feeRateBuckets[bucket] = nil }
        if let n = sizeCounts[e.size], n > 1 { sizeCounts[e.size] = n - 1 } else { sizeCounts[e.size] = nil }
        // Its key stays in the index, stale; rebuilt once the stale keys outnumber the live ones.
        if order.count > 2 * entries.count + 1_024 { order = Heap(entries.values.map(\.order)) }
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
        totalFee = 0
        feeRateBuckets = [:]
        sizeCounts = [:]
        order = Heap()
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

    /// Whether `key` is the key of a live entry (not one left by a removal).
    func isLive(_ key: FeeOrder) -> Bool { entries[key.txid]?.serial == key.serial }

    /// The entry last in fee-rate order (the lowest fee rate; of those, the newest), leaving out
    /// `excluded`. Drops the stale keys it meets at the index's low end; O(log n) for each key it
    /// passes (stale or excluded), not a walk of the pool.
    mutating func lowestFeeRate(excluding excluded: Set<Hash256> = []) -> PoolEntry? {
        var setAside = [FeeOrder]()
        defer { for k in setAside { order.insert(k) } }
        while let k = order.max {
            guard let e = entries[k.txid], e.serial == k.serial else {
                _ = order.popMax()
                continue
            }
            guard !excluded.contains(k.txid) else {
                setAside.append(order.removeMax())
                continue
            }
            return e
        }
        return nil
    }

    /// The entries one at a time in fee-rate order, best first, read from a copy of the index
    /// (O(log n) each): block assembly reads only as far as a block goes.
    func inFeeRateOrder() -> FeeRateCursor { FeeRateCursor(heap: order, entries: entries) }

    struct FeeRateCursor: IteratorProtocol, Sequence {
        var heap: Heap<FeeOrder>
        let entries: [Hash256: PoolEntry]

        mutating func next() -> PoolEntry? {
            while let k = heap.popMin() {
                if let e = entries[k.txid], e.serial == k.serial { return e }
            }
            return nil
        }
    }

    /// The entries in fee-rate order, best first (all of them: O(n log n)).
    func byFeeRate() -> [PoolEntry] { Array(inFeeRateOrder()) }

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
        let fees = entries.values.reduce(Amount(0)) { $0 + $1.fee }
        if fees != totalFee { problem("fee total \(totalFee), entries add up to \(fees)") }
        let live = order.unordered.filter(isLive)
        if live.count != entries.count || Set(live.map(\.txid)).count != entries.count {
            problem("the fee-rate index holds \(live.count) live keys for \(entries.count) entries")
        }
        for (op, txid) in spends where entries[txid] == nil { problem("\(op) is marked spent by \(txid.hex), which is not in the pool") }
        return (problems, fromChain)
    }
}
