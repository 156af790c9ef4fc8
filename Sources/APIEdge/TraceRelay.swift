import Bus
import Logging
import NodeKit
import Synchronization

/// The services' live `trace` events (chain store, mempool, peer bridge), relayed to `/api/ws`
/// clients, subscribed to only while a client is connected. Under a payment flood each
/// transaction makes several trace events; with no client nobody would see them, so the edge
/// holds no `trace` subscription then, and the services, which publish a trace event only when
/// someone subscribes (`Publisher.publish(topic:ifSubscribed:)`), do not even encode them.
///
/// The first client's connection starts the subscriptions (within moments: the subscribers'
/// handshakes); after the last one leaves they are kept `linger` longer, so a client that
/// reconnects finds them running. Trace events are live only (never replayed, not numbered in
/// the feed), so a client sees those published while it is connected and the subscriptions run.
final class TraceRelay: Sendable {
    /// The running subscriptions and the tasks forwarding their messages.
    struct Active: Sendable {
        let subscribers: [Subscriber]
        let tasks: [Task<Void, Never>]
    }

    private struct State {
        var clients = 0
        var active: Active?
        /// A reconciling task is running (it alone starts and stops subscriptions).
        var running = false
        var stopped = false
        var starts = 0
    }

    /// Makes the subscribers (each on `Topic.trace` of one service).
    typealias Make = @Sendable () async throws -> [Subscriber]
    private let make: Make
    private let deliver: @Sendable ([UInt8]) -> Void
    private let linger: Duration
    private let logger: Logger
    private let state = Mutex(State())

    init(linger: Duration = .seconds(10), logger: Logger, make: @escaping Make, deliver: @escaping @Sendable ([UInt8]) -> Void) {
        self.make = make
        self.deliver = deliver
        self.linger = linger
        self.logger = logger
    }

    /// How many times the subscriptions were started (tests).
    var starts: Int { state.withLock { $0.starts } }
    var isRunning: Bool { state.withLock { $0.active != nil } }

    /// The hub's number of clients (`Hub.observeClients`).
    func clientsChanged(_ n: Int) {
        let kick = state.withLock { s -> Bool in
            s.clients = n
            guard !s.running, !s.stopped, (n > 0) != (s.active != nil) else { return false }
            s.running = true
            return true
        }
        if kick { Task { await self.reconcile() } }
    }

    /// Starts or stops the subscriptions until they match whether clients are connected.
    private func reconcile() async {
        while true {
            enum Step { case start, stop(Active), done }
            let step = state.withLock { s -> Step in
                if s.stopped || (s.clients > 0) == (s.active != nil) {
                    s.running = false
                    return .done
                }
                return s.active.map { .stop($0) } ?? .start
            }
            switch step {
            case .done:
                return
            case .start:
                do {
                    let subscribers = try await make()
                    let deliver = self.deliver
                    let tasks = subscribers.map { sub in
                        Task {
                            // Gaps and resets need nothing here: trace events are live only.
                            for await event in sub.events {
                                if case .message(_, let body, _) = event { deliver(body) }
                            }
                        }
                    }
                    let active = Active(subscribers: subscribers, tasks: tasks)
                    let keep = state.withLock { s -> Bool in
                        guard !s.stopped else { return false }
                        s.active = active
                        s.starts += 1
                        return true
                    }
                    if !keep { await Self.stop(active) }
                } catch {
                    logger.warning("trace relay: could not subscribe; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            case .stop(let active):
                // Kept a little longer: a client reconnecting finds the subscriptions running.
                try? await Task.sleep(for: linger)
                let stop = state.withLock { s -> Bool in
                    guard s.clients == 0 || s.stopped, s.active != nil else { return false }
                    s.active = nil
                    return true
                }
                if stop { await Self.stop(active) }
            }
        }
    }

    private static func stop(_ active: Active) async {
        for s in active.subscribers { await s.stop() }
        for t in active.tasks { t.cancel() }
    }

    /// Stops the subscriptions for good (the edge stopping).
    func stop() async {
        let active = state.withLock { s -> Active? in
            s.stopped = true
            defer { s.active = nil }
            return s.active
        }
        if let active { await Self.stop(active) }
    }
}
