import ChainCore
import Foundation
import HeapModule
import NodeKit

/// What block assembly reads from the pool (btcd's `mining.TxSource`): one consistent snapshot,
/// and a word back about what went into a template. The pool conforms (Pool.swift); block
/// assembly knows nothing else of it.
protocol TxSource: Sendable {
    /// Block assembly's choice from the pool's transactions, its mempool sequence and the chain tip
    /// they were checked against, read together.
    func miningSnapshot() async throws -> MiningSnapshot
    /// These transactions went into a template for `height` asked by `minerID` (the pool traces
    /// the first time of each).
    func didTemplate(_ txids: [Hash256], height: Int, minerID: String) async
    /// A cheap read of what the choice depends on: while it is equal, a template made earlier is
    /// still the one to give. nil: not known (every template is made afresh).
    func templateState() async throws -> TemplateState?
}

extension TxSource {
    func templateState() async throws -> TemplateState? { nil }
}

/// What a template depends on in a `TxSource`: any change of the pool's transactions or links
/// moves `changes`; a new tip changes `tipHash`.
struct TemplateState: Sendable, Equatable {
    let changes: UInt64
    let tipHash: String
}

/// What a template is made of: the transactions chosen (`BlockAssembler.select`, in block order)
/// and their fees, with the sequence and tip of the pool they were chosen from. The choice is made
/// where the graph is, at once (`init(graph:…)`), so no copy of the graph outlives the call: a copy
/// still held while the pool changes would make the pool copy its whole graph (copy-on-write, O(n)
/// per template); the choice itself reads the fee-rate index only as far as a block goes.
struct MiningSnapshot: Sendable {
    let chosen: [PoolEntry]
    let fees: Amount
    let sequence: UInt64
    let tip: ChainTip

    init(graph: PoolGraph, sequence: UInt64, tip: ChainTip) {
        (chosen, fees) = BlockAssembler.select(graph)
        self.sequence = sequence
        self.tip = tip
    }
}

/// Block assembly (btcd's `mining/`): which pool entries go into a template, chosen from a
/// snapshot of the pool's entries, with no access to the pool itself. Highest fee rate first, a
/// child only once all its parents are in, up to the block size limit.
///
/// The rule, as first written (and kept, output for output: `BlockAssemblerTests` checks the two
/// agree on random graphs): sweeps over the candidates in fee-rate order (`FeeOrder`), each taking
/// every candidate whose parents are all in and that fits (one whose parents are in but does not
/// fit is dropped; one whose parents are not all in waits for the next sweep), until a sweep takes
/// nothing. Done here in one pass over the fee-rate order, read as far as it is needed, with a heap
/// of the children that became ready behind it: each entry is taken or dropped at its turn, that is
/// at (the sweep it would be reached in ready, its place in the order), and the sweep is its last
/// parent's, or the next one when the child comes before that parent in the order. Reading stops as
/// soon as the room left is below the smallest entry's size: nothing more can fit. So a template
/// costs O(k log n) for the k entries read, not sorts and sweeps of the whole pool.
enum BlockAssembler {
    /// Room kept for the header, the transaction count and the coinbase.
    static let reserved = BlockHeader.size + 9 + 1_000

    /// The selection from a pool graph, read through its fee-rate index.
    static func select(_ graph: PoolGraph, maxBlockSize: Int = Limits.maxBlockSize) -> (chosen: [PoolEntry], fees: Amount) {
        var cursor = graph.inFeeRateOrder()
        return select(next: { cursor.next() }, entry: { graph[$0] }, children: { $0.children },
                      minSize: graph.minSize ?? 0, maxBlockSize: maxBlockSize, candidates: graph.count)
    }

    /// The selection from any entries (their `parents` say the links; `children` are not read).
    static func select(_ entries: some Collection<PoolEntry>, maxBlockSize: Int = Limits.maxBlockSize,
                       confirmed: Set<Hash256> = []) -> (chosen: [PoolEntry], fees: Amount) {
        var byID = [Hash256: PoolEntry](minimumCapacity: entries.count)
        var children = [Hash256: [Hash256]]()
        for e in entries {
            byID[e.txid] = e
            for p in e.parents { children[p, default: []].append(e.txid) }
        }
        var sorted = entries.sorted { $0.order < $1.order }.makeIterator()
        return select(next: { sorted.next() }, entry: { byID[$0] }, children: { children[$0.txid] ?? [] },
                      minSize: entries.lazy.map(\.size).min() ?? 0, maxBlockSize: maxBlockSize, confirmed: confirmed,
                      candidates: entries.count)
    }

    /// A child made ready behind the reading: taken or dropped at its turn (sweep, place in the order).
    private struct Ready: Comparable {
        let sweep: Int
        let key: FeeOrder
        static func < (a: Ready, b: Ready) -> Bool { a.sweep != b.sweep ? a.sweep < b.sweep : a.key < b.key }
        static func == (a: Ready, b: Ready) -> Bool { a.sweep == b.sweep && a.key == b.key }
    }

