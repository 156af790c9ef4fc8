import Logging
import Synchronization

/// Lazy Pirate request/reply client over a DEALER socket owned by a dedicated thread.
///
/// `request` may be called concurrently from many tasks. Each request carries a unique 16-byte id
/// (8 random bytes of this client instance + a 64-bit counter) and its reply is matched by id; late or
/// duplicate replies are ignored. When a request gets no reply within `timeout`, the client closes and
/// reopens its socket (dropping whatever libzmq still queued for a dead peer), resends every
/// outstanding request, and after `retries` sends of a request without a reply fails it with
/// `BusError.unreachable`. `retries` counts sends, as `REQUEST_RETRIES` in the zguide's Lazy Pirate,
/// so a dead server is reported after about `retries × timeout`.
public final class RequestClient: Sendable {
    typealias Reply = CheckedContinuation<[UInt8], any Error>

    enum Command: Sendable {
        case request(id: [UInt8], body: [UInt8], reply: Reply)
        case cancel(id: [UInt8])
        case stop
    }

    public let endpoint: String
    public let timeout: Duration
    public let retries: Int

    private let clientID = BusFraming.randomBytes(8)
    private let counter = Atomic<UInt64>(0)
    private let reconnections = AtomicCounter()
    private let mailbox: Mailbox<Command>
    private let thread: SocketThread

    public init(
        context: ZMQContext, endpoint: String, timeout: Duration = .milliseconds(2500), retries: Int = 3,
        curve: CurveSecurity? = nil, logger: Logger = Logger(label: "cairn.bus")
    ) async throws {
        precondition(retries >= 1, "at least one attempt")
        let mailbox = try Mailbox<Command>()
        let setup = OneShot<ZMQError?>()
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self.mailbox = mailbox
        let config = RequestClientLoop.Config(
            context: context, endpoint: endpoint, timeout: timeout, retries: retries, curve: curve,
            reconnections: reconnections, logger: logger)
        self.thread = SocketThread(name: "cairn.bus.req") {
            var loop = RequestClientLoop(config: config, mailbox: mailbox)
            loop.run(setup: setup)
        }
        if let error = await setup.value() {
            await thread.join()
            throw error
        }
    }

    /// Sends `body` and returns the reply. Throws `BusError.unreachable` when Lazy Pirate gives up,
    /// `BusError.remote` when the server's handler threw, `BusError.stopped` after `stop()`, and
    /// `CancellationError` if the calling task is cancelled.
    public func request(_ body: [UInt8]) async throws -> [UInt8] {
        let id = clientID + BusFraming.le64(counter.wrappingAdd(1, ordering: .relaxed).newValue)
        let mailbox = self.mailbox
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (reply: Reply) in
                if !mailbox.post(.request(id: id, body: body, reply: reply)) {
                    reply.resume(throwing: BusError.stopped)
                }
            }
        } onCancel: {
            mailbox.post(.cancel(id: id))
        }
    }

    /// How many times the socket was closed and reopened after a timeout.
    public var reconnectCount: Int { reconnections.value }

    /// Fails outstanding requests with `BusError.stopped`, closes the socket and ends the thread.
    public func stop() async {
        mailbox.post(.stop)
        await thread.join()
    }

    deinit { mailbox.post(.stop) }
}

/// The request client's socket thread.
struct RequestClientLoop {
    struct Config: Sendable {
        let context: ZMQContext
        let endpoint: String
        let timeout: Duration
        let retries: Int
        let curve: CurveSecurity?
        let reconnections: AtomicCounter
        let logger: Logger
    }

    struct Pending {
        let body: [UInt8]
        let reply: RequestClient.Reply
        var attempts = 1
        var deadline: ContinuousClock.Instant
        let order: UInt64
    }

    let config: Config
    let mailbox: Mailbox<RequestClient.Command>
    let clock = ContinuousClock()
    var socket: ZMQSocket?
    var pending: [[UInt8]: Pending] = [:]
    /// Requests accepted but not yet queued to libzmq (EAGAIN); sent when the socket is writable.
    var unsent: [[UInt8]] = []
    /// Ids cancelled before their request arrived (the cancel handler can run first). Bounded.
    var cancelledEarly: [[UInt8]] = []
    var nextOrder: UInt64 = 0
    /// Commands drained but not yet carried out when the loop ends; failed at exit like queued ones.
    var leftovers: ArraySlice<RequestClient.Command> = []

    init(config: Config, mailbox: Mailbox<RequestClient.Command>) {
        self.config = config
        self.mailbox = mailbox
    }

