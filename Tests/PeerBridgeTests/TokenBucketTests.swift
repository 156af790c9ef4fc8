@testable import PeerBridge
import Testing

@Suite("Token bucket (per-peer rate limits)")
struct TokenBucketTests {
    @Test("token bucket: a burst up to capacity, then refused until refilled")
    func bucket() {
        let t0 = ContinuousClock.now
        var b = TokenBucket(capacity: 10, rate: 5, now: t0)
        let burst = b.take(10, now: t0)
        let over = b.take(1, now: t0)
        let refilled = b.take(5, now: t0 + .seconds(1))
        let overAgain = b.take(1, now: t0 + .seconds(1))
        let capped = b.take(10, now: t0 + .seconds(100))
        let beyondCap = b.take(1, now: t0 + .seconds(100))
        #expect(burst && !over && refilled && !overAgain && capped && !beyondCap)
    }
}
