@testable import APIEdge
import Bus
import ChainCore
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NodeKit
import Synchronization
import Testing
import TestSupport

extension RPCRouter {
    /// `submittxs` for a fake mempool: each transaction of the batch answered by `single`, as its
    /// `submittx` answers it (given the transaction's hex).
    static func submitBatch(_ single: @escaping @Sendable (SubmitTx) async throws -> SubmitTxResult) -> Raw {
        binaryMethod { payload throws(RPCError) in
            try await SubmitBatch.serve(payload) { item in
                do {
                    return SubmitBatch.Answer(.success(try await single(SubmitTx(hex: Hex.encode(item.raw), receivedAt: item.receivedAt, maxFee: item.maxFee))))
                } catch let e as RPCError {
                    return .refused(e)
                } catch {
                    return .refused(RPCError("internal", "\(error)"))
                }
            }
        }
    }
}

/// A `send` for the batcher that records each batch and holds it until let go.
final class HeldSends: Sendable {
    let batches = Mutex<[[SubmitBatch.Item]]>([])
    let hold = Hold()
    let failing = Atomic<Bool>(false)

    var sizes: [Int] { batches.withLock { $0.map(\.count) } }

    /// The answer a transaction gets: accepted with its first byte as the fee, or refused when that byte is odd.
    static func answer(_ item: SubmitBatch.Item) -> SubmitBatch.Answer {
        let b = item.raw[0]
        return b % 2 == 0 ? .accepted(txid: Hash256(bytes: Array(repeating: b, count: 32)), fee: UInt64(b), size: item.raw.count)
                          : .refused(RPCError("dust", "item \(b)"))
    }

    func send(_ items: [SubmitBatch.Item]) async throws -> [SubmitBatch.Answer] {
        batches.withLock { $0.append(items) }
        await hold.wait()
        if failing.load(ordering: .relaxed) { throw BusError.unreachable(endpoint: "tcp://nowhere", attempts: 3) }
        return items.map(Self.answer)
    }
}

/// The edge's batcher (SubmitBatcher.swift): concurrent submissions share `submittxs` batches, with
/// no timer, and each answer reaches its own caller.
@Suite("Submission batches")
struct SubmitBatcherTests {
    static func item(_ b: UInt8) -> SubmitBatch.Item { SubmitBatch.Item(raw: [b, 0, 0], receivedAt: Double(b)) }

