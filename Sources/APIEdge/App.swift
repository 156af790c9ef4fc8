import Bus
import Foundation
import ChainCore
import Hummingbird
import HummingbirdWebSocket
import Logging
import NodeKit

/// Everything the edge is configured with.
struct EdgeConfig: Sendable {
    var params: ChainParams
    var endpoints: Endpoints
    var httpHost = "127.0.0.1"
    var httpPort = Endpoints.defaultHTTPPort
    var corsOrigins = EdgeConfig.defaultCORSOrigins
    /// Public Bitcoin Core-style notification endpoint; nil = off.
    var zmqPub: String?
    var maxBody = 256 * 1024
    var rpcTimeout: Duration = .milliseconds(2500)
    var rpcRetries = 3
    var wsQueueLimit = 1024
    /// The peer bridge's request endpoint (GET /api/peers, /api/sync).
    var peerRPC = PeerEndpoints.loopback().rpc
    /// The peer bridge's PUB: its trace events join the WebSocket feed.
    var peerPub = PeerEndpoints.loopback().pub
    /// The regtest faucet's key file (the node key), amount and per-address cooldown; nil key = no faucet.
    var faucetKeyPath: String?
    var faucetAmount: Amount = 10 * Units.perCoin
    var faucetCooldown: Double = 60
    /// CURVE keys for the bus when it leaves loopback (off on loopback).
    var bus: BusSecurity = .off(.edge)
    /// Returned by /healthz as `node_id`: lets `cairn up` tell its own edge from another node's on the same port.
    var nodeID: String?
    /// JSON-RPC operator credentials: the folder the `.cookie` is written to (nil: no cookie) and a token.
    var rpcCookieDirectory: URL?
    var rpcToken: String?

    static let defaultCORSOrigins = ["http://127.0.0.1:8341", "http://localhost:8341"]
}

/// The running edge: RPC clients, subscriptions, the WebSocket feed, the public notifier, metrics.
final class Edge: Sendable {
    let config: EdgeConfig
    let context: ZMQContext
    let backend: Backend
    let metrics: EdgeMetrics
    let feed: Feed
    let stamps = TraceStamps()
    let notifier: PublicNotifier?
    let logger: Logger
    let chainSub: Subscriber
    let mempoolSub: Subscriber
    /// The peer bridge's trace events (optional: a node without a bridge publishes none).
    let peerSub: Subscriber
    /// Regtest only, and only with a key.
    let faucet: Faucet?
    /// POST /rpc: operator credentials, long polls, the method table.
    let rpc: RPCServer
    private let tasks: [Task<Void, Never>]

    var explorer: Explorer { Explorer(backend: backend) }
    var routes: [Route] {
        BlockRoutes.routes(self) + TxRoutes.routes(self) + AddressRoutes.routes(self) + MempoolRoutes.routes(self) + NodeRoutes.routes(self)
            + FaucetRoutes.routes(self) + PeerRoutes.routes(self) + LookupRoutes.routes(self) + RPCRoutes.routes(self)
    }

    /// Connects to the services (nothing waits for them to be up) and starts following their publications.
    init(config: EdgeConfig, metrics: EdgeMetrics = EdgeMetrics(), logger: Logger) async throws {
        self.config = config
        self.metrics = metrics
        self.logger = logger
        faucet = if config.params.network == .regtest, let path = config.faucetKeyPath {
            try Faucet.load(path: path, params: config.params, amount: config.faucetAmount, cooldown: config.faucetCooldown)
        } else {
            nil
        }
        let context = try ZMQContext()
        self.context = context
        let backend = try await Backend.connect(context: context, endpoints: config.endpoints, params: config.params,
                                                timeout: config.rpcTimeout, retries: config.rpcRetries, bus: config.bus)
        self.backend = backend
        rpc = try await RPCServer(context: context, config: config, backend: backend, metrics: metrics, logger: logger)
        let feed = Feed(backend: backend, metrics: metrics, logger: logger, queueLimit: config.wsQueueLimit)
        self.feed = feed
        let notifier: PublicNotifier? = if let pub = config.zmqPub {
            try await PublicNotifier(context: context, endpoint: pub, logger: logger)
        } else {
            nil
        }
        self.notifier = notifier
        let public_ = notifier != nil
        chainSub = try await Subscriber(context: context, connect: [config.endpoints.chainPub],
                                        topics: [Topic.tip, Topic.connected, Topic.trace] + (public_ ? PublicNotifier.chainTopics : []),
                                        hwm: 100_000, curve: config.bus.client(of: .chainstore), logger: logger)
        mempoolSub = try await Subscriber(context: context, connect: [config.endpoints.mempoolPub],
                                          topics: [Topic.rawtx, Topic.trace] + (public_ ? [Topic.hashtx, Topic.sequence] : []),
                                          hwm: 100_000, curve: config.bus.client(of: .mempool), logger: logger)
        peerSub = try await Subscriber(context: context, connect: [config.peerPub], topics: [Topic.trace], hwm: 10_000,
                                       curve: config.bus.client(of: .peerbridge), logger: logger)
        let chainEvents = chainSub.events, mempoolEvents = mempoolSub.events, peerEvents = peerSub.events
        tasks = [
            Task { await feed.run() },
            Task {
                await Self.follow(chainEvents, source: "chain store", logger: logger, onLoss: { feed.forgetTip() }) { topic, body in
                    notifier?.fromChain(topic: topic, body: body)
                    switch topic {
                    case Topic.tip: feed.post(.tip(body))
                    case Topic.connected: feed.post(.connected(body))
                    case Topic.trace: feed.post(.trace(body))
                    default: break
                    }
                }
            },
            Task {
                await Self.follow(mempoolEvents, source: "mempool", logger: logger, onLoss: {}) { topic, body in
                    notifier?.fromMempool(topic: topic, body: body)
                    switch topic {
                    case Topic.rawtx: feed.post(.rawtx(body))
                    case Topic.trace: feed.post(.trace(body))
                    default: break
                    }
                }
            },
            Task {
                await Self.follow(peerEvents, source: "peer bridge", logger: logger, onLoss: {}) { topic, body in
                    if topic == Topic.trace { feed.post(.trace(body)) }
                }
            },
        ]
    }

