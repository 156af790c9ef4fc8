@testable import APIEdge
import Foundation
import NodeKit
import Synchronization
import Testing

/// `getmempoolinfo` answers for a `MempoolSummary` under test: each fetch waits until the test
/// lets it go (`answer`) or fails it (`fail`), so what a read gets is decided by order, not by time.
final class HeldInfo: Sendable {
    private struct State {
        var waiting: [CheckedContinuation<MempoolInfo, any Error>] = []
        var started = 0
    }
    private let state = Mutex(State())

    var started: Int { state.withLock { $0.started } }
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    func fetch() async throws -> MempoolInfo {
        try await withCheckedThrowingContinuation { c in
            state.withLock { s in
                s.started += 1
                s.waiting.append(c)
            }
        }
    }

    /// Answers the oldest waiting fetch with a pool of `count` transactions at mempool sequence `count`.
    func answer(count: Int) async {
        await waitForFetch()
        let c = state.withLock { $0.waiting.removeFirst() }
        c.resume(returning: MempoolInfo(count: count, bytes: count * 100, totalFee: UInt64(count) * 500, feeHistogram: [],
                                        minFeeRate: 1, mempoolSequence: UInt64(count)))
    }

    func fail() async {
        await waitForFetch()
        let c = state.withLock { $0.waiting.removeFirst() }
        c.resume(throwing: RPCError("unreachable", "mempool down"))
    }

    func waitForFetch() async {
        while waitingCount == 0 { await Task.yield() }
    }
}

@Suite struct MempoolSummaryTests {
    static func summary(_ held: HeldInfo, maxAge: Duration = .seconds(3600)) -> MempoolSummary {
        MempoolSummary(maxAge: maxAge, spacing: .zero) { try await held.fetch() }
    }

    @Test func theFirstReadFetchesAndLaterOnesAreServedWhileNothingMoved() async throws {
        let held = HeldInfo()
        let summary = Self.summary(held)
        async let first = summary.info()
        await held.answer(count: 3)
        #expect(try await first.count == 3)
        // Nothing moved: no bus call, however many reads (and however old the answer: it is current).
        for _ in 0..<5 { #expect(try await summary.info().count == 3) }
        #expect(held.started == 1)
    }

    @Test func aMoveStartsARefreshAndReadsGetTheLastAnswerUntilItReturns() async throws {
        let held = HeldInfo()
        let summary = Self.summary(held)
        async let first = summary.info()
        await held.answer(count: 1)
        _ = try await first
        summary.moved()
        await held.waitForFetch()
        #expect(held.started == 2)
        // A refresh is on its way and the answer is younger than maxAge: served without waiting.
        #expect(try await summary.info().count == 1)
        await held.answer(count: 2)
        while try await summary.info().count != 2 { await Task.yield() }
        #expect(held.started == 2)
    }

    @Test func movesDuringARefreshMakeOneMoreRefresh() async throws {
        let held = HeldInfo()
        let summary = Self.summary(held)
        summary.moved()
        await held.waitForFetch()
        for _ in 0..<10 { summary.moved() }
        #expect(held.started == 1)
        await held.answer(count: 1)
        // The pool moved while the first was in flight: exactly one more, started when it returned.
        await held.answer(count: 11)
        while try await summary.info().count != 11 { await Task.yield() }
        #expect(held.started == 2)
        #expect(summary.refreshCount == 2)
    }

    @Test func anAnswerOlderThanMaxAgeIsNotServedOnceThePoolMoved() async throws {
        let held = HeldInfo()
        let summary = Self.summary(held, maxAge: .zero)
        async let first = summary.info()
        await held.answer(count: 1)
        _ = try await first
        summary.moved()
        // Too old to be served while behind: the read waits for the refresh.
        async let second = summary.info()
        await held.answer(count: 2)
        #expect(try await second.count == 2)
    }

    @Test func withNoAnswerYetAFailedRefreshIsTheReadsError() async throws {
        let held = HeldInfo()
        let summary = Self.summary(held)
        let read = Task { try await summary.info() }
        await held.fail()
        await #expect(throws: RPCError.self) { try await read.value }
        // The next read asks again.
        async let again = summary.info()
        await held.answer(count: 4)
        #expect(try await again.count == 4)
        #expect(held.started == 2)
    }
}