    /// Starts submissions of `bytes`, each in its own task; their answers by byte.
    static func submitAll(_ batcher: SubmitBatcher, _ bytes: [UInt8]) -> Task<[UInt8: Result<SubmitBatch.Answer, any Error>], Never> {
        Task {
            await withTaskGroup(of: (UInt8, Result<SubmitBatch.Answer, any Error>).self) { group in
                for b in bytes {
                    group.addTask {
                        do { return (b, .success(try await batcher.submit(item(b)))) } catch { return (b, .failure(error)) }
                    }
                }
                return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
        }
    }

    @Test("alone it goes at once; those arriving meanwhile go together when it returns; each gets its own answer")
    func concurrentSubmissionsShareBatches() async throws {
        try await withHangGuard(seconds: 180) {
            let sends = HeldSends()
            let batcher = SubmitBatcher(maxCount: 128, maxInFlight: 1) { try await sends.send($0) }
            // an idle edge: the first goes alone, without waiting for company
            let first = Self.submitAll(batcher, [0])
            try await waitUntil("the first batch sent") { sends.sizes == [1] }
            // 40 more while it is in flight: they wait for it, then go as one batch
            let rest = Self.submitAll(batcher, Array(1...40))
            try await waitUntil("40 waiting") { batcher.waitingCount == 40 }
            #expect(sends.sizes == [1])
            sends.hold.open()
            let answers = await first.value.merging(await rest.value) { a, _ in a }
            #expect(sends.sizes == [1, 40])
            #expect(Set(sends.batches.withLock { $0[1].map { $0.raw[0] } }) == Set(1...40))
            for b in UInt8(0)...40 {
                let answer = try #require(try answers[b]?.get())
                #expect(answer == HeldSends.answer(Self.item(b)), "byte \(b)")
            }
            #expect(batcher.stats == SubmitBatcher.Stats(batches: 2, transactions: 41, largest: 40))
        }
    }

    @Test("by default two batches go before the rest wait; the first to return takes those waiting")
    func twoInFlight() async throws {
        try await withHangGuard(seconds: 180) {
            let sends = HeldSends()
            let batcher = SubmitBatcher { try await sends.send($0) }
            #expect(batcher.maxInFlight == SubmitBatcher.defaultMaxInFlight && SubmitBatcher.defaultMaxInFlight == 2)
            let first = Self.submitAll(batcher, [0])
            try await waitUntil("the first batch sent") { sends.sizes == [1] }
            let second = Self.submitAll(batcher, [1])
            try await waitUntil("the second goes alone too, while the first is in flight") { sends.sizes == [1, 1] }
            let rest = Self.submitAll(batcher, Array(2...31))
            try await waitUntil("30 waiting") { batcher.waitingCount == 30 }
            #expect(sends.sizes == [1, 1])
            sends.hold.open()
            let answers = await first.value.merging(await second.value) { a, _ in a }.merging(await rest.value) { a, _ in a }
            #expect(sends.sizes == [1, 1, 30])
            for b in UInt8(0)...31 {
                #expect(try answers[b]?.get() == HeldSends.answer(Self.item(b)), "byte \(b)")
            }
        }
    }

    @Test("a full batch goes at once, without waiting for the one in flight")
    func aFullBatchDoesNotWait() async throws {
        try await withHangGuard(seconds: 180) {
            let sends = HeldSends()
            let batcher = SubmitBatcher(maxCount: 4, maxInFlight: 1) { try await sends.send($0) }
            let first = Self.submitAll(batcher, [0])
            try await waitUntil("the first batch sent") { sends.sizes == [1] }
            let rest = Self.submitAll(batcher, Array(1...10))
            try await waitUntil("two full batches sent, two waiting") { sends.sizes == [1, 4, 4] && batcher.waitingCount == 2 }
            sends.hold.open()
            let answers = await first.value.merging(await rest.value) { a, _ in a }
            #expect(answers.count == 11 && answers.values.allSatisfy { (try? $0.get()) != nil })
            #expect(sends.sizes.reduce(0, +) == 11 && sends.sizes.allSatisfy { $0 <= 4 })
        }
    }

    @Test("a failed request fails every caller of its batch, and the next batch is sent")
    func aFailedBatchFailsItsCallers() async throws {
        try await withHangGuard(seconds: 180) {
            let sends = HeldSends()
            sends.failing.store(true, ordering: .relaxed)
            let batcher = SubmitBatcher(maxInFlight: 1) { try await sends.send($0) }
            let first = Self.submitAll(batcher, [0])
            try await waitUntil("the first batch sent") { sends.sizes == [1] }
            let rest = Self.submitAll(batcher, [1, 2, 3])
            try await waitUntil("3 waiting") { batcher.waitingCount == 3 }
            sends.hold.open()
            for (_, result) in await first.value.merging(await rest.value, uniquingKeysWith: { a, _ in a }) {
                #expect(throws: BusError.self) { try result.get() }
            }
            #expect(sends.sizes == [1, 3])
            sends.failing.store(false, ordering: .relaxed)
            #expect(try await batcher.submit(Self.item(4)) == HeldSends.answer(Self.item(4)))
        }
    }

    @Test("over the bus: the edge's batches reach a mempool's submittxs as binary and each answer its caller")
    func overTheBus() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let received = Mutex<[SubmitTx]>([])
            let router = RPCRouter([
                "submittxs": RPCRouter.submitBatch { p in
                    received.withLock { $0.append(p) }
                    guard let raw = Hex.decode(p.hex), raw[0] % 2 == 0 else { throw RPCError("bad-txns-inputs-missingorspent", "\(p.hex) spends nothing") }
                    return SubmitTxResult(txid: Hash256(bytes: Array(repeating: raw[0], count: 32)).hex, fee: UInt64(raw[0]), size: raw.count)
                },
            ])
            let server = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { await router.handle($0) }
            let client = try await RPCClient(context: context, endpoint: server.endpoints[0], timeout: .seconds(10), retries: 1)
            let batcher = SubmitBatcher { try await SubmitBatcher.send($0, to: client) }
            let answers = await Self.submitAll(batcher, Array(0..<60)).value
            for b in UInt8(0)..<60 {
                let answer = try #require(try answers[b]?.get())
                if b % 2 == 0 {
                    #expect(answer.result == .success(SubmitTxResult(txid: Hash256(bytes: Array(repeating: b, count: 32)).hex, fee: UInt64(b), size: 3)))
                } else {
                    #expect(answer.result == .failure(RPCError("bad-txns-inputs-missingorspent", "\(Hex.encode([b, 0, 0])) spends nothing")))
                }
            }
            #expect(received.withLock { $0.count } == 60)
            #expect(received.withLock { $0.allSatisfy { $0.receivedAt == Double(Hex.decode($0.hex)![0]) } })
            #expect(batcher.stats.transactions == 60 && batcher.stats.batches <= 60)
            #expect(server.stats.executed == batcher.stats.batches)
            // a JSON call of the binary method is refused, saying so
            await #expect(throws: RPCError.self) { _ = try await client.call("submittxs", Empty(), as: Empty.self) }
            await client.stop()
            await server.stop()
            await context.terminate()
        }
    }
}