    private static func follow(_ events: EventStream<SubscriberEvent>, source: String, logger: Logger,
                               onLoss: @Sendable () -> Void, _ handle: @Sendable (String, [UInt8]) -> Void) async {
        for await event in events {
            switch event {
            case let .message(topic, body, _):
                handle(topic, body)
            case let .gap(topic, expected, received):
                onLoss()
                logger.warning("missed publications", metadata: ["from": "\(source)", "topic": "\(topic)",
                                                                  "expected": "\(expected)", "received": "\(received)"])
            case let .reset(topic, _, _):
                onLoss()
                logger.notice("publisher restarted", metadata: ["from": "\(source)", "topic": "\(topic)"])
            }
        }
    }

    /// The best chain's tip: from the chain store's `tip` publications when the
    /// stream is intact (no bus round trip per request), else asked directly.
    func currentTip() async throws -> ChainTip {
        if let t = feed.lastTip { return t }
        return try await backend.chain("getchaintip", Empty(), as: ChainTip.self)
    }

    /// Waits until both subscriptions are synced with their publishers (tests; startup logging).
    func subscriptionsReady(timeout: Duration = .seconds(10)) async throws {
        try await chainSub.ready(timeout: timeout)
        try await mempoolSub.ready(timeout: timeout)
    }

    func stop() async {
        feed.finish()
        await chainSub.stop()
        await mempoolSub.stop()
        await peerSub.stop()
        for t in tasks { t.cancel() }
        await notifier?.stop()
        await rpc.stop()
        await backend.stop()
        await context.terminate()
    }
}

/// Only the configured origins get `Access-Control-Allow-Origin`; others pass through without CORS headers.
struct OriginCORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>
    let cors = CORSMiddleware<Context>(allowOrigin: .originBased, allowHeaders: [.contentType], allowMethods: [.get, .post, .options])

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains(origin) else { return try await next(request, context) }
        return try await cors.handle(request, context: context, next: next)
    }
}

/// The HTTP application: routes, middleware (CORS → metrics → JSON errors), WebSocket upgrade on /api/ws.
func buildApplication(config: EdgeConfig, edge: Edge) -> some ApplicationProtocol {
    let routes = edge.routes
    let router = Router(context: EdgeContext.self)
    router.add(middleware: OriginCORSMiddleware(origins: Set(config.corsOrigins)))
    router.add(middleware: RequestMetricsMiddleware(metrics: edge.metrics))
    router.add(middleware: JSONErrorMiddleware(routes: RouteMatcher(routes.map { ($0.method, $0.path) }), logger: edge.logger))
    for route in routes {
        let handler = route.handler
        router.on(RouterPath(route.path), method: route.method) { request, context in try await handler(request, context) }
    }

    let wsRouter = Router(context: BasicWebSocketRequestContext.self)
    let feed = edge.feed
    wsRouter.ws("/api/ws") { inbound, outbound, _ in
        await feed.serve(inbound: inbound, outbound: outbound)
    }
    let rpc = edge.rpc
    wsRouter.ws("/rpc", shouldUpgrade: { request, _ in try await rpc.upgrade(request) }) { inbound, outbound, context in
        await rpc.subscriptions.serve(inbound: inbound, outbound: outbound,
                                      isOperator: rpc.auth.verdict(context.request.headers[.authorization]) == .valid, edge: edge)
    }
    return Application(
        router: router,
        server: .http1WebSocketUpgrade(webSocketRouter: wsRouter, configuration: .init(ws: .init(maxFrameSize: 1 << 20))),
        configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: "cairn-edge"),
        logger: edge.logger)
}
