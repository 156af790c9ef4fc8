import Logging
import Synchronization

/// Publishes Bitcoin Core-framed notifications (`topic | body | uint32 LE sequence`, the sequence
/// counted per topic from 0) on an XPUB socket owned by a dedicated thread.
///
/// Plain ZeroMQ subscribers (Bitcoin Core's `zmq_sub.py`, pyzmq's
/// `topic, body, seq = sock.recv_multipart()`) work unchanged, so the public Bitcoin-compatible
/// notification endpoint can be served by this same `Publisher` (bind it to that address too, or
/// run a second `Publisher` there).
///
/// **Slow joiner without sleeps.** Because the socket is an XPUB, the publisher thread sees
/// subscription frames. A `Subscriber` subscribes to its topics and then to a unique sync topic
/// (`0xFF "cairn.sync/" <random>`); on reading that subscription the thread publishes, on the sync
/// topic, a sync message carrying its instance id and its current next sequence number per topic
/// (see `BusFraming` for the format). Subscriptions on one connection are applied in order, so every
/// publication after the sync message reaches the subscriber, which therefore knows the exact next
/// sequence per topic and gap-checks even the first message after joining. The sync topic starts with
/// 0xFF (never valid UTF-8) so it cannot prefix-match a normal topic, and it has its own sequence
/// frame (always 0): plain subscribers are not disturbed and no normal counter is consumed.
///
/// **Who listens.** The thread also keeps the set of topic prefixes subscribed to (XPUB passes every
/// subscription, and an unsubscription when the last subscriber of a prefix leaves or disconnects),
/// so a caller can skip making a message nobody would receive (`publish(topic:ifSubscribed:)`). A
/// skipped message takes no sequence number: a subscriber never sees a gap for it, and one that
/// subscribes later learns the next number from its sync answer, as always.
public final class Publisher: Sendable {
    enum Command: Sendable {
        case publish(topic: [UInt8], name: String, body: [UInt8], sequence: UInt32)
        case flush(OneShot<Bool>)
        case stop
    }

    /// Random id of this publisher instance (a restarted publisher gets a new one).
    public let instanceID: [UInt8]
    /// The bound endpoints, with wildcard ports resolved (`tcp://127.0.0.1:*` → the real port).
    public let endpoints: [String]

    private let mailbox: Mailbox<Command>
    private let thread: SocketThread
    private let counters = Mutex<[String: UInt32]>([:])
    /// The topic prefixes some subscriber holds (kept by the socket thread).
    private let subscribed: Subscriptions

    /// Binds an XPUB to every endpoint. `hwm` is the send high-water mark per subscriber
    /// (messages beyond it are dropped by libzmq and show up as gaps at the subscriber).
    public init(
        context: ZMQContext, bind: [String], hwm: Int32 = 1000,
        curve: CurveKeyPair? = nil, logger: Logger = Logger(label: "cairn.bus")
    ) async throws {
        let instanceID = BusFraming.randomBytes(16)
        let mailbox = try Mailbox<Command>()
        let setup = OneShot<Result<[String], ZMQError>>()
        let subscribed = Subscriptions()
        self.instanceID = instanceID
        self.mailbox = mailbox
        self.subscribed = subscribed
        self.thread = SocketThread(name: "cairn.bus.pub") {
            PublisherLoop.run(context: context, bind: bind, hwm: hwm, curve: curve, instanceID: instanceID,
                              mailbox: mailbox, setup: setup, subscribed: subscribed, logger: logger)
        }
        switch await setup.value() {
        case let .success(endpoints): self.endpoints = endpoints
        case let .failure(error):
            await thread.join()
            throw error
        }
    }

    /// Queues a publication and returns its sequence number. Never blocks; the socket thread sends it.
    @discardableResult
    public func publish(topic: String, body: [UInt8]) -> UInt32 {
        precondition(topic.utf8.count <= Int(UInt16.max), "topic too long")
        // The counter is taken under the same lock order as the queue, so sequences go out in order.
        return counters.withLock { counters in
            let sequence = counters[topic, default: 0]
            counters[topic] = sequence &+ 1
            mailbox.post(.publish(topic: Array(topic.utf8), name: topic, body: body, sequence: sequence))
            return sequence
        }
    }

    /// Queues several publications at once, in order (one lock and at most one wake of the socket
    /// thread for all), and returns their sequence numbers.
    @discardableResult
    public func publish(_ messages: [(topic: String, body: [UInt8])]) -> [UInt32] {
        for m in messages { precondition(m.topic.utf8.count <= Int(UInt16.max), "topic too long") }
        return counters.withLock { counters in
            var commands = [Command]()
            commands.reserveCapacity(messages.count)
            let sequences = messages.map { m -> UInt32 in
                let sequence = counters[m.topic, default: 0]
                counters[m.topic] = sequence &+ 1
                commands.append(.publish(topic: Array(m.topic.utf8), name: m.topic, body: m.body, sequence: sequence))
                return sequence
            }
            mailbox.post(commands)
            return sequences
        }
    }

