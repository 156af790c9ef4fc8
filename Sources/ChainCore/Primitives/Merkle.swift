/// Bitcoin's merkle tree: pairs of SHA-256d, the last hash of an odd level
/// paired with itself.
public enum Merkle {
    /// The root and whether the tree is "mutated": two identical hashes paired
    /// at some level, which lets a different transaction list give the same
    /// root (CVE-2012-2459). A mutated block is invalid.
    public static func root(_ hashes: [Hash256]) -> (root: Hash256, mutated: Bool) {
        guard !hashes.isEmpty else { return (.zero, false) }
        var level = hashes
        var mutated = false
        var buffer = [UInt8](repeating: 0, count: 64)
        while level.count > 1 {
            var next = [Hash256]()
            next.reserveCapacity((level.count + 1) / 2)
            var i = 0
            while i < level.count {
                let left = level[i]
                let right = i + 1 < level.count ? level[i + 1] : left
                if i + 1 < level.count && left == right { mutated = true }
                buffer.replaceSubrange(0..<32, with: left.bytes)
                buffer.replaceSubrange(32..<64, with: right.bytes)
                next.append(Hash256.sha256d(buffer))
                i += 2
            }
            level = next
        }
        return (level[0], mutated)
    }
}
