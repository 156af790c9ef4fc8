@testable import APIEdge
import Bus
import ChainCore
import Foundation
import Logging
import NodeKit
import Testing
import TestSupport

/// The feed's start (FeedStart.swift): open once both followers took their first snapshot; clients
/// wait for it; the public PUB is handed no event from before it (FeedEvents.swift).
@Suite struct FeedStartTests {
    @Test("it opens only when both followers started; a waiter is resumed then, not before; a wait runs out closed")
    func opensWhenBothStarted() async throws {
        let start = FeedStart()
        #expect(await start.wait(timeout: .milliseconds(50)) == false)
        start.chainStarted()
        #expect(!start.isOpen)
        #expect(await start.wait(timeout: .milliseconds(50)) == false)
        let waiter = Task { await start.wait(timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        start.mempoolStarted()
        #expect(start.isOpen)
        #expect(await waiter.value)
        #expect(await start.wait(timeout: .zero))
        try await start.admit()
    }

    @Test("a waiter cancelled before the start returns, and the feed stays closed")
    func aCancelledWaiterReturns() async {
        let start = FeedStart()
        let waiting = Task { await start.waitOpen() }
        waiting.cancel()
        await waiting.value   // returns although the feed never opened
        #expect(!start.isOpen)
        #expect(await start.wait(timeout: .milliseconds(20)) == false)
    }

    @Test("the public PUB is handed no event from before the start: its counter counts only the events after it")
    func thePublicFeedDropsWhatCameBeforeTheStart() async throws {
        let context = try ZMQContext()
        let notifier = try await PublicNotifier(context: context, endpoint: "tcp://127.0.0.1:*", logger: Logger(label: "test"))
        let start = FeedStart()
        let outlets = FeedOutlets(notifier: notifier, outlets: [], feedStart: start)
        let running = Task { await outlets.run() }
        let sub = try await Subscriber(context: context, connect: notifier.endpoints, topics: [Topic.sequence])
        try await sub.ready()
        let before = Hash256(bytes: [UInt8](repeating: 1, count: 32)), after = Hash256(bytes: [UInt8](repeating: 2, count: 32))
        outlets.post(.txRemoved(txid: before, mempoolSequence: 99))
        start.chainStarted()
        start.mempoolStarted()
        // The subscription reaches the PUB some time after it connects: events after the start are posted
        // (the k-th with mempool sequence k) until one arrives. Each topic's counter counts every message
        // published on it, received or not, so the k-th after the start carries counter k only if the
        // event from before the start was never published.
        let poster = Task {
            for k in 0..<300 where !Task.isCancelled {
                outlets.post(.txRemoved(txid: after, mempoolSequence: UInt64(k)))
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let first = try await withHangGuard("the first public notification") { () -> (body: [UInt8], seq: UInt32)? in
            var it = sub.events.makeAsyncIterator()
            while let e = await it.next() {
                if case let .message(_, body, seq) = e { return (body, seq) }
            }
            return nil
        }
        poster.cancel()
        let got = try #require(first)
        #expect(Array(got.body.prefix(33)) == after.displayBytes + Array("R".utf8))
        let k = got.body.count == 41 ? got.body.suffix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) } : .max
        #expect(UInt64(got.seq) == k, "counter \(got.seq) for the event after the start with mempool sequence \(k)")
        outlets.finish()
        await running.value
        await sub.stop()
        await notifier.stop()
        await context.terminate()
    }
}
