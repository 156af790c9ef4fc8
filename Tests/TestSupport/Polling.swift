import Foundation
import Testing

/// A condition that did not hold before its deadline.
public struct TimedOut: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting until \(what)" }
}

/// The one polling helper of every test target: polls `condition` (an error counts as "not yet")
/// until it holds, sleeping with `Task.sleep` (never blocking a thread of the cooperative pool).
/// The timeout is a hang guard, not a measurement.
public func waitUntil(_ what: String, timeout: Double = 60, every: Double = 0.2, _ condition: () async throws -> Bool) async throws {
    var deadline = Date().addingTimeInterval(timeout)
    while true {
        if (try? await condition()) == true { return }
        guard Date() < deadline else { throw TimedOut(what: what) }
        let asleep = Date()
        try await Task.sleep(for: .milliseconds(max(1, Int(every * 1000))))
        // Time this poller was not scheduled at all (the test process's cooperative pool was busy
        // elsewhere, so what it waits for could not run either) does not count against the timeout;
        // the condition is always checked once more after a wait.
        let stalled = Date().timeIntervalSince(asleep) - every
        if stalled > 1 { deadline = deadline.addingTimeInterval(stalled) }
    }
}

/// `waitUntil` for `#expect(await eventually(…))`: true once `condition` holds; on timeout the
/// test gets an issue ("gave up waiting: …") and the answer is false.
public func eventually(_ what: String, timeout: Double = 90, every: Double = 0.2, _ condition: () async throws -> Bool,
                       sourceLocation: SourceLocation = #_sourceLocation) async -> Bool {
    do {
        try await waitUntil(what, timeout: timeout, every: every, condition)
        return true
    } catch {
        Issue.record("gave up waiting: \(what)", sourceLocation: sourceLocation)
        return false
    }
}
