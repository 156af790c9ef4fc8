import Logging
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The server side of the Bus request/reply protocol, on a ROUTER socket owned by a dedicated thread.
///
/// Each request runs the async `handler` in its own task (at most `maxConcurrent` at once; beyond
/// that the thread stops reading the socket), and the socket thread sends the reply; a request
/// `inline` answers is answered on the socket thread, without a task. The ids of the
/// last `cacheSize` answered requests are kept with their replies, at most `cacheBytes` of replies in
/// all: a retried request (Lazy Pirate resends the same id) is answered from the cache, or, while its
/// handler still runs, only redirected to the client's newest connection, and never executed twice
/// while its reply is kept. (The byte bound keeps a server that answers blocks or templates of a
/// megabyte or more from holding thousands of them; a reply larger than the whole bound is not kept,
/// so a retry of it runs its handler again: only reads answer that much.) A handler error becomes
/// an error reply that the client throws as `BusError.remote`. Malformed messages are logged and dropped.
public final class RequestServer: Sendable {
    public typealias Handler = @Sendable ([UInt8]) async throws -> [UInt8]
    /// Answers a request on the socket's own thread, or nil to leave it to `Handler`: only for reads
    /// that neither block nor wait (a value behind a lock held for a copy), so a service busy on
    /// every core still answers them at once instead of queueing them behind its async work.
    public typealias Inline = @Sendable ([UInt8]) -> [UInt8]?

    enum Command: Sendable {
        case reply(id: [UInt8], status: UInt8, payload: [UInt8])
        case stop
    }

    /// Counters, for tests and monitoring.
    public struct Stats: Sendable, Equatable {
        /// Handler executions started.
        public var executed: Int
        /// Retried requests answered from the cache or absorbed while in flight.
        public var duplicates: Int
        /// Messages dropped as malformed.
        public var malformed: Int
    }

    public let endpoints: [String]
    private let mailbox: Mailbox<Command>
    private let thread: SocketThread
    private let counters: RequestServerLoop.Counters

    public init(
        context: ZMQContext, bind: [String], cacheSize: Int = 4096, cacheBytes: Int = RequestServer.defaultCacheBytes,
        maxConcurrent: Int = 1024, curve: CurveKeyPair? = nil, logger: Logger = Logger(label: "cairn.bus"),
        inline: Inline? = nil, handler: @escaping Handler
    ) async throws {
        let mailbox = try Mailbox<Command>()
        let setup = OneShot<Result<[String], ZMQError>>()
        let counters = RequestServerLoop.Counters()
        self.mailbox = mailbox
        self.counters = counters
        let config = RequestServerLoop.Config(
            context: context, bind: bind, cacheSize: max(1, cacheSize), cacheBytes: max(0, cacheBytes), maxConcurrent: max(1, maxConcurrent),
            curve: curve, inline: inline, handler: handler, counters: counters, logger: logger)
        self.thread = SocketThread(name: "cairn.bus.rep") {
            var loop = RequestServerLoop(config: config, mailbox: mailbox)
            loop.run(setup: setup)
        }
        switch await setup.value() {
        case let .success(endpoints): self.endpoints = endpoints
        case let .failure(error):
            await thread.join()
            throw error
        }
    }

    public convenience init(
        context: ZMQContext, bind: String, cacheSize: Int = 4096, cacheBytes: Int = RequestServer.defaultCacheBytes,
        maxConcurrent: Int = 1024, curve: CurveKeyPair? = nil, logger: Logger = Logger(label: "cairn.bus"),
        inline: Inline? = nil, handler: @escaping Handler
    ) async throws {
        try await self.init(context: context, bind: [bind], cacheSize: cacheSize, cacheBytes: cacheBytes, maxConcurrent: maxConcurrent,
                            curve: curve, logger: logger, inline: inline, handler: handler)
    }

    /// The default bound on the cached replies' bytes: 32 MiB.
    public static let defaultCacheBytes = 32 << 20

    /// The bytes of replies kept for retries now (at most `cacheBytes`).
    public var cachedBytes: Int { counters.cachedBytes.load(ordering: .relaxed) }

    public var stats: Stats {
        Stats(executed: counters.executed.value, duplicates: counters.duplicates.value,
              malformed: counters.malformed.value)
    }

    /// Cancels running handlers, closes the socket and ends the thread. Never hangs.
    public func stop() async {
        mailbox.post(.stop)
        await thread.join()
    }

    deinit { mailbox.post(.stop) }
}

/// The request server's socket thread.
struct RequestServerLoop {
    final class Counters: Sendable {
        let executed = AtomicCounter()
        let duplicates = AtomicCounter()
        let malformed = AtomicCounter()
        let cachedBytes = Atomic<Int>(0)
    }

    struct Config: Sendable {
        let context: ZMQContext
        let bind: [String]
        let cacheSize: Int
        let cacheBytes: Int
        let maxConcurrent: Int
        let curve: CurveKeyPair?
        let inline: RequestServer.Inline?
        let handler: RequestServer.Handler
        let counters: Counters
        let logger: Logger
    }

    struct InFlight {
        var routingID: [UInt8]
        let task: Task<Void, Never>
    }

