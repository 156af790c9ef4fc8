/// A token bucket: `capacity` tokens, refilled at `rate` per second.
struct TokenBucket: Sendable {
    let capacity: Double
    let rate: Double
    private(set) var tokens: Double
    private var last: ContinuousClock.Instant

    init(capacity: Double, rate: Double, now: ContinuousClock.Instant = .now) {
        self.capacity = capacity
        self.rate = rate
        tokens = capacity
        last = now
    }

    /// Takes `n` tokens if there are enough; false when the peer is over its rate.
    mutating func take(_ n: Double, now: ContinuousClock.Instant = .now) -> Bool {
        tokens = min(capacity, tokens + (now - last) / .seconds(1) * rate)
        last = now
        guard tokens >= n else { return false }
        tokens -= n
        return true
    }
}