    /// The one pass. `next`: the candidates in fee-rate order; `entry`, `children` (an entry's): the links;
    /// `minSize`: at most the smallest candidate's size; `confirmed`: parents counted as in already
    /// (an earlier projected block), never candidates themselves; `candidates`: at least how many
    /// `next` gives (room is made for no more).
    static func select<Children: Sequence<Hash256>>(next: () -> PoolEntry?, entry: (Hash256) -> PoolEntry?, children: (PoolEntry) -> Children,
                                                    minSize: Int, maxBlockSize: Int, confirmed: Set<Hash256> = [],
                                                    candidates: Int = 1 << 16) -> (chosen: [PoolEntry], fees: Amount) {
        // At most a block's worth of the smallest entries is chosen, and no more than the
        // candidates: room for that many up front, so the set is not grown (and every key hashed
        // again) several times on the way, nor made a block's size for a pool of a few.
        let most = minSize > 0 ? min(max(0, maxBlockSize - reserved) / minSize + 1, candidates, 1 << 16) : 0
        var chosen = [PoolEntry]()
        chosen.reserveCapacity(most)
        var included = Set<Hash256>(minimumCapacity: most)
        var size = reserved
        var fees: Amount = 0
        var later = Heap<Ready>()
        /// Read in the first sweep while a parent was not in yet (a child before its parent in the
        /// order): the only children a first-sweep turn has to look at, as every other child is
        /// still ahead of the reading, which meets it (ready or not then).
        var waiting = Set<Hash256>()
        let noneConfirmed = confirmed.isEmpty
        func isIn(_ t: Hash256) -> Bool { included.contains(t) || (!noneConfirmed && confirmed.contains(t)) }
        func full() -> Bool { maxBlockSize - size < max(minSize, 1) }
        /// `e` at its turn in sweep `sweep`, all its parents in: taken if it fits, else dropped.
        func turn(_ e: PoolEntry, sweep: Int) {
            guard size + e.size <= maxBlockSize else { return }
            chosen.append(e)
            included.insert(e.txid)
            size += e.size
            fees += e.fee
            if sweep == 1 && waiting.isEmpty { return }
            let key = e.order
            for c in children(e) {
                if sweep == 1 && !waiting.contains(c) { continue }
                guard !isIn(c), let child = entry(c) else { continue }
                let childKey = child.order
                let behind = key < childKey
                guard child.parents.allSatisfy(isIn) else { continue }
                later.insert(Ready(sweep: behind ? sweep : sweep + 1, key: childKey))
            }
        }
        // The first sweep: the order as read.
        while !full(), let e = next() {
            guard noneConfirmed || !confirmed.contains(e.txid) else { continue }
            guard e.parents.allSatisfy(isIn) else {
                waiting.insert(e.txid)
                continue
            }
            turn(e, sweep: 1)
        }
        // The later sweeps: the children made ready, each at its turn.
        while !full(), let r = later.popMin() {
            guard let e = entry(r.key.txid) else { continue }
            turn(e, sweep: r.sweep)
        }
        return (chosen, fees)
    }

    /// A chosen transaction as a template carries it: its raw hex and its txid's; and as the binary
    /// template carries it (`TemplateBinary.Item`: the entry's own bytes, not copied). A class: the
    /// generator's map and each template hold it by one reference, not three (a template copies it
    /// ~6,800 times).
    final class Encoded: Sendable {
        let raw: String
        let txid: String
        let item: TemplateBinary.Item
        init(_ e: PoolEntry) { raw = Hex.encode(e.raw); txid = e.txid.hex; item = TemplateBinary.Item(txid: e.txid, raw: e.raw) }
    }

    /// The template for the block after the snapshot's tip, under the learning mode's `pace`: when
    /// it holds this height (paused), nothing is picked. `now`: the clock, seconds since 1970.
    /// `encoded`: each chosen transaction's hex (by default encoded here; `TemplateGenerator` reuses
    /// the previous template's).
    static func template(from snapshot: MiningSnapshot, pace: MiningPace, params: ChainParams, now: UInt32,
                         encoded: (PoolEntry) -> Encoded = Encoded.init) -> (template: BlockTemplate, chosen: [PoolEntry]) {
        let t = snapshot.tip
        let height = t.height + 1
        let (chosen, fees) = pace.allows(height: height) ? (snapshot.chosen, snapshot.fees) : ([], 0)
        let hex = chosen.map(encoded)
        let template = BlockTemplate(height: height, previousHash: t.hash, bits: t.nextBits, time: max(now, t.medianTimePast + 1),
                                     minTime: t.medianTimePast + 1, coinbaseValue: params.subsidy(height: height) + fees, fees: fees,
                                     transactions: hex.map(\.raw), txids: hex.map(\.txid),
                                     mempoolSequence: snapshot.sequence, pace: pace, notBefore: pace.notBefore(tipTime: t.time),
                                     depends: depends(chosen))
        return (template, chosen)
    }

    /// Each chosen entry's parents in the template, as 1-based places in `chosen` (Bitcoin Core's
    /// getblocktemplate `depends`), ascending: from the pool's links, no transaction decoded. An
    /// entry's `parents` are its unconfirmed parents in the pool, and block assembly takes a child
    /// only once all of them are in, so every one of them has a place before it.
    static func depends(_ chosen: [PoolEntry]) -> [[Int]] {
        var place = [Hash256: Int](minimumCapacity: chosen.count)
        for (i, e) in chosen.enumerated() { place[e.txid] = i + 1 }
        return chosen.map { e in e.parents.isEmpty ? [] : e.parents.compactMap { place[$0] }.sorted() }
    }
}
