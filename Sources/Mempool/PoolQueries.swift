import ChainCore
import Foundation
import NodeKit

/// Read-only questions (the RPC's `getmempoolinfo`, `getrawmempool`, `getentry`,
/// `getaddressmempool`, `checkmempool`, and the explorer's), over the pool's graph (kept apart from
/// Pool.swift: nothing here changes the pool).
extension Pool {
    /// Count, bytes, fees and the fee-rate histogram (power-of-two buckets, bytes in each), from the
    /// graph's running totals (no walk of the pool), as of the last change (`summary`): read without
    /// the actor, so it never waits behind the admissions queued on it.
    nonisolated func info() -> MempoolInfo {
        let s = summary.withLock { $0 }
        let histogram = s.feeRateBuckets.sorted { $0.key > $1.key }.map { [$0.key, Double($0.value)] }
        return MempoolInfo(count: s.count, bytes: s.bytes, totalFee: s.totalFee,
                           feeHistogram: histogram, minFeeRate: policy.minFeeRate, mempoolSequence: s.sequence)
    }

    /// The consistency check: links, spends and bytes in memory; memory against the file; every
    /// input spends either an output of a transaction in the pool or an unspent coin of the chain.
    /// Runs through the gate, so it sees one state; what the writer has not yet committed
    /// (GroupCommit.swift) may differ between memory and the file.
    func check() async -> MempoolCheck {
        var result = MempoolCheck(ok: false, count: 0, stored: 0, chainChecked: false, problems: [])
        await flushed()
        await exclusively { result = await checkNow() }
        return result
    }

    private func checkNow() async -> MempoolCheck {
        var (problems, fromChain) = graph.consistency()
        func problem(_ p: String) { if problems.count < 50 { problems.append(p) } }
        let stored: [Hash256]
        do {
            stored = try await store.txids()
        } catch {
            stored = []
            problem("could not read mempool.sqlite: \(error)")
        }
        let onDisk = Set(stored)
        let waiting = follower.waiting.union(writer.unsettled)
        for txid in entries.keys where !onDisk.contains(txid) && !waiting.contains(txid) { problem("\(txid.hex) is in memory but not in mempool.sqlite") }
        for txid in onDisk where entries[txid] == nil && !waiting.contains(txid) { problem("\(txid.hex) is in mempool.sqlite but not in memory") }
        var chainChecked = false
        if let coins = try? await chain.coins(fromChain) {
            chainChecked = true
            for op in fromChain where coins[op] == nil { problem("\(op) (spent by \(graph.spender(of: op)?.hex ?? "?")) is not an unspent coin of the chain") }
        }
        // The coin view against the chain store: each coin it holds is unspent there, the same coin.
        if chainChecked, !coinView.coins.isEmpty {
            let held = Array(coinView.coins.keys)
            if let coins = try? await chain.coins(held) {
                for op in held where coins[op] != coinView.coins[op] {
                    problem("the coin view holds \(op), which the chain \(coins[op] == nil ? "has spent or never had" : "holds as another coin")")
                }
            } else {
                chainChecked = false
            }
        }
        return MempoolCheck(ok: problems.isEmpty && chainChecked, count: entries.count, stored: onDisk.count,
                            chainChecked: chainChecked, problems: problems)
    }

    func snapshot() -> RawMempool {
        RawMempool(txids: entries.values.sorted { $0.time < $1.time }.map(\.txid.hex), mempoolSequence: sequence)
    }

    func entry(_ txid: Hash256) -> PoolEntry? { entries[txid] }

    func entries(touching key: [UInt8]) -> [PoolEntry] {
        entries.values.filter { e in
            e.tx.outputs.contains { $0.publicKey == key } || e.spent.contains { $0.output.publicKey == key }
        }.sorted { $0.time > $1.time }
    }

    /// The pool transaction (and its input) spending each outpoint, in order; nil where none does
    /// (from the graph's spend index).
    func spenders(of outpoints: [OutPoint]) -> [SpendInfo?] {
        outpoints.map { op in
            guard let t = graph.spender(of: op), let e = graph[t],
                  let vin = e.tx.inputs.firstIndex(where: { $0.previousOutput == op }) else { return nil }
            return SpendInfo(outpoint: op.description, txid: t.hex, vin: UInt32(vin))
        }
    }

