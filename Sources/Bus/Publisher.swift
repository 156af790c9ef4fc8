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

    /// Binds an XPUB to every endpoint. `hwm` is the send high-water mark per subscriber
    /// (messages beyond it are dropped by libzmq and show up as gaps at the subscriber).
    public init(
        context: ZMQContext, bind: [String], hwm: Int32 = 1000,
        curve: CurveKeyPair? = nil, logger: Logger = Logger(label: "cairn.bus")
    ) async throws {
        let instanceID = BusFraming.randomBytes(16)
        let mailbox = try Mailbox<Command>()
        let setup = OneShot<Result<[String], ZMQError>>()
        self.instanceID = instanceID
        self.mailbox = mailbox
        self.thread = SocketThread(name: "cairn.bus.pub") {
            PublisherLoop.run(context: context, bind: bind, hwm: hwm, curve: curve, instanceID: instanceID,
                              mailbox: mailbox, setup: setup, logger: logger)
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
        mailbox: Mailbox<Publisher.Command>, setup: OneShot<Result<[String], ZMQError>>, logger: Logger
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
                        guard kind == 1, BusFraming.isSyncTopic(topic) else { continue }
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
