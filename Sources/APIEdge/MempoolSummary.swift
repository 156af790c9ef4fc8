import Foundation
import NodeKit
import Synchronization

/// `GET /api/mempool`'s and `/api/fee-estimates`' summary (the mempool's `getmempoolinfo`: count,
/// bytes, fees, fee histogram), kept here and refreshed as the mempool follower sees the pool move,
/// so that a read does not wait for a bus round trip to a mempool busy admitting a flood (its
/// requests queue behind the submission batches on the mempool's socket).
///
/// The follower calls `moved()` for every change it sees (a `sequence` A or R, a `template`
/// notice: the mempool publishes one after taking a block's transactions out, and a gap or
/// restart of its stream); each starts a refresh unless one is in flight, and a refresh that
/// returns while the pool has moved meanwhile starts the next, at least `spacing` after the
/// previous one started (so under a flood about one `getmempoolinfo` each `spacing`, whatever the
/// number of readers). A read gets the last answer when nothing moved since its refresh started
/// (it is what the mempool holds as far as the follower has seen), or when a refresh is on its way
/// and the answer is at most `maxAge` old (counted from when its refresh started); otherwise it
/// waits for a refresh. So an answer is never more than `maxAge` behind the mempool's state as
/// followed, and at most the follower's lag plus one refresh (about `spacing` plus a round trip)
/// while the pool is moving and the mempool answers. A failed refresh keeps the last answer for
/// `maxAge`; after that the read waits for a refresh and gets its error (503 when the mempool is down).
final class MempoolSummary: Sendable {
    typealias Fetch = @Sendable () async throws -> MempoolInfo

    /// The oldest answer served while the pool has moved since (from its refresh's start).
    static let defaultMaxAge: Duration = .seconds(1)
    /// The least time between the starts of two refreshes.
    static let defaultSpacing: Duration = .milliseconds(25)

    private struct State {
        var info: MempoolInfo?
        /// When the refresh that answered `info` started, and `moves` then.
        var fetchedAt: ContinuousClock.Instant?
        var fetchedMoves: UInt64 = 0
        /// Changes the follower has seen.
        var moves: UInt64 = 0
        var inFlight: Task<MempoolInfo, any Error>?
        var lastStart: ContinuousClock.Instant?
        var refreshes = 0
    }

    let maxAge: Duration
    let spacing: Duration
    private let fetch: Fetch
    private let state = Mutex(State())

    init(maxAge: Duration = MempoolSummary.defaultMaxAge, spacing: Duration = MempoolSummary.defaultSpacing, fetch: @escaping Fetch) {
        self.maxAge = maxAge
        self.spacing = spacing
        self.fetch = fetch
    }

    /// Refreshes started so far (tests, metrics).
    var refreshCount: Int { state.withLock { $0.refreshes } }

    /// The follower saw the pool change (or its view of the pool interrupted): the summary is behind.
    func moved() {
        state.withLock { s in
            s.moves &+= 1
            if s.inFlight == nil { start(&s) }
        }
    }

    /// The summary, as the type's note says.
    func info() async throws -> MempoolInfo {
        let now = ContinuousClock.now
        let (cached, pending) = state.withLock { s -> (MempoolInfo?, Task<MempoolInfo, any Error>?) in
            if let info = s.info, let at = s.fetchedAt, s.fetchedMoves == s.moves || (s.inFlight != nil && now - at <= maxAge) {
                return (info, nil)
            }
            return (nil, s.inFlight ?? start(&s))
        }
        if let cached { return cached }
        return try await pending!.value
    }

    /// Starts a refresh (`inFlight`), `spacing` after the previous one's start at the earliest.
    @discardableResult
    private func start(_ s: inout State) -> Task<MempoolInfo, any Error> {
        let now = ContinuousClock.now
        let wait = s.lastStart.map { spacing - ($0.duration(to: now)) } ?? .zero
        // Counted as started now (with the wait): a burst of moves makes one refresh.
        s.lastStart = now + max(.zero, wait)
        s.refreshes += 1
        let task = Task<MempoolInfo, any Error> {
            if wait > .zero { try? await Task.sleep(for: wait) }
            let (moves, startedAt) = self.state.withLock { ($0.moves, ContinuousClock.now) }
            do {
                let info = try await self.fetch()
                self.state.withLock { s in
                    if s.fetchedAt.map({ $0 <= startedAt }) ?? true {
                        s.info = info
                        s.fetchedAt = startedAt
                        s.fetchedMoves = moves
                    }
                    s.inFlight = nil
                    if s.moves != moves { self.start(&s) }
                }
                return info
            } catch {
                self.state.withLock { $0.inFlight = nil }
                throw error
            }
        }
        s.inFlight = task
        return task
    }
}
