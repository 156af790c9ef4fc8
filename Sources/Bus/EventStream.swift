import Synchronization

/// Flow control between a socket thread (producer) and one async consumer. The thread may hand over
/// at most `capacity` undelivered elements; beyond that it stops reading its socket (so libzmq's
/// own high-water mark applies, and for PUB/SUB a loss shows up as a sequence gap) until the
/// consumer has caught up to half the capacity, when the thread is woken through its mailbox.
final class Backpressure: Sendable {
    private struct State {
        var undelivered = 0
        var paused = false
        var abandoned = false
    }

    let capacity: Int
    private let state = Mutex(State())
    private let wake: @Sendable () -> Void

    init(capacity: Int, wake: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.wake = wake
    }

    /// Producer: how many more elements it may yield now. Zero marks it paused (a consumer will wake it).
    func room() -> Int {
        state.withLock { state in
            if state.abandoned { return Int.max }
            let room = capacity - state.undelivered
            if room <= 0 { state.paused = true }
            return max(0, room)
        }
    }

    func produced() { state.withLock { $0.undelivered += 1 } }

    /// Consumer: one element taken out of the stream.
    func consumed() {
        let wakeUp = state.withLock { state -> Bool in
            state.undelivered -= 1
            if state.paused && state.undelivered <= capacity / 2 {
                state.paused = false
                return true
            }
            return false
        }
        if wakeUp { wake() }
    }

    /// The consumer is gone: never pause again.
    func abandon() {
        state.withLock { $0.abandoned = true }
        wake()
    }
}

/// An `AsyncSequence` of a socket thread's output with backpressure (nothing is dropped silently).
/// Single consumer: iterate it from one task only.
public struct EventStream<Element: Sendable>: AsyncSequence, Sendable {
    let stream: AsyncStream<Element>
    let flow: Backpressure

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<Element>.Iterator
        let flow: Backpressure

        public mutating func next() async -> Element? {
            let element = await base.next()
            if element != nil { flow.consumed() }
            return element
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> Element? {
            let element = await base.next(isolation: actor)
            if element != nil { flow.consumed() }
            return element
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), flow: flow)
    }
}

/// The producing side of an `EventStream`, used by the socket thread.
struct EventSink<Element: Sendable>: Sendable {
    let continuation: AsyncStream<Element>.Continuation
    let flow: Backpressure

    static func make(capacity: Int, wake: @escaping @Sendable () -> Void) -> (EventStream<Element>, EventSink<Element>) {
        let flow = Backpressure(capacity: capacity, wake: wake)
        let (stream, continuation) = AsyncStream<Element>.makeStream(bufferingPolicy: .unbounded)
        continuation.onTermination = { _ in flow.abandon() }
        return (EventStream(stream: stream, flow: flow), EventSink(continuation: continuation, flow: flow))
    }

    func yield(_ element: Element) {
        flow.produced()
        if case .enqueued = continuation.yield(element) { return }
        flow.consumed()
    }

    func finish() { continuation.finish() }
}