    /// The next blocks as the node's own block assembly would fill them from the pool now.
    func projectedBlocks(_ request: MempoolBlocksRequest) -> MempoolBlocks {
        let count = max(1, min(request.count ?? ProjectedBlocks.defaultCount, 50))
        let projection = ProjectedBlocks.project(graph, count: count)
        let txBlock = request.txid.flatMap(Hash256.init(hex:)).flatMap { projection.blockOf[$0] }
        return MempoolBlocks(blocks: projection.blocks, txBlock: txBlock, mempoolSequence: sequence)
    }
}

/// Projected blocks (mempool.space's "mempool blocks"): `BlockAssembler.select` run again and
/// again over what the earlier blocks left, a parent chosen in an earlier block counting as
/// confirmed. The last block holds whatever remains (it may be larger than a block). The pool is
/// put in fee-rate order once (its index), and each block reads what is left of that order.
enum ProjectedBlocks {
    static let defaultCount = 8

    static func project(_ graph: PoolGraph, count: Int, maxBlockSize: Int = Limits.maxBlockSize) -> (blocks: [MempoolBlock], blockOf: [Hash256: Int]) {
        project(ordered: graph.byFeeRate(), entry: { graph[$0] }, children: { $0.children },
                minSize: graph.minSize ?? 0, count: count, maxBlockSize: maxBlockSize)
    }

    /// Any entries (their `parents` say the links).
    static func project(_ entries: some Collection<PoolEntry>, count: Int,
                        maxBlockSize: Int = Limits.maxBlockSize) -> (blocks: [MempoolBlock], blockOf: [Hash256: Int]) {
        var byID = [Hash256: PoolEntry](minimumCapacity: entries.count)
        var children = [Hash256: [Hash256]]()
        for e in entries {
            byID[e.txid] = e
            for p in e.parents { children[p, default: []].append(e.txid) }
        }
        return project(ordered: entries.sorted { $0.order < $1.order }, entry: { byID[$0] }, children: { children[$0.txid] ?? [] },
                       minSize: entries.lazy.map(\.size).min() ?? 0, count: count, maxBlockSize: maxBlockSize)
    }

    private static func project<Children: Sequence<Hash256>>(ordered: [PoolEntry], entry: (Hash256) -> PoolEntry?,
                                                             children: (PoolEntry) -> Children, minSize: Int, count: Int, maxBlockSize: Int) -> (blocks: [MempoolBlock], blockOf: [Hash256: Int]) {
        var remaining = ordered
        var blocks = [MempoolBlock]()
        var blockOf = [Hash256: Int]()
        var done = Set<Hash256>()
        while !remaining.isEmpty && blocks.count < count {
            var chosen: [PoolEntry]
            if blocks.count == count - 1 {
                chosen = remaining
            } else {
                var reading = remaining.makeIterator()
                chosen = BlockAssembler.select(next: { reading.next() }, entry: entry, children: children, minSize: minSize,
                                               maxBlockSize: maxBlockSize, confirmed: done, candidates: remaining.count).chosen
                if chosen.isEmpty { chosen = remaining }   // nothing fits: the rest, as one last block
            }
            for e in chosen {
                done.insert(e.txid)
                blockOf[e.txid] = blocks.count
            }
            remaining.removeAll { done.contains($0.txid) }
            blocks.append(summary(chosen))
        }
        return (blocks, blockOf)
    }

    static func summary(_ chosen: [PoolEntry]) -> MempoolBlock {
        let rates = chosen.map(\.feeRate).sorted()
        func percentile(_ p: Double) -> Double {
            guard !rates.isEmpty else { return 0 }
            return rates[min(rates.count - 1, Int((p * Double(rates.count - 1)).rounded()))]
        }
        let size = chosen.reduce(0) { $0 + $1.size }
        return MempoolBlock(blockSize: size, blockVSize: size, nTx: chosen.count, totalFees: chosen.reduce(0) { $0 + $1.fee },
                            medianFee: percentile(0.5), feeRange: [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1].map(percentile))
    }
}
