import Bus
import Logging
import NodeKit
import ServiceLifecycle
import Synchronization

/// Wakes `getblocktemplate` long polls: a new tip (chain store `tip`) or new work (mempool `template`).
final class LongPollSignal: Sendable {
    private let chainSub: Subscriber
    private let mempoolSub: Subscriber
    private let waiters: Waiters
    private let tasks: [Task<Void, Never>]

    init(context: ZMQContext, endpoints: Endpoints, bus: BusSecurity, logger: Logger) async throws {
        chainSub = try await Subscriber(context: context, connect: [endpoints.chainPub], topics: [Topic.tip], hwm: 1_000,
                                        curve: bus.client(of: .chainstore), logger: logger)
        mempoolSub = try await Subscriber(context: context, connect: [endpoints.mempoolPub], topics: [Topic.template], hwm: 1_000,
                                          curve: bus.client(of: .mempool), logger: logger)
        let waiters = Waiters()
        self.waiters = waiters
        tasks = [chainSub.events, mempoolSub.events].map { events in
            Task {
                // Any event (a publication, a gap, a publisher restart) may mean new work.
                for await _ in events { waiters.wakeAll() }
            }
        }
    }

    func stop() async {
        await chainSub.stop()
        await mempoolSub.stop()
        for t in tasks { t.cancel() }
        waiters.wakeAll()
    }

    /// Returns at the next tip or template change, after `timeout`, when the task is cancelled, or
    /// at the edge's graceful shutdown (at once when it has begun): false then, so the long poll
    /// answers now. Hummingbird's graceful shutdown waits for the requests in flight, and a long
    /// poll left waiting held the edge's exit up to its 60 s, past `cairn up`'s and Docker's grace
    /// (measured: 59 s from SIGTERM to exit with one long poll open).
    func wait(timeout: Duration) async -> Bool {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = waiters.add(continuation)
        defer { waiters.remove(id) }
        let shuttingDown = Flag()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { for await _ in stream { return } }
                group.addTask { try? await Task.sleep(for: timeout) }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            shuttingDown.value.store(true, ordering: .relaxed)
            continuation.yield()
        }
        return !shuttingDown.value.load(ordering: .relaxed)
    }

    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    final class Waiters: Sendable {
        private let state = Mutex<(next: Int, waiting: [Int: AsyncStream<Void>.Continuation])>((0, [:]))

        func add(_ c: AsyncStream<Void>.Continuation) -> Int {
            state.withLock { s in
                s.next += 1
                s.waiting[s.next] = c
                return s.next
            }
        }

        func remove(_ id: Int) { _ = state.withLock { $0.waiting.removeValue(forKey: id) } }

        func wakeAll() {
            let all = state.withLock { Array($0.waiting.values) }
            for c in all { c.yield() }
        }
    }
}
