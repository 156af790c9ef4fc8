import Foundation
import Synchronization

/// A hang guard that expired: the guarded work did not finish.
public struct HangGuardExpired: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "hang guard expired: \(what) did not finish" }
}

/// Runs `body`, failing (instead of hanging the suite) if it has not finished after `seconds`.
/// The limit is a guard against deadlock only, never a performance expectation. It answers when
/// the guard expires even if `body` ignores its cancellation (the body is cancelled and left).
/// Three minutes by default: on a machine running at a third of its speed, WebSocket tests that
/// take 0.3 s alone went past 30 s in the whole suite (its tests share two cores and one
/// cooperative pool), and a real deadlock is reported either way.
@discardableResult
public func withHangGuard<T: Sendable>(
    _ what: String = #function, seconds: Int = 180, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = Outcome<T>()
    let work = Task {
        do { outcome.set(.success(try await body())) } catch { outcome.set(.failure(error)) }
    }
    let timer = Task {
        try? await Task.sleep(for: .seconds(seconds))
        outcome.set(.failure(HangGuardExpired(what: what)))
    }
    let result = await outcome.value()
    timer.cancel()
    if case .failure(let error) = result, error is HangGuardExpired { work.cancel() }
    return try result.get()
}

/// Runs blocking code (a raw socket's receive) on a thread of its own, never on the cooperative
/// pool; what it creates lives and dies on that thread.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let outcome = Outcome<T>()
    Thread {
        do { outcome.set(.success(try body())) } catch { outcome.set(.failure(error)) }
    }.start()
    return try await outcome.value().get()
}

/// The first result set wins; waiters are resumed once.
private final class Outcome<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiters: [CheckedContinuation<Result<T, any Error>, Never>] = []
    }
    private let state = Mutex(State())

    func set(_ result: Result<T, any Error>) {
        let waiters = state.withLock { s -> [CheckedContinuation<Result<T, any Error>, Never>] in
            guard s.result == nil else { return [] }
            s.result = result
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(returning: result) }
    }

    func value() async -> Result<T, any Error> {
        await withCheckedContinuation { c in
            let ready = state.withLock { s -> Result<T, any Error>? in
                if let r = s.result { return r }
                s.waiters.append(c)
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }
}