    /// Publishes `body()` on `topic` only if some subscriber holds a prefix of it (nil otherwise:
    /// nothing made, no sequence number taken). For messages that cost something to make and that
    /// only some deployments listen to (trace events). Only for live-only topics: a subscriber whose
    /// connection drops and comes back misses what was skipped meanwhile, and sees no gap for it.
    @discardableResult
    public func publish(topic: String, ifSubscribed body: () throws -> [UInt8]) rethrows -> UInt32? {
        guard hasSubscriber(topic) else { return nil }
        return publish(topic: topic, body: try body())
    }

    /// Whether some connected subscriber holds a prefix of `topic` (as this publisher's thread has
    /// seen the subscriptions so far).
    public func hasSubscriber(_ topic: String) -> Bool { subscribed.contains(topic) }

    /// The next sequence number of every topic published so far (what a subscriber expects next).
    public func nextSequences() -> [String: UInt32] { counters.withLock { $0 } }

    /// Waits until every publication queued before this call has been handed to libzmq.
    /// Returns false (at once) if the publisher has stopped.
    @discardableResult
    public func flush() async -> Bool {
        let done = OneShot<Bool>()
        guard mailbox.post(.flush(done)) else { return false }
        return await done.value()
    }

    /// Stops the thread and closes the socket (queued publications not yet sent are dropped).
    /// Safe to call more than once; never hangs.
    public func stop() async {
        mailbox.post(.stop)
        await thread.join()
    }

    deinit { mailbox.post(.stop) }
}

/// The publisher's socket thread.
enum PublisherLoop {
    static func run(
        context: ZMQContext, bind: [String], hwm: Int32, curve: CurveKeyPair?, instanceID: [UInt8],
        mailbox: Mailbox<Publisher.Command>, setup: OneShot<Result<[String], ZMQError>>,
        subscribed: Subscriptions = Subscriptions(), logger: Logger
    ) {
        // Commands drained but not yet carried out when the loop ends (after `.stop`, or when a send
        // throws): with those still queued, their flush waiters are released, never left hanging.
        var pending: ArraySlice<Publisher.Command> = []
        defer {
            for case let .flush(done) in Array(pending) + mailbox.close() { done.set(false) }
        }
        let socket: ZMQSocket
        do {
            socket = try ZMQSocket(context: context, type: .xpub)
            try socket.setSendHighWaterMark(hwm)
            try socket.setXPubVerbose(true)
            if let curve { try socket.setCurve(.server(curve)) }
            var endpoints: [String] = []
            for endpoint in bind {
                try socket.bind(endpoint)
                endpoints.append(socket.lastEndpoint ?? endpoint)
            }
            setup.set(.success(endpoints))
        } catch {
            setup.set(.failure(error))
            return
        }
        defer { socket.close() }

        var sent: [String: UInt32] = [:]
        var items = [ZMQPollItem(fd: mailbox.fd, .readable), ZMQPollItem(socket, .readable)]
        do {
            while true {
                try ZMQPoller.poll(&items, timeoutMilliseconds: -1)
                if items[1].returned.contains(.readable) {
                    // Subscription frames: 0x01/0x00 + topic. Answer subscriptions to a sync topic.
                    var budget = 1024
                    while budget > 0, let frames = try socket.receive(dontWait: true) {
                        budget -= 1
                        guard frames.count == 1, let kind = frames[0].first else { continue }
                        let topic = Array(frames[0].dropFirst())
                        if !BusFraming.isSyncTopic(topic) {
                            if kind == 1 { subscribed.insert(topic) } else if kind == 0 { subscribed.remove(topic) }
                            continue
                        }
                        guard kind == 1 else { continue }
                        let body = SyncSnapshot(instance: instanceID, next: sent).encoded()
                        if try !socket.send([topic, body, BusFraming.le32(0)], dontWait: true) {
                            logger.warning("sync message not sent (EAGAIN)")
                        }
                    }
                }
                if items[0].returned.contains(.readable) {
                    pending = mailbox.drain()[...]
                    while let command = pending.popFirst() {
                        switch command {
                        case let .publish(topic, name, body, sequence):
                            // XPUB drops at the HWM instead of blocking; subscribers see a gap.
                            _ = try socket.send([topic, body, BusFraming.le32(sequence)], dontWait: true)
                            sent[name] = sequence &+ 1
                        case let .flush(done):
                            done.set(true)
                        case .stop:
                            return
                        }
                    }
                }
            }
        } catch let error where error.isTerminated {
            logger.debug("publisher: context terminated")
        } catch {
            logger.error("publisher thread failed: \(error)")
        }
    }
}

/// The topic prefixes subscribed to on a publisher's socket. XPUB (verbose) passes every
/// subscription and, by default, an unsubscription only once no subscriber holds the prefix any
/// more (libzmq sends those also for the prefixes of a subscriber that disconnects), so a set is
/// an exact account.
final class Subscriptions: Sendable {
    private let prefixes = Mutex<Set<[UInt8]>>([])

    func insert(_ prefix: [UInt8]) { prefixes.withLock { _ = $0.insert(prefix) } }
    func remove(_ prefix: [UInt8]) { prefixes.withLock { _ = $0.remove(prefix) } }

    func contains(_ topic: String) -> Bool {
        prefixes.withLock { set in
            set.contains { prefix in prefix.count <= topic.utf8.count && topic.utf8.starts(with: prefix) }
        }
    }
}
