/// When the miner asks for new work after a template notice for a change of the mempool only (its
/// tip, its pace and its work unchanged): at once when its last work is at least `interval` old,
/// else once at `last work + interval`, however many notices come meanwhile (Bitcoin Core's miners
/// rebuild a template for mempool changes only every few seconds; in a flood the mempool's notices
/// come up to 4 a second). New work, however it came, starts the interval again. Generic over the
/// clock's instant so a test drives it with instants of its own, no waiting.
struct RefreshThrottle<Instant: InstantProtocol>: Sendable where Instant: Sendable {
    let interval: Instant.Duration
    /// When the last work was assigned (nil: none yet).
    private(set) var lastWork: Instant?
    /// A deferred fetch is due then (nil: none pending).
    private(set) var pending: Instant?

    init(interval: Instant.Duration) { self.interval = interval }

    enum Action: Equatable {
        /// Fetch now.
        case now
        /// Fetch at this instant (schedule it: the first notice within the interval).
        case at(Instant)
        /// A fetch is already due: nothing more to do.
        case alreadyDue
    }

    /// A notice for a mempool-only change, at `now`.
    mutating func notice(now: Instant) -> Action {
        guard let last = lastWork else { return .now }
        let due = last.advanced(by: interval)
        if now >= due { return .now }
        if pending != nil { return .alreadyDue }
        pending = due
        return .at(due)
    }

    /// The deferred fetch's time came (it asks for work now).
    mutating func fired() { pending = nil }

    /// New work was assigned at `now`: it holds the mempool's changes so far (a pending deferred
    /// fetch is no longer needed: cancel it).
    mutating func worked(at now: Instant) {
        lastWork = now
        pending = nil
    }
}
