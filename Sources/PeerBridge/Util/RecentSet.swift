/// A bounded set that forgets its oldest members: the seen-sets and per-peer known inventory.
struct RecentSet<T: Hashable & Sendable>: Sendable {
    let limit: Int
    /// Member → the serial of its latest insertion; `order` may hold older (stale) entries of a member
    /// removed or re-inserted since, recognised by their serial and skipped.
    private var members: [T: UInt64] = [:]
    private var order: [(T, UInt64)] = []
    private var head = 0
    private var serial: UInt64 = 0

    init(limit: Int) { self.limit = limit }

    var count: Int { members.count }
    /// Entries kept in insertion order (live and stale): stays within a small multiple of the limit.
    var backlog: Int { order.count - head }
    func contains(_ x: T) -> Bool { members[x] != nil }

    /// Inserts; returns false if it was already there.
    @discardableResult
    mutating func insert(_ x: T) -> Bool {
        guard members[x] == nil else { return false }
        serial += 1
        members[x] = serial
        order.append((x, serial))
        while members.count > limit, head < order.count {
            let (oldest, s) = order[head]
            head += 1
            if members[oldest] == s { members[oldest] = nil }
        }
        compact()
        return true
    }

    mutating func remove(_ x: T) {
        members[x] = nil
        compact()
    }

    /// Drops consumed and stale entries once they outnumber the live ones (amortised O(1)).
    private mutating func compact() {
        let bound = max(limit, 16)
        guard head > bound || order.count - head > 2 * bound else { return }
        order = order[head...].filter { members[$0.0] == $0.1 }
        head = 0
    }
}
