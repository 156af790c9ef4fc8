import ChainCore

/// Headers learned from peers and not connected yet (blocks connected leave it): hash → parent and height.
/// Bounded by `maxKnown`; beyond, headers are ignored until some connect.
struct HeaderTree {
    let maxKnown: Int
    private var entries: [Hash256: (prev: Hash256, height: Int)] = [:]
    /// The bits the chain store expects of the block after `after` (from `gettip`; 0: not told).
    var nextBits: (after: Hash256, bits: UInt32)?

    init(maxKnown: Int) { self.maxKnown = maxKnown }

    var count: Int { entries.count }
    func contains(_ hash: Hash256) -> Bool { entries[hash] != nil }
    func height(of hash: Hash256) -> Int? { entries[hash]?.height }
    func parent(of hash: Hash256) -> Hash256? { entries[hash]?.prev }
    /// Whether `n` more headers fit.
    func hasRoom(for n: Int) -> Bool { entries.count + n <= maxKnown }

    mutating func add(_ hash: Hash256, parent: Hash256, height: Int) { entries[hash] = (parent, height) }
    mutating func remove(_ hash: Hash256) { entries[hash] = nil }

    /// Orders hashes by height, lowest first (those without a header last).
    func byHeight(_ a: Hash256, _ b: Hash256) -> Bool { (height(of: a) ?? Int.max) < (height(of: b) ?? Int.max) }

    /// The bits a header at `height` must carry, where we can tell without the chain store's history:
    /// the chain store's own answer for the block after its tip; a network that never retargets; the
    /// parent's bits between retargets (nil: cannot tell here).
    func expectedBits(_ header: BlockHeader, height: Int, parent: BlockHeader?, params: ChainParams) -> UInt32? {
        if let nb = nextBits, nb.after == header.previousHash, nb.bits != 0 { return nb.bits }
        if params.noRetargeting { return params.powLimitBits }
        if Difficulty.isRetargetHeight(height, params: params) { return nil }
        return parent?.bits
    }

    /// Walks parents from `start` while the tree has them and `include` holds, at most `maxKnown` steps.
    func ancestors(from start: Hash256, while include: (Hash256) -> Bool) -> [Hash256] {
        var out = [Hash256]()
        var h = start
        while let e = entries[h], include(h), out.count < maxKnown {
            out.append(h)
            h = e.prev
        }
        return out
    }
}
