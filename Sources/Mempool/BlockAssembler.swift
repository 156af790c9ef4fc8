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
        return select(next: { cursor.next() }, entry: { graph[$0] }, children: { graph[$0]?.children ?? [] },
                      minSize: graph.minSize ?? 0, maxBlockSize: maxBlockSize)
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
        return select(next: { sorted.next() }, entry: { byID[$0] }, children: { children[$0] ?? [] },
                      minSize: entries.lazy.map(\.size).min() ?? 0, maxBlockSize: maxBlockSize, confirmed: confirmed)
    }

    /// A child made ready behind the reading: taken or dropped at its turn (sweep, place in the order).
    private struct Ready: Comparable {
        let sweep: Int
        let key: FeeOrder
        static func < (a: Ready, b: Ready) -> Bool { a.sweep != b.sweep ? a.sweep < b.sweep : a.key < b.key }
        static func == (a: Ready, b: Ready) -> Bool { a.sweep == b.sweep && a.key == b.key }
    }

    /// The one pass. `next`: the candidates in fee-rate order; `entry`, `children`: the links;
    /// `minSize`: at most the smallest candidate's size; `confirmed`: parents counted as in already
    /// (an earlier projected block), never candidates themselves.
    static func select<Children: Sequence<Hash256>>(next: () -> PoolEntry?, entry: (Hash256) -> PoolEntry?, children: (Hash256) -> Children,
                                                    minSize: Int, maxBlockSize: Int, confirmed: Set<Hash256> = []) -> (chosen: [PoolEntry], fees: Amount) {
        var chosen = [PoolEntry]()
        var included = Set<Hash256>()
        var size = reserved
        var fees: Amount = 0
        var later = Heap<Ready>()
        func isIn(_ t: Hash256) -> Bool { included.contains(t) || confirmed.contains(t) }
        func full() -> Bool { maxBlockSize - size < max(minSize, 1) }
        /// `e` at its turn in sweep `sweep`, all its parents in: taken if it fits, else dropped.
        func turn(_ e: PoolEntry, sweep: Int) {
            guard size + e.size <= maxBlockSize else { return }
            chosen.append(e)
            included.insert(e.txid)
            size += e.size
            fees += e.fee
            let key = e.order
            for c in children(e.txid) {
                guard !isIn(c), let child = entry(c), child.parents.allSatisfy(isIn) else { continue }
                let behind = key < child.order
                // In the first sweep a ready child after its parent is met by the reading itself.
                if sweep == 1 && behind { continue }
                later.insert(Ready(sweep: behind ? sweep : sweep + 1, key: child.order))
            }
        }
        // The first sweep: the order as read.
        while !full(), let e = next() {
            guard !confirmed.contains(e.txid), e.parents.allSatisfy(isIn) else { continue }
            turn(e, sweep: 1)
        }
        // The later sweeps: the children made ready, each at its turn.
        while !full(), let r = later.popMin() {
            guard let e = entry(r.key.txid) else { continue }
            turn(e, sweep: r.sweep)
        }
        return (chosen, fees)
    }

    /// A chosen transaction as a template carries it: its raw hex and its txid's.
    struct Encoded: Sendable {
        let raw: String
        let txid: String
        init(_ e: PoolEntry) { raw = Hex.encode(e.raw); txid = e.txid.hex }
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

/// Builds block templates from a `TxSource` (btcd's `mining.BlkTmplGenerator`), on its own
/// actor: the pool's actor hands over its choice (`MiningSnapshot`, a read of its fee-rate index
/// as far as a block goes), and the template (the hex, the word back, the miners) is made here. Keeps the miners that asked (`MinerRegistry`, for `getminers`).
actor TemplateGenerator {
    let source: any TxSource
    let params: ChainParams
    private var miners = MinerRegistry()
    /// The hex of the last template's transactions, by txid (a txid names its bytes): the next
    /// template, mostly the same transactions, reuses it rather than encode each again. Holds one
    /// block's worth at most.
    private var encoded: [Hash256: BlockAssembler.Encoded] = [:]
    /// The last template and what it was made from (the source's state and the pace): given again,
    /// with the time brought forward, while both are unchanged, so several miners asking after one
    /// notice cost one selection.
    private var last: (state: TemplateState, pace: MiningPace, template: BlockTemplate)?
    /// Templates made afresh and given again from `last` (`getstatus`-style counters, and tests).
    private(set) var made = 0
    private(set) var reused = 0

    init(source: any TxSource, params: ChainParams) {
        self.source = source
        self.params = params
    }

    /// The template being made, and what from: a request arriving meanwhile for the same state
    /// and pace waits for it rather than make its own (the node's miner and JSON-RPC miners ask
    /// after the same notice; the source's awaits let them in together).
    private var making: (state: TemplateState, pace: MiningPace, task: Task<BlockTemplate, any Error>)?
    /// Requests that waited for a template being made (tests).
    private(set) var joined = 0

    /// A template for `request`, under the learning mode's `pace` (when it holds this height, no
    /// transaction is "in a template" while the miners wait).
    func template(for request: TemplateRequest, pace: MiningPace = .running) async throws -> BlockTemplate {
        miners.seen(request, at: ServiceSupport.now())
        let state = try await source.templateState()
        if let state, let last, last.state == state, last.pace == pace {
            var t = last.template
            t.time = max(UInt32(Date().timeIntervalSince1970), t.minTime)
            reused += 1
            return t
        }
        if let state, let making, making.state == state, making.pace == pace {
            joined += 1
            var t = try await making.task.value
            t.time = max(UInt32(Date().timeIntervalSince1970), t.minTime)
            reused += 1
            return t
        }
        let minerID = request.minerID
        let task = Task { try await self.make(state: state, pace: pace, minerID: minerID) }
        if let state { making = (state, pace, task) }
        defer { if making?.task == task { making = nil } }
        return try await task.value
    }

    /// A template made afresh from the source's snapshot (`state`: the source's state read before).
    private func make(state: TemplateState?, pace: MiningPace, minerID: String) async throws -> BlockTemplate {
        let snapshot = try await source.miningSnapshot()
        var kept = [Hash256: BlockAssembler.Encoded](minimumCapacity: snapshot.chosen.count)
        let (template, chosen) = BlockAssembler.template(from: snapshot, pace: pace, params: params,
                                                         now: UInt32(Date().timeIntervalSince1970)) { e in
            let hex = encoded[e.txid] ?? BlockAssembler.Encoded(e)
            kept[e.txid] = hex
            return hex
        }
        encoded = kept
        made += 1
        // Kept only when the state read before the snapshot is still the snapshot's (no change
        // in between, which reentrancy at the awaits above allows).
        if let state, (try? await source.templateState()) == state, template.mempoolSequence == snapshot.sequence {
            last = (state, pace, template)
        } else {
            last = nil
        }
        if !chosen.isEmpty {
            await source.didTemplate(chosen.map(\.txid), height: template.height, minerID: minerID)
        }
        return template
    }

    /// The last reply encoded (`encodedReply`) and the template it holds.
    private var lastReply: (template: BlockTemplate, bytes: [UInt8])?
    /// Replies encoded, and given again as they were.
    private(set) var encodings = 0
    private(set) var repliesReused = 0

    /// getblocktemplate's reply on the bus (`{"result": template}`, as `RPCRouter.method` encodes
    /// it): encoded once per template, the same bytes given again while the template is the same
    /// one (`template(for:pace:)` gave the last one again, in the same second). A template is
    /// ~1.5 MB of JSON at 6,800 transactions; comparing it with the last costs little, as a
    /// template given again shares its arrays' storage with it.
    func encodedReply(for request: TemplateRequest, pace: MiningPace = .running) async throws -> [UInt8] {
        let t = try await template(for: request, pace: pace)
        if let lastReply, lastReply.template == t {
            repliesReused += 1
            return lastReply.bytes
        }
        let bytes = try await Self.encodeApart(t)
        encodings += 1
        lastReply = (t, bytes)
        return bytes
    }

    /// The last `getblocktemplaterpc` payload and the template it renders.
    private var lastRPC: (template: BlockTemplate, bytes: [UInt8])?
    /// Results rendered, and given again as they were.
    private(set) var rpcRenderings = 0
    private(set) var rpcReused = 0

    /// getblocktemplaterpc's payload (`TemplateRPC.payload`: a small header, then the JSON-RPC
    /// result in Bitcoin Core's shape, for the edge to splice into its reply unparsed): rendered
    /// once per template, the same bytes given again while the template is the same one (as
    /// `encodedReply`; a new second's `curtime` renders again, ~1.5 MB written in a few ms).
    func rpcPayload(for request: TemplateRequest, pace: MiningPace = .running) async throws -> [UInt8] {
        let t = try await template(for: request, pace: pace)
        if let lastRPC, lastRPC.template == t {
            rpcReused += 1
            return lastRPC.bytes
        }
        let bytes = try await Self.renderApart(t)
        rpcRenderings += 1
        lastRPC = (t, bytes)
        return bytes
    }

    /// The encodings, off the actor (~1.5 MB of JSON each: a request for the template given again
    /// need not wait for them).
    @concurrent nonisolated static func encodeApart(_ t: BlockTemplate) async throws -> [UInt8] {
        try JSON.encode(ReplyEnvelope<BlockTemplate>(result: t, error: nil))
    }

    @concurrent nonisolated static func renderApart(_ t: BlockTemplate) async throws -> [UInt8] {
        try TemplateRPC.payload(t)
    }

    func activeMiners(within seconds: Double = 60) -> [MinerInfo] {
        miners.active(within: seconds, now: ServiceSupport.now())
    }
}
