import Foundation

/// A dedicated OS thread that owns libzmq sockets (they are not thread-safe). Async code talks to it
/// through a `Mailbox` and gets results through `OneShot`s or an `EventStream`; it never runs on, or
/// blocks, the Swift cooperative pool.
final class SocketThread: Sendable {
    private let finished = OneShot<Void>()

    /// Starts `body` on a new thread; `finished` opens when it returns.
    init(name: String, _ body: @escaping @Sendable () -> Void) {
        let finished = self.finished
        let thread = Thread {
            body()
            finished.set(())
        }
        thread.name = name
        thread.start()
    }

    /// Waits (without blocking a thread) until the body has returned.
    func join() async { await finished.value() }

    var hasFinished: Bool { finished.current != nil }
}

/// Milliseconds until `deadline` for `zmq_poll`, rounded up so a wake-up is never early.
func pollTimeout(until deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant = .now) -> Int {
    guard let deadline else { return -1 }
    let left = now.duration(to: deadline)
    if left <= .zero { return 0 }
    let (seconds, attoseconds) = left.components
    return Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
}
