import ChainCore

/// Blocks whose parent the chain store does not know yet, by parent hash; bounded in count and bytes.
struct OrphanPool {
    let maxCount: Int
    let maxBytes: Int
    private var byParent: [Hash256: [Block]] = [:]
    private var hashes = Set<Hash256>()
    private var sizes: [Hash256: Int] = [:]
    private(set) var bytes = 0

    init(maxCount: Int, maxBytes: Int) {
        self.maxCount = maxCount
        self.maxBytes = maxBytes
    }

    var count: Int { hashes.count }
    var isEmpty: Bool { hashes.isEmpty }
    func contains(_ hash: Hash256) -> Bool { hashes.contains(hash) }

    /// Holds `block` (once). Over the bound (count or bytes) the highest by `tree` (the furthest from being
    /// connected) are dropped; they come back, in order, for the caller to fetch again if needed.
    mutating func hold(_ block: Block, tree: HeaderTree) -> [Hash256] {
        let hash = block.hash
        guard hashes.insert(hash).inserted else { return [] }
        byParent[block.header.previousHash, default: []].append(block)
        let size = block.encodedSize
        sizes[hash] = size
        bytes += size
        var evicted = [Hash256]()
        while hashes.count > maxCount || (bytes > maxBytes && hashes.count > 1) {
            guard let victim = hashes.max(by: tree.byHeight) else { break }
            forget(victim)
            for (k, list) in byParent {
                let kept = list.filter { $0.hash != victim }
                byParent[k] = kept.isEmpty ? nil : kept
            }
            evicted.append(victim)
        }
        return evicted
    }

    /// Takes out the blocks waiting for `parent`. They still count as held until each is `forget`-ten, so one
    /// arriving again meanwhile is not taken for new.
    mutating func removeChildren(of parent: Hash256) -> [Block] { byParent.removeValue(forKey: parent) ?? [] }

    /// Takes a hash out of the index and its bytes out of the total (the block itself is removed by the caller).
    mutating func forget(_ hash: Hash256) {
        hashes.remove(hash)
        bytes -= sizes.removeValue(forKey: hash) ?? 0
    }

    /// Drops every block built on `hash` (it was invalid).
    mutating func dropDescendants(of hash: Hash256) {
        for c in removeChildren(of: hash) {
            forget(c.hash)
            dropDescendants(of: c.hash)
        }
    }
}
