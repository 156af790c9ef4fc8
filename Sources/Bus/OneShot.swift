import Synchronization

/// A value set once by one side (usually a socket thread) and awaited by any number of tasks.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [UInt64: CheckedContinuation<Value, any Error>] = [:]
        var plainWaiters: [CheckedContinuation<Value, Never>] = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Sets the value and wakes every waiter. Later calls are ignored; returns false for them.
    @discardableResult
    func set(_ value: Value) -> Bool {
        let (waiters, plain) = state.withLock { state -> ([CheckedContinuation<Value, any Error>], [CheckedContinuation<Value, Never>]) in
            guard state.value == nil else { return ([], []) }
            state.value = value
            defer { state.waiters = [:]; state.plainWaiters = [] }
            return (Array(state.waiters.values), state.plainWaiters)
        }
        for waiter in waiters { waiter.resume(returning: value) }
        for waiter in plain { waiter.resume(returning: value) }
        return true
    }

    var current: Value? { state.withLock { $0.value } }

    /// Waits for the value, ignoring task cancellation.
    func value() async -> Value {
        await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
            let ready = state.withLock { state -> Value? in
                if let value = state.value { return value }
                state.plainWaiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Waits for the value; throws `CancellationError` if the waiting task is cancelled first.
    func cancellableValue() async throws -> Value {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let immediate = state.withLock { state -> Result<Value, any Error>? in
                    if let value = state.value { return .success(value) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// Runs `operation`, throwing `BusError.timeout(what)` if it has not finished after `timeout`.
/// The operation must react to cancellation.
func withTimeout<T: Sendable>(
    _ timeout: Duration, _ what: String, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw BusError.timeout(what)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw BusError.timeout(what) }
        return first
    }
}
