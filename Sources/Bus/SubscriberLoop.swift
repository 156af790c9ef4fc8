import Logging

/// The subscriber's socket thread and its sequence bookkeeping.
struct SubscriberLoop {
    struct Config: Sendable {
        let context: ZMQContext
        let connect: [String]
        let topics: [String]
        let hwm: Int32
        let curve: CurveSecurity?
        let resyncInterval: Duration
        let logger: Logger
    }

    let config: Config
    let mailbox: Mailbox<Subscriber.Command>
    let sink: EventSink<SubscriberEvent>
    let synced: OneShot<Bool>

    /// Unique per subscriber, so only our own sync answer is taken as the handshake.
    let syncTopic = BusFraming.syncPrefix + Array(BusFraming.hex(BusFraming.randomBytes(8)).utf8)
    private var expected: [String: UInt32] = [:]
    private var owner: [String: [UInt8]] = [:]
    private var syncedInstances: Set<[UInt8]> = []
    /// With a single endpoint: the publisher instance that answered the latest sync.
    private var currentInstance: [UInt8]?
    private var allSynced = false
    private let topicPrefixes: [[UInt8]]
    /// The events of the current burst of reads, handed over together (`EventSink.yield(contentsOf:)`).
    private var pending: [SubscriberEvent] = []

    init(config: Config, mailbox: Mailbox<Subscriber.Command>, sink: EventSink<SubscriberEvent>, synced: OneShot<Bool>) {
        self.config = config
        self.mailbox = mailbox
        self.sink = sink
        self.synced = synced
        self.topicPrefixes = config.topics.map { Array($0.utf8) }
    }

    mutating func run(setup: OneShot<ZMQError?>) {
        let mailbox = self.mailbox, sink = self.sink, synced = self.synced, logger = config.logger
        defer {
            _ = mailbox.close()
            synced.set(false)
            sink.yield(contentsOf: pending)
            sink.finish()
        }
        let socket: ZMQSocket
        do {
            socket = try ZMQSocket(context: config.context, type: .sub)
            try socket.setReceiveHighWaterMark(config.hwm)
            if let curve = config.curve { try socket.setCurve(curve) }
            for endpoint in config.connect { try socket.connect(endpoint) }
            // Real topics first, the sync topic last: the publisher applies them in this order.
            for prefix in topicPrefixes { try socket.subscribe(prefix) }
            try socket.subscribe(syncTopic)
            setup.set(nil)
        } catch {
            setup.set(error)
            return
        }
        defer { socket.close() }

        let clock = ContinuousClock()
        var resyncAt: ContinuousClock.Instant? = clock.now + config.resyncInterval
        var items = [ZMQPollItem(fd: mailbox.fd, .readable), ZMQPollItem(socket, .readable)]
        do {
            while true {
                var room = sink.flow.room()
                items[1].events = room > 0 ? .readable : []
                try ZMQPoller.poll(&items, timeoutMilliseconds: pollTimeout(until: allSynced ? nil : resyncAt))
                if items[0].returned.contains(.readable) {
                    for command in mailbox.drain() {
                        switch command {
                        case .stop: return
                        }
                    }
                }
                if items[1].returned.contains(.readable) {
                    var budget = 4096
                    while budget > 0, room > 0, let frames = try socket.receive(dontWait: true) {
                        budget -= 1
                        room -= handle(frames)
                    }
                    // One hand-over per burst, in order: the consumer is resumed once for all of it.
                    sink.yield(contentsOf: pending)
                    pending = []
                }
                if !allSynced, let due = resyncAt, clock.now >= due {
                    // The sync answer can be lost (publisher not up yet, HWM): ask again.
                    try socket.unsubscribe(syncTopic)
                    try socket.subscribe(syncTopic)
                    resyncAt = clock.now + config.resyncInterval
                }
            }
        } catch let error where error.isTerminated {
            logger.debug("subscriber: context terminated")
        } catch {
            logger.error("subscriber thread failed: \(error)")
        }
    }

    /// Handles one received message; returns how many events it produced.
    private mutating func handle(_ frames: [[UInt8]]) -> Int {
        guard frames.count == 3, let sequence = BusFraming.readLE32(frames[2]) else {
            config.logger.warning("subscriber: dropped malformed message of \(frames.count) frames")
            return 0
        }
        let topicBytes = frames[0]
        if topicBytes.first == 0xFF {
            guard topicBytes == syncTopic else { return 0 }  // another subscriber's handshake
            guard let snapshot = SyncSnapshot(decoding: frames[1]) else {
                config.logger.warning("subscriber: dropped malformed sync message")
                return 0
            }
            return applySync(snapshot)
        }
        let topic = String(decoding: topicBytes, as: UTF8.self)
        var produced = 1
        if let next = expected[topic] ?? (allSynced ? 0 : nil), next != sequence {
            produced += 1
            emit(Self.isForward(from: next, to: sequence)
                ? .gap(topic: topic, expected: next, received: sequence)
                : .reset(topic: topic, expected: next, received: sequence))
        }
        expected[topic] = sequence &+ 1
        if owner[topic] == nil, let currentInstance { owner[topic] = currentInstance }
        emit(.message(topic: topic, body: frames[1], sequence: sequence))
        return produced
    }

    /// A sync message lists the publisher's next sequence per topic as of the moment it was sent; every
    /// publication before it on this connection has already arrived, so it also checks for tail losses.
    private mutating func applySync(_ snapshot: SyncSnapshot) -> Int {
        var produced = 0
        let instance = snapshot.instance
        let known = syncedInstances.contains(instance)
        // With a single endpoint, a new instance after the handshake is that publisher restarted:
        // everything the old one owned is reset, even topics the new one has not published yet.
        if !known && allSynced && config.connect.count == 1 {
            for (topic, old) in owner where old != instance && snapshot.next[topic] == nil {
                if let next = expected[topic] {
                    emit(.reset(topic: topic, expected: next, received: 0))
                    produced += 1
                }
                expected[topic] = 0
                owner[topic] = instance
            }
        }
        for (topic, next) in snapshot.next.sorted(by: { $0.key < $1.key }) where isSubscribed(topic) {
            if let current = expected[topic] {
                if let previousOwner = owner[topic], previousOwner != instance {
                    emit(.reset(topic: topic, expected: current, received: next))
                    produced += 1
                } else if current != next {
                    emit(Self.isForward(from: current, to: next)
                        ? .gap(topic: topic, expected: current, received: next)
                        : .reset(topic: topic, expected: current, received: next))
                    produced += 1
                }
            }
            expected[topic] = next
            owner[topic] = instance
        }
        syncedInstances.insert(instance)
        if config.connect.count == 1 { currentInstance = instance }
        if !allSynced && syncedInstances.count >= config.connect.count {
            allSynced = true
            synced.set(true)
        }
        return produced
    }

    private mutating func emit(_ event: SubscriberEvent) { pending.append(event) }

    private func isSubscribed(_ topic: String) -> Bool {
        let bytes = Array(topic.utf8)
        return topicPrefixes.contains { bytes.starts(with: $0) }
    }

    /// Sequence numbers wrap at 2^32: a forward distance below 2^31 is a gap, otherwise a restart.
    static func isForward(from expected: UInt32, to received: UInt32) -> Bool {
        (received &- expected) < 0x8000_0000
    }
}
