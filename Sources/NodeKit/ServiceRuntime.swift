import Bus
import ChainCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The start-up and shutdown every bus service shares (the chain store, the mempool, the accounts
/// service, the miner, the peer bridge), so that a service's command keeps only what is its own.
///
/// `start` does the prologue, in this order: logging to standard error at `--log-level`, the network's
/// parameters, the endpoints, the data folder and its lock (`DataLock`, when the service keeps data),
/// the bus security for the endpoints the service binds or connects to (CURVE, or off on loopback),
/// the ZeroMQ context, and the ZAP authenticator when this process is a CURVE authority.
///
/// The bus objects made through the runtime (`publisher`, `server`, `client`, `subscriber`) are the
/// ones `run` stops on SIGTERM/SIGINT, after the service's own `beforeBus` step: subscribers, then
/// request servers, then RPC clients, then publishers (flushed first), then the context; then the
/// service's `afterBus` step (close its database), and one "NAME stopped" line.
///
/// The edge keeps a prologue of its own (Sources/APIEdge/EdgeCommand.swift) and uses only
/// `bootstrapLogging`: it keeps no data folder (no lock), binds no bus socket (no authenticator), and
/// its ZeroMQ objects (RPC clients, subscribers, the public ZMQ notifier) belong to its `Edge`,
/// which stops them after the HTTP server on SIGTERM/SIGINT; what it would share with `start` is
/// logging, the network and the bus security, a few lines each.
public final class ServiceRuntime: Sendable {
    /// What the log lines call the service: "chain store", "mempool", …
    public let name: String
    public let logger: Logger
    public let common: CommonOptions
    public let params: ChainParams
    public let endpoints: Endpoints
    public let dataDirectory: URL
    public let security: BusSecurity
    public let context: ZMQContext
    /// Held for the life of the process (released when the runtime goes).
    public let lock: DataLock?

    private struct Parts: Sendable {
        var subscribers: [Subscriber] = []
        var servers: [RequestServer] = []
        var clients: [RPCClient] = []
        var publishers: [Publisher] = []
    }
    private let parts = Mutex(Parts())

    private init(name: String, logger: Logger, common: CommonOptions, params: ChainParams, endpoints: Endpoints,
                 dataDirectory: URL, security: BusSecurity, context: ZMQContext, lock: DataLock?) {
        self.name = name; self.logger = logger; self.common = common; self.params = params; self.endpoints = endpoints
        self.dataDirectory = dataDirectory; self.security = security; self.context = context; self.lock = lock
    }

    /// The prologue. `label` is the logger's label (`cairn.chainstore`), `lockName` the data folder's lock
    /// file (nil: the service keeps no data), `bus` every endpoint the service binds or connects to (they
    /// decide whether the bus must run CURVE).
    public static func start(_ common: CommonOptions, name: String, label: String, role: ServiceName, lockName: String?,
                             bus: (Endpoints) -> [String]) async throws -> ServiceRuntime {
        bootstrapLogging(common)
        let logger = Logger(label: label)
        let params = try common.params
        let endpoints = common.endpoints
        let dir = common.dataDirectory
        let lock = try lockName.map { try DataLock(directory: dir, name: $0) }
        let security = try common.busSecurity(role: role, endpoints: bus(endpoints))
        let context = try ZMQContext()
        _ = try await security.startAuthenticator(context: context, logger: logger)
        return ServiceRuntime(name: name, logger: logger, common: common, params: params, endpoints: endpoints,
                              dataDirectory: dir, security: security, context: context, lock: lock)
    }

    /// Logging to standard error at `--log-level` / `CAIRN_LOG_LEVEL` (for a service that has no bus runtime of its own, the edge).
    public static func bootstrapLogging(_ common: CommonOptions) {
        ServiceSupport.bootstrapLogging(level: common.level)
    }

    /// A publisher bound to `endpoint` (its bind address: `Endpoints.bindAddress`), CURVE server when the bus runs it.
    public func publisher(at endpoint: String, hwm: Int32 = 100_000) async throws -> Publisher {
        let p = try await Publisher(context: context, bind: [Endpoints.bindAddress(for: endpoint)], hwm: hwm,
                                    curve: security.server, logger: logger)
        parts.withLock { $0.publishers.append(p) }
        return p
    }

    /// A request server bound to `endpoint` answering with `router`.
    public func server(at endpoint: String, router: RPCRouter) async throws -> RequestServer {
        let s = try await RequestServer(context: context, bind: [Endpoints.bindAddress(for: endpoint)],
                                        curve: security.server, logger: logger, inline: { router.handleInline($0) }) { request in
            await router.handle(request)
        }
        parts.withLock { $0.servers.append(s) }
        return s
    }

    /// An RPC client of `authority`'s request endpoint.
    public func client(of authority: ServiceName, at endpoint: String) async throws -> RPCClient {
        let c = try await RPCClient(context: context, endpoint: endpoint, curve: security.client(of: authority))
        parts.withLock { $0.clients.append(c) }
        return c
    }

    /// A subscriber to `authority`'s publish endpoint.
    public func subscriber(of authority: ServiceName, at endpoint: String, topics: [String], hwm: Int32 = 1000) async throws -> Subscriber {
        let s = try await Subscriber(context: context, connect: [endpoint], topics: topics, hwm: hwm,
                                     curve: security.client(of: authority), logger: logger)
        parts.withLock { $0.subscribers.append(s) }
        return s
    }

    /// The node id this service answers and expects (`--node-id`, `CAIRN_NODE_ID`).
    public var nodeID: String? { get throws { try common.nodeID } }

    /// Runs until SIGTERM or SIGINT, then shuts down: the `alongside` services first (an HTTP app:
    /// services stop in reverse order), then `beforeBus` (cancel the service's tasks), the bus objects
    /// made here, the context, `afterBus` (close the database), and logs "NAME stopped" with `stopped`'s metadata.
    public func run(alongside: [any Service] = [],
                    beforeBus: @escaping @Sendable () async -> Void = {},
                    afterBus: @escaping @Sendable () async -> Void = {},
                    stopped: @escaping @Sendable () async -> Logger.Metadata = { [:] }) async throws {
        let hook = ShutdownHook {
            await beforeBus()
            await self.stopBus()
            await afterBus()
            withExtendedLifetime(self.lock) {}
            let metadata = await stopped()
            self.logger.notice("\(self.name) stopped", metadata: metadata)
        }
        try await ServiceSupport.run([hook] + alongside, logger: logger)
    }

    /// Stops the bus objects made through the runtime, then terminates the context.
    func stopBus() async {
        let p = parts.withLock { $0 }
        for s in p.subscribers { await s.stop() }
        for s in p.servers { await s.stop() }
        for c in p.clients { await c.stop() }
        for pub in p.publishers {
            await pub.flush()
            await pub.stop()
        }
        await context.terminate()
    }
}
