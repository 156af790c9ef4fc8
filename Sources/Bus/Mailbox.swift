import CZMQ
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The command queue into a socket thread: a `Mutex`-protected array plus an eventfd that the thread
/// polls beside its socket with `zmq_poll`. Any task or thread may `post`; only the owning thread
/// `drain`s. Posting never blocks (the eventfd is non-blocking and written under the lock, so it
/// cannot be closed underneath a poster).
final class Mailbox<Command: Sendable>: Sendable {
    private struct State {
        var commands: [Command] = []
        var closed = false
    }

    private let state = Mutex(State())
    /// The eventfd to poll for `.readable`.
    let fd: Int32

    init() throws(ZMQError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw ZMQError(code: errno) }
        self.fd = fd
    }

    /// Queues a command and wakes the thread. Returns false (and drops it) once the thread has exited.
    @discardableResult
    func post(_ command: Command) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            let wasEmpty = state.commands.isEmpty
            state.commands.append(command)
            if wasEmpty { signal() }
            return true
        }
    }

    /// Queues several commands, in order, with one wake. Returns false (and drops them) once the thread has exited.
    @discardableResult
    func post(_ commands: [Command]) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            guard !commands.isEmpty else { return true }
            let wasEmpty = state.commands.isEmpty
            state.commands += commands
            if wasEmpty { signal() }
            return true
        }
    }

    /// Wakes the thread without a command (e.g. the consumer freed capacity).
    func wake() {
        state.withLock { state in
            if !state.closed { signal() }
        }
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// Owning thread: clears the eventfd and takes every queued command, oldest first.
    func drain() -> [Command] {
        var counter: UInt64 = 0
        _ = read(fd, &counter, 8)
        return state.withLock { state in
            defer { state.commands = [] }
            return state.commands
        }
    }

    /// Owning thread, on exit: refuses further posts, closes the eventfd and returns what was left.
    func close() -> [Command] {
        state.withLock { state in
            guard !state.closed else { return [] }
            state.closed = true
            Glibc.close(fd)
            defer { state.commands = [] }
            return state.commands
        }
    }
}