    func openSocket() throws(ZMQError) -> ZMQSocket {
        let socket = try ZMQSocket(context: config.context, type: .dealer)
        if let curve = config.curve { try socket.setCurve(curve) }
        try socket.connect(config.endpoint)
        return socket
    }

    mutating func run(setup: OneShot<ZMQError?>) {
        do {
            socket = try openSocket()
            setup.set(nil)
        } catch {
            setup.set(error)
            _ = mailbox.close()
            return
        }
        do {
            try loop()
        } catch let error where error.isTerminated {
            config.logger.debug("request client: context terminated")
        } catch {
            config.logger.error("request client thread failed: \(error)")
        }
        socket?.close()
        for command in Array(leftovers) + mailbox.close() {
            if case let .request(_, _, reply) = command { reply.resume(throwing: BusError.stopped) }
        }
        for entry in pending.values { entry.reply.resume(throwing: BusError.stopped) }
        pending = [:]
    }

    private mutating func loop() throws(ZMQError) {
        while true {
            guard let socket else { return }
            var items = [ZMQPollItem(fd: mailbox.fd, .readable),
                         ZMQPollItem(socket, unsent.isEmpty ? .readable : [.readable, .writable])]
            let earliest = pending.values.lazy.map(\.deadline).min()
            try ZMQPoller.poll(&items, timeoutMilliseconds: pollTimeout(until: earliest))
            if items[1].returned.contains(.readable) {
                var budget = 4096
                while budget > 0, let frames = try socket.receive(dontWait: true) {
                    budget -= 1
                    complete(frames)
                }
            }
            if items[0].returned.contains(.readable) {
                leftovers = mailbox.drain()[...]
                while let command = leftovers.popFirst() {
                    switch command {
                    case let .request(id, body, reply):
                        if let index = cancelledEarly.firstIndex(of: id) {
                            cancelledEarly.remove(at: index)
                            reply.resume(throwing: CancellationError())
                            continue
                        }
                        nextOrder += 1
                        pending[id] = Pending(body: body, reply: reply, deadline: clock.now + config.timeout, order: nextOrder)
                        unsent.append(id)
                    case let .cancel(id):
                        if let entry = pending.removeValue(forKey: id) {
                            entry.reply.resume(throwing: CancellationError())
                        } else {
                            cancelledEarly.append(id)
                            if cancelledEarly.count > 256 { cancelledEarly.removeFirst() }
                        }
                    case .stop:
                        return
                    }
                }
            }
            try flushUnsent()
            try expire()
        }
    }

    private mutating func flushUnsent() throws(ZMQError) {
        guard let socket else { return }
        while let id = unsent.first {
            if let entry = pending[id] {
                guard try socket.send([id, entry.body], dontWait: true) else { return }
            }
            unsent.removeFirst()
        }
    }

    private mutating func complete(_ frames: [[UInt8]]) {
        guard frames.count == 3, frames[0].count == BusFraming.requestIDSize, frames[1].count == 1 else {
            config.logger.warning("request client: dropped malformed reply of \(frames.count) frames")
            return
        }
        guard let entry = pending.removeValue(forKey: frames[0]) else {
            config.logger.debug("request client: ignored late or duplicate reply")
            return
        }
        switch frames[1][0] {
        case BusFraming.statusOK: entry.reply.resume(returning: frames[2])
        case BusFraming.statusError: entry.reply.resume(throwing: BusError.remote(String(decoding: frames[2], as: UTF8.self)))
        default: entry.reply.resume(throwing: BusError.remote("unknown reply status \(frames[1][0])"))
        }
    }

    /// Lazy Pirate: on a timeout, give up on requests out of attempts, reopen the socket and resend the rest.
    private mutating func expire() throws(ZMQError) {
        let now = clock.now
        let expired = pending.filter { $0.value.deadline <= now }
        guard !expired.isEmpty else { return }
        for (id, entry) in expired where entry.attempts >= config.retries {
            pending.removeValue(forKey: id)
            entry.reply.resume(throwing: BusError.unreachable(endpoint: config.endpoint, attempts: entry.attempts))
        }
        socket?.close()
        socket = nil
        socket = try openSocket()
        config.reconnections.increment()
        config.logger.debug("request client: no reply from \(config.endpoint), reconnected")
        let deadline = clock.now + config.timeout
        for id in pending.keys {
            if expired[id] != nil { pending[id]!.attempts += 1 }
            pending[id]!.deadline = deadline
        }
        unsent = pending.sorted { $0.value.order < $1.value.order }.map(\.key)
        try flushUnsent()
    }
}
