import Foundation

/// How long each step of a block's way to the tip took, for the chain store's `new tip` log line
/// (in the spirit of Bitcoin Core's `-debug=bench` lines in `ConnectBlock`): each step is the time
/// since the one before it, so they add up to the whole. A block on the tip has its coins read from
/// once its header holds, while its body is checked: `coins read` is what was left of that read when
/// the checks ended. The signatures verify on other threads
/// from the end of `coins read` (or of `branch read and checked`, for a branch that is not the one
/// block on the tip) to the end of `signatures waited for`.
struct ConnectTiming: Sendable {
    private(set) var steps: [(name: String, duration: Duration)] = []
    private var last = ContinuousClock.now

    init(decoded: Duration? = nil) {
        if let decoded { steps.append(("decode", decoded)) }
    }

    /// Ends the step `name` at `instant` (now by default).
    mutating func mark(_ name: String, at instant: ContinuousClock.Instant = .now) {
        steps.append((name, instant - last))
        last = instant
    }

    /// "decode 12.1, checks 3.0, …; total 180.4" (milliseconds).
    var text: String {
        func ms(_ d: Duration) -> String { String(format: "%.1f", Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15) }
        let total = steps.reduce(Duration.zero) { $0 + $1.duration }
        return steps.map { "\($0.name) \(ms($0.duration))" }.joined(separator: ", ") + "; total \(ms(total))"
    }
}
