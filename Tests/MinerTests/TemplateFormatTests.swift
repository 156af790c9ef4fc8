@testable import Miner
import Testing

/// Which template the miner asks for (`TemplateFormat`, driven by `Miner.template`): binary, JSON
/// after the mempool answers binary "unknown-method", binary again every `Miner.binaryRetry`.
@Suite("Miner: binary or JSON templates")
struct TemplateFormatTests {
    typealias Instant = ContinuousClock.Instant
    let base = ContinuousClock.now
    func at(_ s: Double) -> Instant { base + .milliseconds(Int(s * 1000)) }

    @Test func binaryUntilTheMempoolDoesNotKnowItThenAgainEveryRetry() {
        var format = TemplateFormat<Instant>(retry: Miner.binaryRetry)
        #expect(Miner.binaryRetry == .seconds(60))
        #expect(format.asksBinary(now: at(0)))
        var logged = format.binaryAnswered()
        #expect(!logged, "a binary answer from the start is no change to log")
        #expect(format.asksBinary(now: at(1)))

        // An older mempool: JSON from then on, logged once.
        logged = format.binaryUnknown(now: at(10))
        #expect(logged)
        for s in [10.0, 30, 69.9] { #expect(!format.asksBinary(now: at(s)), "binary asked \(s) s in") }
        #expect(format.asksBinary(now: at(70)))
        // still unknown: JSON for another minute, not logged again
        logged = format.binaryUnknown(now: at(70))
        #expect(!logged)
        #expect(!format.asksBinary(now: at(129.9)))
        #expect(format.asksBinary(now: at(130)))

        // The mempool was replaced by one that knows it: binary again, logged once, and kept.
        logged = format.binaryAnswered()
        #expect(logged)
        #expect(format.asksBinary(now: at(131)))
        logged = format.binaryAnswered()
        #expect(!logged)
        #expect(format.asksBinary(now: at(1_000)))
    }
}
