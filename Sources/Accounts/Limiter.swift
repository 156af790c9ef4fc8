import Foundation
import NodeKit

/// The one token bucket per key that every edge replica draws from.
///
/// A key with `rps` R has a bucket of R tokens (one second of burst) refilled at R a second. Edges
/// do not ask per request: they lease a few tokens at a time (`LeaseWant.want`, a tenth of R by
/// default), spend them locally, and give back what is left when the lease expires. Every admitted
/// request was paid for by a token taken here, so whatever the number of edges, the admitted rate
/// over any window W is at most R·W + R (the burst), and tokens given back return to the bucket.
///
/// The daily quota is charged at the same moment (a token granted is a request of the day) and
/// credited back for tokens returned. After a restart it starts from the requests counted in
/// `usage` for the UTC day (tokens granted but not yet reported are the only thing a kill -9 can
/// let through twice: at most one lease per edge).
actor Limiter {
    struct Bucket {
        var tokens: Double
        var last: ContinuousClock.Instant
        var day: Int
        var dailyUsed: Int
    }

    /// How long a lease may be spent.
    static let leaseTTL = 1.0

    private var buckets: [String: Bucket] = [:]
    private let store: Store
    private let clock = ContinuousClock()
    private let wallClock: @Sendable () -> Double

    init(store: Store, wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.store = store
        self.wallClock = wallClock
    }

    /// Forgets a key's bucket (revoked, rotated: its limits may have changed).
    func forget(_ id: String) { buckets[id] = nil }

    func grant(_ want: LeaseWant, record: KeyRecord?) async throws -> LeaseGrant {
        guard let record else {
            return LeaseGrant(key: want.key, tokens: 0, ttl: 0, retryAfter: 0, remaining: 0, dailyRemaining: nil, refusal: "unknown")
        }
        guard record.info.revoked == nil else {
            buckets[want.key] = nil
            return LeaseGrant(key: want.key, tokens: 0, ttl: 0, retryAfter: 0, remaining: 0, dailyRemaining: nil, refusal: "revoked")
        }
        let info = record.info
        let now = clock.now
        let wall = wallClock()
        let day = Int(wall / 86400)
        var b: Bucket
        if let existing = buckets[want.key] {
            b = existing
        } else {
            let used = info.daily > 0 ? try await store.requests(key: want.key, since: day * 86400) : 0
            // Another lease may have created it while we read.
            b = buckets[want.key] ?? Bucket(tokens: Double(info.rps), last: now, day: day, dailyUsed: used)
        }
        if b.day != day { b.day = day; b.dailyUsed = 0 }
        // Refill, then take back what an edge did not use (never above one second's burst).
        let elapsed = (now - b.last).inSeconds
        b.last = now
        let returned = max(0, want.returned)
        if info.rps > 0 { b.tokens = min(Double(info.rps), b.tokens + elapsed * Double(info.rps) + Double(returned)) }
        b.dailyUsed = max(0, b.dailyUsed - returned)

        var tokens = max(0, want.want)
        var refusal: String?
        var retryAfter = 0.0
        if info.rps > 0 { tokens = min(tokens, Int(b.tokens)) }
        var dailyRemaining: Int?
        if info.daily > 0 {
            let left = max(0, info.daily - b.dailyUsed)
            if left < tokens { tokens = left }
            dailyRemaining = left - tokens
            if left == 0 {
                refusal = "daily"
                retryAfter = Double((day + 1) * 86400) - wall
            }
        }
        if tokens == 0 && refusal == nil && want.want > 0 {
            refusal = "rate"
            retryAfter = info.rps > 0 ? max(0.001, (1 - b.tokens) / Double(info.rps)) : 0
        }
        if info.rps > 0 { b.tokens -= Double(tokens) }
        b.dailyUsed += tokens
        buckets[want.key] = b
        return LeaseGrant(key: want.key, tokens: tokens, ttl: Self.leaseTTL, retryAfter: retryAfter,
                          remaining: info.rps > 0 ? Int(b.tokens) : Int.max / 2, dailyRemaining: dailyRemaining, refusal: refusal)
    }
}
