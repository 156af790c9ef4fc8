import ChainCore

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
}
