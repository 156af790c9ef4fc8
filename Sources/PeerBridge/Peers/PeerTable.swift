import ChainCore

/// The peers connected now, by connection id, and the rules that read all of them at once:
/// slot counts, the best height claimed, and which of two connections to one node goes.
struct PeerTable: Sequence {
    private var byID: [Int: PeerState] = [:]

    subscript(id: Int) -> PeerState? {
        get { byID[id] }
        set { byID[id] = newValue }
    }

    var values: Dictionary<Int, PeerState>.Values { byID.values }
    var count: Int { byID.count }
    func makeIterator() -> Dictionary<Int, PeerState>.Iterator { byID.makeIterator() }

    @discardableResult
    mutating func removeValue(forKey id: Int) -> PeerState? { byID.removeValue(forKey: id) }

    /// Ids of the live peers (handshaken, not closing), ascending.
    var liveIDs: [Int] { byID.values.filter(\.isLive).map(\.conn.id).sorted() }

    /// The best height the live peers have shown (`PeerState.shownHeight`; a peer gone takes it with it); 0 with none.
    var bestShownHeight: Int { byID.values.filter(\.isLive).map(\.shownHeight).max() ?? 0 }

    /// Peers of `direction` holding a slot, besides `id`. A closing peer is on its way out (detached
    /// within `Connection.closeDeadline`): it takes no slot.
    func slotsTaken(_ direction: Connection.Direction, besides id: Int) -> Int {
        byID.values.filter { $0.conn.direction == direction && $0.conn.id != id && !$0.conn.isClosing }.count
    }

    /// Outbound peers, closing ones included (a dial is not started while one is still going).
    var outboundCount: Int { byID.values.filter { $0.conn.direction == .outbound }.count }

    /// Another connection (not closing) whose version claimed `nonce`.
    func other(claiming nonce: UInt64, besides id: Int) -> PeerState? {
        byID.values.first { $0.conn.id != id && $0.hello?.nonce == nonce && !$0.conn.isClosing }
    }

    /// Whether some peer is the node at `url` (see `PeerState.isNode(at:nodeAtURL:)`).
    func connects(_ url: String, nodeAtURL: UInt64?) -> Bool {
        byID.values.contains { $0.isNode(at: url, nodeAtURL: nodeAtURL) }
    }

    /// Live peers not known to have `hash`, now marked as having it: the ones to tell (never the source).
    mutating func recipients(of hash: Hash256) -> [Int] {
        var ids = [Int]()
        for (id, p) in byID where p.isLive && !p.knownInventory.contains(hash) {
            byID[id]?.knownInventory.insert(hash)
            ids.append(id)
        }
        return ids
    }

    enum Side: Equatable { case new, existing }

    /// Which of two connections claiming the same nonce goes (nil: both stay). `ownNonce` is ours.
    /// - Same direction: the established one stays, the newcomer is refused (a node never dials us twice,
    ///   and a stranger claiming a connected node's nonce must not evict it).
    /// - Opposite directions (two nodes dialling each other at once): only the node with the lower nonce
    ///   decides, keeping the connection it dialled, and only when the inbound one announced the very
    ///   URL we dialled (so a stranger elsewhere cannot stand in for it); the other node keeps both and
    ///   lets the first decide, so exactly one survives on both sides.
    static func duplicateLoser(ownNonce: UInt64, new conn: Connection, newHello: Wire.Hello, existing other: PeerState) -> Side? {
        guard conn.direction != other.conn.direction else { return .new }
        guard ownNonce < newHello.nonce else { return nil }
        if conn.direction == .outbound {
            return other.announcedURL != nil && other.announcedURL == conn.dialURL ? .existing : nil
        }
        let announced = newHello.listenPort > 0 ? "ws://\(conn.urlHost):\(newHello.listenPort)" : nil
        return announced != nil && announced == other.conn.dialURL ? .new : nil
    }
}
