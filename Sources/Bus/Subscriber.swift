import Logging
import Synchronization

/// What a `Subscriber` delivers.
public enum SubscriberEvent: Sendable, Equatable {
    /// A publication: `sequence` is the publisher's per-topic counter.
    case message(topic: String, body: [UInt8], sequence: UInt32)
    /// Publications `expected ..< received` of `topic` were lost (high-water mark, slow consumer).
    /// Usually `received` is the message that follows (delivered next); when a later sync message
    /// reveals a loss at the tail, it is the publisher's next sequence number.
    case gap(topic: String, expected: UInt32, received: UInt32)
    /// The publisher of `topic` restarted: its counter went back (`received < expected`), or a sync
    /// from a new publisher instance replaced the old one (then `received` is its next sequence).
    case reset(topic: String, expected: UInt32, received: UInt32)
}

/// Subscribes to Bitcoin Core-framed publications and checks their per-topic sequence numbers.
///
/// After connecting and subscribing to `topics` (ZeroMQ prefix matching), it subscribes to a unique
/// sync topic; the `Publisher` answers with its next sequence per topic (see `Publisher`), after which
/// `ready()` returns and every publication is gap-checked, including the first. The sync subscription
/// is renewed every `resyncInterval` until every endpoint's publisher has answered.
///
/// Each topic should have one publisher (the framing carries no publisher id). `events` is a
/// single-consumer stream with backpressure: when `capacity` events are undelivered the socket
/// thread stops reading, libzmq's high-water mark applies, and losses surface as `.gap` events.
public final class Subscriber: Sendable {
    enum Command: Sendable {
        case stop
    }

    public let events: EventStream<SubscriberEvent>
    public let endpoints: [String]
    public let topics: [String]

    private let mailbox: Mailbox<Command>
    private let thread: SocketThread
    private let synced: OneShot<Bool>

    public init(
        context: ZMQContext, connect: [String], topics: [String], hwm: Int32 = 1000,
        capacity: Int = 10_000, curve: CurveSecurity? = nil, resyncInterval: Duration = .milliseconds(500),
        logger: Logger = Logger(label: "cairn.bus")
    ) async throws {
        let mailbox = try Mailbox<Command>()
        let (events, sink) = EventSink<SubscriberEvent>.make(capacity: capacity) { mailbox.wake() }
        let setup = OneShot<ZMQError?>()
        let synced = OneShot<Bool>()
        self.events = events
        self.endpoints = connect
        self.topics = topics
        self.mailbox = mailbox
        self.synced = synced
        let config = SubscriberLoop.Config(
            context: context, connect: connect, topics: topics, hwm: hwm, curve: curve,
            resyncInterval: resyncInterval, logger: logger)
        self.thread = SocketThread(name: "cairn.bus.sub") {
            var loop = SubscriberLoop(config: config, mailbox: mailbox, sink: sink, synced: synced)
            loop.run(setup: setup)
        }
        if let error = await setup.value() {
            await thread.join()
            throw error
        }
    }

    /// Returns once every connected publisher has answered the sync handshake, so every later
    /// publication is received (or reported as a gap). Throws `BusError.timeout` after `timeout`
    /// (a hang guard) and `BusError.stopped` if the subscriber stopped first.
    public func ready(timeout: Duration = .seconds(10)) async throws {
        if thread.hasFinished { throw BusError.stopped }
        let synced = self.synced
        let ok = try await withTimeout(timeout, "subscriber sync with \(endpoints)") {
            try await synced.cancellableValue()
        }
        if !ok { throw BusError.stopped }
    }

    public var isReady: Bool { synced.current == true }

    /// Stops the thread, closes the socket and finishes `events`. Safe to call more than once.
    public func stop() async {
        mailbox.post(.stop)
        await thread.join()
    }

    deinit { mailbox.post(.stop) }
}
