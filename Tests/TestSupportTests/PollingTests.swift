import Foundation
import Testing
import TestSupport

/// The one polling helper and hang guard.
@Suite struct PollingTests {
    @Test func waitUntilThrowsTimedOutWhenTheConditionNeverHolds() async {
        await #expect(throws: TimedOut.self) { try await waitUntil("never", timeout: 0.2, every: 0.05) { false } }
    }

    @Test func hangGuardAnswersEvenWhenTheBodyIgnoresCancellation() async {
        await #expect(throws: HangGuardExpired.self) {
            try await withHangGuard("a body that never ends", seconds: 1) {
                // Ends after 5 minutes whatever its cancellation says (3 s was once outrun by the
                // 1 s guard itself, in the whole suite on a loaded machine).
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 300) { c.resume() }
                }
            }
        }
    }
}
