import Foundation
import HTTPTypes
import Synchronization

/// Whether the edge's feeds have started: both followers took their first snapshot (the chain
/// store's tip, the mempool's transactions). Until the mempool follower's snapshot, a transaction
/// entering the pool lands in that snapshot, which counts as announced before this edge started,
/// so a client subscribed meanwhile would never be sent it and never be told (the snapshot and a
/// client's own fetch of the mempool are not ordered). So the `/api/ws` upgrade and JSON-RPC
/// `subscribe` wait for it (`wait`), and are refused if it takes too long (the upgrade fails; -28):
/// a subscription starts where the feed's promise holds, and a browser's socket opens only then.
/// The public ZMQ PUB is handed no event from before it (`FeedOutlets.post`), so its subscribers
/// see a restarted edge's counters reset only after it.
final class FeedStart: Sendable {
    private struct State: Sendable {
        var chain = false
        var mempool = false
        var isOpen: Bool { chain && mempool }
        /// Tasks waiting for the start, resumed once when it comes (or when they are cancelled).
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
        /// Waiters cancelled before they were registered.
        var cancelled: Set<UUID> = []
    }
    private let state = Mutex(State())

    /// How long a client waits for the start before it is refused.
    static let patience: Duration = .seconds(10)

    func chainStarted() { update { $0.chain = true } }
    func mempoolStarted() { update { $0.mempool = true } }
    var isOpen: Bool { state.withLock { $0.isOpen } }

    private func update(_ change: (inout State) -> Void) {
        let woken: [CheckedContinuation<Void, Never>] = state.withLock { s in
            change(&s)
            guard s.isOpen else { return [] }
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for c in woken { c.resume() }
    }

    /// Returns once the feeds started, or the task is cancelled.
    func waitOpen() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s in
                    if s.isOpen || s.cancelled.remove(id) != nil { return true }
                    s.waiters[id] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { s in
                if let c = s.waiters.removeValue(forKey: id) { return Optional(c) }
                s.cancelled.insert(id)
                return nil
            }
            c?.resume()
        }
        // A cancellation after the resume leaves its mark: forget it.
        _ = state.withLock { $0.cancelled.remove(id) }
    }

    /// Whether the feeds started within `timeout` (at once when they had).
    func wait(timeout: Duration = FeedStart.patience) async -> Bool {
        if isOpen { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.waitOpen(); return self.isOpen }
            group.addTask { try? await Task.sleep(for: timeout); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first || isOpen
        }
    }

    /// For an upgrade to the feed: nothing once started; else waits, and refuses (503 with `Retry-After`,
    /// sent as the upgrade's answer by `RefusedUpgrades`).
    func admit() async throws {
        guard await wait() else {
            throw APIError(.serviceUnavailable, "feed-starting", Self.notYet, headers: [.retryAfter: "1"])
        }
    }

    /// The refusal's words.
    static let notYet = "the feed is starting (not yet following both the chain store and the mempool): try again"
}
