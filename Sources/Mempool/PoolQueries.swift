import ChainCore
import Foundation
import NodeKit

/// Read-only questions for the explorer, over a snapshot of the pool's entries (kept apart from
/// Pool.swift: nothing here changes the pool).
extension Pool {
    /// The pool transaction (and its input) spending each outpoint, in order; nil where none does.
    func spenders(of outpoints: [OutPoint]) -> [SpendInfo?] {
        guard !outpoints.isEmpty else { return [] }
        let wanted = Set(outpoints)
        var found = [OutPoint: SpendInfo]()
        for e in entries.values {
            for (vin, input) in e.tx.inputs.enumerated() where wanted.contains(input.previousOutput) {
                found[input.previousOutput] = SpendInfo(outpoint: input.previousOutput.description, txid: e.txid.hex, vin: UInt32(vin))
            }
        }
        return outpoints.map { found[$0] }
    }

    /// The next blocks as the node's own block assembly would fill them from the pool now.
    func projectedBlocks(_ request: MempoolBlocksRequest) -> MempoolBlocks {
        let count = max(1, min(request.count ?? ProjectedBlocks.defaultCount, 50))
        let projection = ProjectedBlocks.project(entries.values, count: count)
        let txBlock = request.txid.flatMap(Hash256.init(hex:)).flatMap { projection.blockOf[$0] }
        return MempoolBlocks(blocks: projection.blocks, txBlock: txBlock, mempoolSequence: sequence)
    }
}

/// Projected blocks (mempool.space's "mempool blocks"): `BlockAssembler.select` run again and
/// again over what the earlier blocks left, a parent chosen in an earlier block counting as
/// confirmed. The last block holds whatever remains (it may be larger than a block).
enum ProjectedBlocks {
    static let defaultCount = 8

    static func project(_ entries: some Collection<PoolEntry>, count: Int,
                        maxBlockSize: Int = Limits.maxBlockSize) -> (blocks: [MempoolBlock], blockOf: [Hash256: Int]) {
        var remaining = [Hash256: PoolEntry]()
        for e in entries { remaining[e.txid] = e }
        var blocks = [MempoolBlock]()
        var blockOf = [Hash256: Int]()
        while !remaining.isEmpty && blocks.count < count {
            var chosen: [PoolEntry]
            if blocks.count == count - 1 {
                chosen = Array(remaining.values)
            } else {
                chosen = BlockAssembler.select(remaining.values, maxBlockSize: maxBlockSize).chosen
                if chosen.isEmpty { chosen = Array(remaining.values) }   // nothing fits: the rest, as one last block
            }
            for e in chosen {
                remaining[e.txid] = nil
                blockOf[e.txid] = blocks.count
            }
            for (txid, var e) in remaining where !e.parents.isDisjoint(with: blockOf.keys) {
                e.parents.subtract(blockOf.keys)
                remaining[txid] = e
            }
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
