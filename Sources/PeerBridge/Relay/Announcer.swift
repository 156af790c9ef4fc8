/// Transaction announcements waiting to go out, per peer: sent together (one `inv` each) shortly after,
/// so a burst of local transactions is a few messages, not one per transaction (which would run into the
/// peers' message-rate limit). Who is told at all (live peers not known to have it) is `PeerTable.recipients(of:)`.
struct Announcer {
    private var pending: [Int: [Wire.InvItem]] = [:]
    /// A flush is scheduled and has not run yet.
    private(set) var flushScheduled = false

    var isEmpty: Bool { pending.isEmpty }
    func pending(for peer: Int) -> [Wire.InvItem] { pending[peer] ?? [] }

    /// Queues `item` for `peer`; a full batch (`Wire.maxInventory`) comes back to be sent now.
    mutating func queue(_ item: Wire.InvItem, for peer: Int) -> [Wire.InvItem]? {
        pending[peer, default: []].append(item)
        guard let items = pending[peer], items.count >= Wire.maxInventory else { return nil }
        pending[peer] = nil
        return items
    }

    /// Whether a flush is to be scheduled now (something waits and none is scheduled); marks it scheduled.
    mutating func needsFlush() -> Bool {
        guard !pending.isEmpty, !flushScheduled else { return false }
        flushScheduled = true
        return true
    }

    /// Everything waiting, by peer; the next queued item needs a new flush.
    mutating func flush() -> [Int: [Wire.InvItem]] {
        flushScheduled = false
        defer { pending = [:] }
        return pending.filter { !$0.value.isEmpty }
    }

    /// A peer gone: nothing waits for it.
    mutating func drop(_ peer: Int) { pending[peer] = nil }
}
