import ChainCore

/// What the bridge has seen, so nothing is fetched, submitted or relayed twice; bounded, oldest forgotten.
struct SeenSets {
    static let blockLimit = 50_000
    static let txLimit = 100_000

    /// Blocks received and dealt with (submitted and answered for good, or connected).
    var blocks = RecentSet<Hash256>(limit: blockLimit)
    /// Transactions received, asked for, or accepted locally.
    var txs = RecentSet<Hash256>(limit: txLimit)
    /// A cache of the chain store's answers: blocks it holds (accepted, on a side branch, or a duplicate).
    /// A child's parent is taken as stored only when it is here, at our tip, or the chain store says so.
    var storedBlocks = RecentSet<Hash256>(limit: blockLimit)
}
