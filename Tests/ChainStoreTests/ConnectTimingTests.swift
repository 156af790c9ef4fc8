import Testing
@testable import ChainStore

/// The steps of the `new tip` log line: each the time since the one before, adding up to the total.
@Suite struct ConnectTimingTests {
    @Test func stepsAreTheTimesBetweenMarksAndAddUpToTheTotal() {
        var timing = ConnectTiming(decoded: .milliseconds(2))
        let start = ContinuousClock.now
        timing.mark("checks", at: start + .milliseconds(1_000))
        timing.mark("coins read", at: start + .milliseconds(1_250))
        let text = timing.text
        #expect(timing.steps.map(\.name) == ["decode", "checks", "coins read"])
        #expect(timing.steps[2].duration == .milliseconds(250))
        #expect(text.hasPrefix("decode 2.0, checks "))
        #expect(text.contains(", coins read 250.0; total "))
        let total = timing.steps.reduce(Duration.zero) { $0 + $1.duration }
        #expect(text.hasSuffix("total \(String(format: "%.1f", Double(total.components.seconds) * 1e3 + Double(total.components.attoseconds) * 1e-15))"))
    }
}
