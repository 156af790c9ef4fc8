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

    func produced(_ n: Int = 1) { state.withLock { $0.undelivered += n } }

    /// Consumer: `n` elements taken out of the stream (one by default).
    func consumed(_ n: Int = 1) {
        let wakeUp = state.withLock { state -> Bool in
            state.undelivered -= n
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
///
/// The thread hands its output over in batches (what one wake of the thread read, in order), so a
/// burst of publications costs the consumer one resumption instead of one per message; the
/// iterator gives them out one at a time, in the order produced, and counts each as consumed as it
/// gives it out (so the bound above counts elements, batched or not).
public struct EventStream<Element: Sendable>: AsyncSequence, Sendable {
    let stream: AsyncStream<[Element]>
    let flow: Backpressure

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<[Element]>.Iterator
        let flow: Backpressure
        /// The batch being given out, from `index`.
        var batch: [Element] = []
        var index = 0

        public mutating func next() async -> Element? {
            if index == batch.count {
                guard let next = await base.next() else { return nil }
                batch = next
                index = 0
            }
            return take()
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> Element? {
            if index == batch.count {
                guard let next = await base.next(isolation: actor) else { return nil }
                batch = next
                index = 0
            }
            return take()
        }

        private mutating func take() -> Element {
            let element = batch[index]
            index += 1
            if index == batch.count {
                batch = []
                index = 0
            }
            flow.consumed()
            return element
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), flow: flow)
    }
}

/// The producing side of an `EventStream`, used by the socket thread.
struct EventSink<Element: Sendable>: Sendable {
    let continuation: AsyncStream<[Element]>.Continuation
    let flow: Backpressure

    static func make(capacity: Int, wake: @escaping @Sendable () -> Void) -> (EventStream<Element>, EventSink<Element>) {
        let flow = Backpressure(capacity: capacity, wake: wake)
        let (stream, continuation) = AsyncStream<[Element]>.makeStream(bufferingPolicy: .unbounded)
        continuation.onTermination = { _ in flow.abandon() }
        return (EventStream(stream: stream, flow: flow), EventSink(continuation: continuation, flow: flow))
    }

    func yield(_ element: Element) { yield(contentsOf: [element]) }

    /// Hands over `elements` as one batch, in order (nothing when empty).
    func yield(contentsOf elements: [Element]) {
        guard !elements.isEmpty else { return }
        flow.produced(elements.count)
        if case .enqueued = continuation.yield(elements) { return }
        flow.consumed(elements.count)
    }

    func finish() { continuation.finish() }
}
