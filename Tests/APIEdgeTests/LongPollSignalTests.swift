import Bus
import Logging
import NodeKit
import ServiceLifecycleTestKit
import Testing
import TestSupport
@testable import APIEdge

/// `getblocktemplate`'s long poll and the edge's graceful shutdown: Hummingbird waits for the
/// requests in flight, so a long poll must end when the shutdown begins, not at its 60 s.
@Suite("Long poll") struct LongPollSignalTests {
    @Test func aLongPollEndsWhenTheEdgeBeginsItsGracefulShutdown() async throws {
        let context = try ZMQContext()
        // Nothing listens on port 1: only a timeout or the shutdown ends a wait.
        var nowhere = Endpoints.loopback()
        nowhere.chainPub = "tcp://127.0.0.1:1"
        nowhere.mempoolPub = "tcp://127.0.0.1:1"
        let signal = try await LongPollSignal(context: context, endpoints: nowhere, bus: .off(.edge), logger: Logger(label: "test"))
        // Without a shutdown the timeout ends it, and the answer is to go on waiting.
        #expect(await signal.wait(timeout: .milliseconds(10)))
        try await withHangGuard("a long poll at the graceful shutdown") {
            await testGracefulShutdown { trigger in
                async let waited = signal.wait(timeout: .seconds(3_600))
                trigger.triggerGracefulShutdown()
                #expect(await waited == false)
                // Once it has begun, a new wait returns at once.
                #expect(await signal.wait(timeout: .seconds(3_600)) == false)
            }
        }
        await signal.stop()
        await context.terminate()
    }
}
