import CZMQ
import Foundation
import Synchronization

/// A libzmq context. One per process is the norm; it is thread-safe and shared by every socket.
///
/// It is created with `ZMQ_BLOCKY = 0`, so every new socket gets a linger of 0 and termination never
/// waits for unsent messages. Each `ZMQSocket` keeps its context alive, so `deinit` only runs once
/// every socket is closed and never blocks. `shutdown()` makes blocked calls on every socket return
/// `ETERM` (the Bus socket threads then close their sockets and exit); `terminate()` does that and
/// waits, off the cooperative pool, until libzmq has released everything.
public final class ZMQContext: Sendable {
    /// The raw `void*` context; libzmq allows it to be used from any thread.
    nonisolated(unsafe) let handle: UnsafeMutableRawPointer
    /// Set (under the lock) before termination starts: no socket is created after that, so the raw
    /// handle is never used once libzmq has freed it.
    private let termination = Mutex<OneShot<Void>?>(nil)
    /// Sockets made by this context and not yet closed.
    private let sockets = Atomic<Int>(0)

    /// How many of this context's sockets are open: every Bus service closes its sockets on its own
    /// thread when it stops or is dropped, so this reaching 0 says their threads let go of them.
    public var openSockets: Int { sockets.load(ordering: .acquiring) }

    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last() }
        self.handle = handle
        if zmq_ctx_set(handle, ZMQ_BLOCKY, 0) != 0 || zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) != 0 {
            let error = ZMQError.last()
            zmq_ctx_term(handle)
            throw error
        }
    }

    /// Creates a raw socket unless termination has begun (then `ETERM`).
    func makeSocket(type: Int32) throws(ZMQError) -> UnsafeMutableRawPointer {
        let result = termination.withLock { state -> Result<UnsafeMutableRawPointer, ZMQError> in
            guard state == nil else { return .failure(ZMQError(code: ETERM)) }
            guard let socket = zmq_socket(handle, type) else { return .failure(ZMQError.last()) }
            sockets.add(1, ordering: .releasing)
            return .success(socket)
        }
        return try result.get()
    }

    /// Makes every blocking call on this context's sockets fail with `ETERM`. Returns at once.
    public func shutdown() {
        _ = zmq_ctx_shutdown(handle)
    }

    /// Shuts the context down and waits until libzmq has terminated it (all sockets closed).
    /// The blocking `zmq_ctx_term` runs on its own thread, never on the Swift cooperative pool.
    /// Calling it again (or concurrently) waits for the same termination.
    public func terminate() async {
        let (done, start) = termination.withLock { state -> (OneShot<Void>, Bool) in
            if let existing = state { return (existing, false) }
            let fresh = OneShot<Void>()
            state = fresh
            return (fresh, true)
        }
        if start {
            shutdown()
            let thread = Thread { [self] in
                self.terminateNow()
                done.set(())
            }
            thread.name = "cairn.bus.ctx-term"
            thread.start()
        }
        await done.value()
    }

    func socketClosed() { sockets.subtract(1, ordering: .releasing) }

    private func terminateNow() {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    deinit {
        // Only reached once every socket (each holds a strong reference) is closed, so this cannot block.
        let started = termination.withLock { $0 != nil }
        if !started { terminateNow() }
    }
}