    let config: Config
    let mailbox: Mailbox<RequestServer.Command>
    var inFlight: [[UInt8]: InFlight] = [:]
    var cache: [[UInt8]: (status: UInt8, payload: [UInt8])] = [:]
    /// The cached ids, oldest first from `cacheHead` (the slots before it are spent, dropped now and then).
    var cacheOrder: [[UInt8]] = []
    var cacheHead = 0
    var cacheBytes = 0

    init(config: Config, mailbox: Mailbox<RequestServer.Command>) {
        self.config = config
        self.mailbox = mailbox
    }

    mutating func run(setup: OneShot<Result<[String], ZMQError>>) {
        defer { _ = mailbox.close() }
        let socket: ZMQSocket
        do {
            socket = try ZMQSocket(context: config.context, type: .router)
            try socket.setRouterMandatory(true)
            if let curve = config.curve { try socket.setCurve(.server(curve)) }
            var endpoints: [String] = []
            for endpoint in config.bind {
                try socket.bind(endpoint)
                endpoints.append(socket.lastEndpoint ?? endpoint)
            }
            setup.set(.success(endpoints))
        } catch {
            setup.set(.failure(error))
            return
        }
        defer {
            socket.close()
            for entry in inFlight.values { entry.task.cancel() }
        }
        do {
            try loop(socket)
        } catch let error where error.isTerminated {
            config.logger.debug("request server: context terminated")
        } catch {
            config.logger.error("request server thread failed: \(error)")
        }
    }

    private mutating func loop(_ socket: ZMQSocket) throws(ZMQError) {
        var items = [ZMQPollItem(fd: mailbox.fd, .readable), ZMQPollItem(socket, .readable)]
        while true {
            items[1].events = inFlight.count < config.maxConcurrent ? .readable : []
            try ZMQPoller.poll(&items, timeoutMilliseconds: -1)
            if items[0].returned.contains(.readable) {
                for command in mailbox.drain() {
                    switch command {
                    case let .reply(id, status, payload):
                        guard let entry = inFlight.removeValue(forKey: id) else { continue }
                        remember(id, status: status, payload: payload)
                        try send(socket, to: entry.routingID, id: id, status: status, payload: payload)
                    case .stop:
                        return
                    }
                }
            }
            if items[1].returned.contains(.readable) {
                var budget = 4096
                while budget > 0, inFlight.count < config.maxConcurrent, let frames = try socket.receive(dontWait: true) {
                    budget -= 1
                    try accept(frames, on: socket)
                }
            }
        }
    }

    private mutating func accept(_ frames: [[UInt8]], on socket: ZMQSocket) throws(ZMQError) {
        // ROUTER prepends the peer's routing id: [routing id, request id, body].
        guard frames.count == 3, frames[1].count == BusFraming.requestIDSize else {
            config.counters.malformed.increment()
            config.logger.warning("request server: dropped malformed request of \(frames.count) frames")
            return
        }
        let (routingID, id, body) = (frames[0], frames[1], frames[2])
        if let cached = cache[id] {
            config.counters.duplicates.increment()
            try send(socket, to: routingID, id: id, status: cached.status, payload: cached.payload)
            return
        }
        if inFlight[id] != nil {
            // A retry from a reopened socket: answer there when the handler finishes.
            config.counters.duplicates.increment()
            inFlight[id]!.routingID = routingID
            return
        }
        config.counters.executed.increment()
        if let inline = config.inline, let payload = inline(body) {
            remember(id, status: BusFraming.statusOK, payload: payload)
            try send(socket, to: routingID, id: id, status: BusFraming.statusOK, payload: payload)
            return
        }
        let handler = config.handler, mailbox = self.mailbox
        let task = Task {
            let command: RequestServer.Command
            do {
                command = .reply(id: id, status: BusFraming.statusOK, payload: try await handler(body))
            } catch {
                command = .reply(id: id, status: BusFraming.statusError, payload: Array(String(describing: error).utf8))
            }
            mailbox.post(command)
        }
        inFlight[id] = InFlight(routingID: routingID, task: task)
    }

    private mutating func remember(_ id: [UInt8], status: UInt8, payload: [UInt8]) {
        guard payload.count <= config.cacheBytes else { return }
        if let old = cache.updateValue((status, payload), forKey: id) {
            cacheBytes -= old.payload.count
        } else {
            cacheOrder.append(id)
        }
        cacheBytes += payload.count
        // The oldest go first, until both bounds hold.
        while cacheOrder.count - cacheHead > config.cacheSize || cacheBytes > config.cacheBytes {
            if let gone = cache.removeValue(forKey: cacheOrder[cacheHead]) { cacheBytes -= gone.payload.count }
            cacheHead += 1
        }
        if cacheHead >= 1024, cacheHead * 2 >= cacheOrder.count {
            cacheOrder.removeFirst(cacheHead)
            cacheHead = 0
        }
        config.counters.cachedBytes.store(cacheBytes, ordering: .relaxed)
    }

    private func send(_ socket: ZMQSocket, to routingID: [UInt8], id: [UInt8], status: UInt8, payload: [UInt8]) throws(ZMQError) {
        do {
            if try !socket.send([routingID, id, [status], payload], dontWait: true) {
                config.logger.debug("request server: reply dropped, peer queue full (the client will retry)")
            }
        } catch let error where error.code == EHOSTUNREACH {
            config.logger.debug("request server: reply dropped, peer gone (the client will retry)")
        }
    }
}
