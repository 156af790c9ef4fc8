import ChainCore
import Foundation
import NodeKit

/// What block assembly reads from the pool (btcd's `mining.TxSource`): one consistent snapshot,
/// and a word back about what went into a template. The pool conforms (Pool.swift); block
/// assembly knows nothing else of it.
protocol TxSource: Sendable {
    /// The pool's transactions (a copy of its graph: cheap, copy-on-write), its mempool sequence
    /// and the chain tip they were checked against, read together.
    func miningSnapshot() async throws -> MiningSnapshot
    /// These transactions went into a template for `height` asked by `minerID` (the pool traces
    /// the first time of each).
    func didTemplate(_ txids: [Hash256], height: Int, minerID: String) async
}

struct MiningSnapshot: Sendable {
    let graph: PoolGraph
    let sequence: UInt64
    let tip: ChainTip
}

/// Block assembly (btcd's `mining/`): which pool entries go into a template, chosen from a
/// snapshot of the pool's entries, with no access to the pool itself. Highest fee rate first, a
/// child only once all its parents are in, up to the block size limit.
enum BlockAssembler {
    /// Room kept for the header, the transaction count and the coinbase.
    static let reserved = BlockHeader.size + 9 + 1_000

    static func select(_ entries: some Collection<PoolEntry>, maxBlockSize: Int = Limits.maxBlockSize) -> (chosen: [PoolEntry], fees: Amount) {
        var chosen = [PoolEntry]()
        var included = Set<Hash256>()
        var size = reserved
        var candidates = entries.sorted { $0.feeRate > $1.feeRate }
        var progress = true
        while progress {
            progress = false
            var rest = [PoolEntry]()
            for e in candidates {
                if e.parents.isSubset(of: included) {
                    if size + e.size <= maxBlockSize {
                        chosen.append(e)
                        included.insert(e.txid)
                        size += e.size
                        progress = true
                    }
                } else {
                    rest.append(e)
                }
            }
            candidates = rest
        }
        return (chosen, chosen.reduce(Amount(0)) { $0 + $1.fee })
    }

    /// The template for the block after the snapshot's tip, under the learning mode's `pace`: when
    /// it holds this height (paused), nothing is picked. `now`: the clock, seconds since 1970.
    static func template(from snapshot: MiningSnapshot, pace: MiningPace, params: ChainParams,
                         now: UInt32) -> (template: BlockTemplate, chosen: [PoolEntry]) {
        let t = snapshot.tip
        let height = t.height + 1
        let (chosen, fees) = pace.allows(height: height) ? select(snapshot.graph.entries.values) : ([], 0)
        let template = BlockTemplate(height: height, previousHash: t.hash, bits: t.nextBits, time: max(now, t.medianTimePast + 1),
                                     minTime: t.medianTimePast + 1, coinbaseValue: params.subsidy(height: height) + fees, fees: fees,
                                     transactions: chosen.map { Hex.encode($0.raw) }, txids: chosen.map(\.txid.hex),
                                     mempoolSequence: snapshot.sequence, pace: pace, notBefore: pace.notBefore(tipTime: t.time))
        return (template, chosen)
    }
}

/// Builds block templates from a `TxSource` (btcd's `mining.BlkTmplGenerator`), on its own
/// actor: the pool's actor only hands over a snapshot, and the selection (a sort of the whole pool)
/// runs here. Keeps the miners that asked (`MinerRegistry`, for `getminers`).
actor TemplateGenerator {
    let source: any TxSource
    let params: ChainParams
    private var miners = MinerRegistry()

    init(source: any TxSource, params: ChainParams) {
        self.source = source
        self.params = params
    }

    /// A template for `request`, under the learning mode's `pace` (when it holds this height, no
    /// transaction is "in a template" while the miners wait).
    func template(for request: TemplateRequest, pace: MiningPace = .running) async throws -> BlockTemplate {
        miners.seen(request, at: ServiceSupport.now())
        let snapshot = try await source.miningSnapshot()
        let (template, chosen) = BlockAssembler.template(from: snapshot, pace: pace, params: params,
                                                         now: UInt32(Date().timeIntervalSince1970))
        if !chosen.isEmpty {
            await source.didTemplate(chosen.map(\.txid), height: template.height, minerID: request.minerID)
        }
        return template
    }

    func activeMiners(within seconds: Double = 60) -> [MinerInfo] {
        miners.active(within: seconds, now: ServiceSupport.now())
    }
}
