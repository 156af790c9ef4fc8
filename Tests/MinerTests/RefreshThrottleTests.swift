@testable import Miner
import Testing

/// How often the miner asks for new work when only the mempool changed (`RefreshThrottle`, driven
/// by `Miner.templateNotice`): simulated notices at instants of the test's own, fetches counted.
@Suite("Miner: new work on a mempool-only change")
struct RefreshThrottleTests {
    typealias Instant = ContinuousClock.Instant
    let base = ContinuousClock.now
    func at(_ ms: Int) -> Instant { base + .milliseconds(ms) }
    func ms(_ i: Instant) -> Int { Int(((i - base) / .milliseconds(1)).rounded()) }

    /// Runs `notices` (ms after the first work) through a throttle as the miner does: a fetch at
    /// once or a deferred one at its due time, each fetch assigning new work then. The fetches' times.
    func fetches(notices: [Int]) -> [Int] {
        var throttle = RefreshThrottle<Instant>(interval: Miner.mempoolRefresh)
        throttle.worked(at: at(0))
        var out = [Int]()
        var scheduled: Instant?
        for n in notices {
            if let s = scheduled, s <= at(n) {   // the deferred fetch ran before this notice
                throttle.fired()
                out.append(ms(s))
                throttle.worked(at: s)
                scheduled = nil
            }
            switch throttle.notice(now: at(n)) {
            case .now:
                out.append(n)
                throttle.worked(at: at(n))
            case .at(let due):
                #expect(scheduled == nil, "a second deferred fetch scheduled at \(n) ms")
                scheduled = due
            case .alreadyDue:
                #expect(scheduled != nil, "told a fetch is due at \(n) ms, none is")
            }
        }
        if let s = scheduled { out.append(ms(s)) }
        return out
    }

    @Test("a flood's notices, 4 a second for 10 s: one fetch per 2 s, the last change fetched too")
    func flood() {
        let notices = Array(stride(from: 250, to: 10_000, by: 250))
        #expect(notices.count == 39)
        #expect(fetches(notices: notices) == [2_000, 4_000, 6_000, 8_000, 10_000])
    }

    @Test("a notice after a quiet spell of the interval or more fetches at once")
    func quietThenNotice() {
        #expect(fetches(notices: [2_000, 5_000, 9_500]) == [2_000, 5_000, 9_500])
        // One within the interval after it waits for its end.
        #expect(fetches(notices: [2_000, 2_100, 2_200]) == [2_000, 4_000])
    }

    @Test("before any work, every notice fetches; new work from elsewhere restarts the interval and drops the deferred fetch")
    func noWorkAndNewWork() {
        var throttle = RefreshThrottle<Instant>(interval: Miner.mempoolRefresh)
        #expect(throttle.notice(now: at(0)) == .now)
        #expect(throttle.notice(now: at(10)) == .now)
        throttle.worked(at: at(100))
        #expect(throttle.notice(now: at(500)) == .at(at(2_100)))
        #expect(throttle.notice(now: at(600)) == .alreadyDue)
        // A new tip's work at 1,000 ms: it holds the mempool's changes; the deferred fetch is dropped.
        throttle.worked(at: at(1_000))
        #expect(throttle.pending == nil)
        #expect(throttle.notice(now: at(1_500)) == .at(at(3_000)))
        throttle.fired()
        #expect(throttle.notice(now: at(3_000)) == .now)
    }
}
