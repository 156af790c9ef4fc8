import Synchronization

/// Whether the edge's feeds have started: both followers took their first snapshot (the chain
/// store's tip, the mempool's transactions). Until the mempool follower's snapshot, a transaction
/// entering the pool lands in that snapshot, which counts as announced before this edge started,
/// so a client subscribed meanwhile would never be sent it and never be told (the snapshot and a
/// client's own fetch of the mempool are not ordered). So `/api/ws` clients and JSON-RPC
/// `subscribe` wait for it (`wait`), and are refused if it takes too long (1013, -28): the
/// subscription starts where the feed's promise holds. The public ZMQ PUB publishes nothing before
/// it (`FeedOutlets.run`), so its subscribers see a restarted edge's counters reset only then.
final class FeedStart: Sendable {
    private struct Parts: Sendable {
        var chain = false
        var mempool = false
        var isOpen: Bool { chain && mempool }
    }
    private let parts = Mutex(Parts())

    /// How long a client waits for the start before it is refused.
    static let patience: Duration = .seconds(10)

    func chainStarted() { parts.withLock { $0.chain = true } }
    func mempoolStarted() { parts.withLock { $0.mempool = true } }
    var isOpen: Bool { parts.withLock { $0.isOpen } }

    /// Whether the feeds started within `timeout` (at once when they had).
    func wait(timeout: Duration = FeedStart.patience) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !isOpen {
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    /// Returns once the feeds started (or the task is cancelled).
    func waitOpen() async {
        while !isOpen, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
    }

    /// The refusal's words (a WebSocket close reason, at most 123 bytes; the JSON-RPC error's message).
    static let notYet = "the feed is starting (not yet following both the chain store and the mempool): try again"
    /// WebSocket close code 1013, Try Again Later (RFC 6455's registry).
    static let tryAgainLater = 1013
}
