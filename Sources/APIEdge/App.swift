import Bus
import Foundation
import ChainCore
import Hummingbird
import HummingbirdWebSocket
import Logging
import NodeKit

/// The running edge: RPC clients, subscriptions, the WebSocket feed, the public notifier, metrics.
final class Edge: Sendable {
    let config: EdgeConfig
    let context: ZMQContext
    let backend: Backend
    let metrics: EdgeMetrics
    let feed: Feed
    let stamps = TraceStamps()
    let notifier: PublicNotifier?
    let chainFollower: ChainFollower
    let mempoolFollower: MempoolFollower
    /// Hands the followers' events to every outward feed, in order.
    let outlets: FeedOutlets
    let logger: Logger
    let chainSub: Subscriber
    let mempoolSub: Subscriber
    /// The services' trace events (the peer bridge's optional: a node without one publishes none),
    /// subscribed to while an `/api/ws` client is connected.
    let traceRelay: TraceRelay
    /// Regtest only, and only with a key.
    let faucet: Faucet?
    /// POST /rpc: operator credentials, long polls, the method table.
    let rpc: RPCServer
    /// API keys: cached records, leases, usage reports.
    let access: AccessControl
    /// What each refused WebSocket upgrade threw, for its answer (`RefusedUpgrades`).
    let refusedUpgrades = RefusedUpgrades()
    private let tasks: [Task<Void, Never>]

    var explorer: EsploraMapper { EsploraMapper(backend: backend) }
    var routes: [Route] {
        BlockRoutes.routes(self) + TxRoutes.routes(self) + AddressRoutes.routes(self) + MempoolRoutes.routes(self) + NodeRoutes.routes(self)
            + FaucetRoutes.routes(self) + PeerRoutes.routes(self) + LookupRoutes.routes(self) + RPCRoutes.routes(self) + OperatorRoutes.routes(self)
            + KeyRoutes.routes(self) + PortalRoutes.routes(self)
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
        // Opened once both followers took their first snapshot: the feeds' clients wait for it.
        let feedStart = FeedStart()
        let rpc = try await RPCServer(context: context, config: config, backend: backend, metrics: metrics, feedStart: feedStart, logger: logger)
        self.rpc = rpc
        let access = try await AccessControl(context: context, endpoints: config.accounts, timeout: config.accountsTimeout,
                                             retries: config.accountsRetries, bus: config.bus,
                                             anonymous: config.anonymous ?? .defaultFor(regtest: config.params.network == .regtest),
                                             metrics: metrics, logger: logger)
        access.start()
        self.access = access
        let feed = Feed(backend: backend, metrics: metrics, logger: logger, feedStart: feedStart, queueLimit: config.wsQueueLimit)
        self.feed = feed
        let notifier: PublicNotifier? = if let pub = config.zmqPub {
            try await PublicNotifier(context: context, endpoint: pub, logger: logger)
        } else {
            nil
        }
        self.notifier = notifier
        let chainSub = try await Subscriber(context: context, connect: [config.endpoints.chainPub],
                                            topics: [Topic.tip, Topic.connected, Topic.disconnected, Topic.hashblock],
                                            hwm: 100_000, curve: config.bus.client(of: .chainstore), logger: logger)
        let mempoolSub = try await Subscriber(context: context, connect: [config.endpoints.mempoolPub],
                                              topics: [Topic.rawtx, Topic.sequence], hwm: 100_000,
                                              curve: config.bus.client(of: .mempool), logger: logger)
        self.chainSub = chainSub
        self.mempoolSub = mempoolSub
        let traceRelay = TraceRelay(linger: config.traceLinger, logger: logger, make: {
            [try await Subscriber(context: context, connect: [config.endpoints.chainPub], topics: [Topic.trace], hwm: 100_000,
                                  curve: config.bus.client(of: .chainstore), logger: logger),
             try await Subscriber(context: context, connect: [config.endpoints.mempoolPub], topics: [Topic.trace], hwm: 100_000,
                                  curve: config.bus.client(of: .mempool), logger: logger),
             try await Subscriber(context: context, connect: [config.peerPub], topics: [Topic.trace], hwm: 10_000,
                                  curve: config.bus.client(of: .peerbridge), logger: logger)]
        }, deliver: { feed.post(.trace($0)) })
        self.traceRelay = traceRelay
        await feed.hub.observeClients { traceRelay.clientsChanged($0) }
        let outlets = FeedOutlets(notifier: notifier, outlets: [feed, rpc.subscriptions], feedStart: feedStart)
        self.outlets = outlets
        let mempoolFollower = MempoolFollower(backend: backend, outlet: outlets, logger: logger)
        let chainFollower = ChainFollower(backend: backend, outlet: outlets, logger: logger,
                                          onConfirmed: { await mempoolFollower.confirmed($0) },
                                          onDisconnected: { await mempoolFollower.reorged() },
                                          beforeConnected: { await mempoolFollower.announceUnseen(in: $0) })
        self.chainFollower = chainFollower
        self.mempoolFollower = mempoolFollower
        let subscriptions = rpc.subscriptions
        tasks = [
            Task { await feed.run() },
            Task { await outlets.run() },
            Task {
                // Subscribe first, then the snapshot, then the updates (the Clone pattern).
                await Self.waitReady(chainSub)
                await chainFollower.start()
                if let tip = await chainFollower.tip {
                    await feed.hub.setStart(height: tip.height, hash: tip.hash.hex)
                    subscriptions.setStart(height: tip.height, hash: tip.hash.hex)
                    feedStart.chainStarted()
                }
                for await event in chainSub.events {
                    switch event {
                    case .message(Topic.tip, let body, _): feed.post(.tip(body))
                    case .gap, .reset:
                        feed.forgetTip()
                        await chainFollower.handle(event)
                    default: await chainFollower.handle(event)
                    }
                }
            },
            Task {
                await Self.waitReady(mempoolSub)
                await mempoolFollower.start()
                if await mempoolFollower.isStarted { feedStart.mempoolStarted() }
                for await event in mempoolSub.events { await mempoolFollower.handle(event) }
            },
        ]
    }

    /// Waits (without end, until cancelled) for the publisher to answer the subscription handshake.
    private static func waitReady(_ sub: Subscriber) async {
        while !Task.isCancelled {
            do {
                try await sub.ready(timeout: .seconds(5))
                return
            } catch BusError.stopped {
                return
            } catch {
                continue
            }
        }
    }

    /// The best chain's tip: from the chain store's `tip` publications when the
    /// stream is intact (no bus round trip per request), else asked directly.
    func currentTip() async throws -> ChainTip {
        if let t = feed.lastTip { return t }
        return try await backend.chain(.getchaintip, Empty(), as: ChainTip.self)
    }

    /// Waits until both subscriptions are synced with their publishers (tests; startup logging).
    func subscriptionsReady(timeout: Duration = .seconds(10)) async throws {
        try await chainSub.ready(timeout: timeout)
        try await mempoolSub.ready(timeout: timeout)
    }

    /// Whether both followers took their first snapshot, so the feeds announce what comes next (tests).
    func feedsStarted() async -> Bool {
        let chain = await chainFollower.tip != nil
        let mempool = await mempoolFollower.isStarted
        return chain && mempool && feed.feedStart.isOpen
    }

    func stop() async {
        feed.finish()
        outlets.finish()
        await chainSub.stop()
        await mempoolSub.stop()
        await traceRelay.stop()
        for t in tasks { t.cancel() }
        await notifier?.stop()
        await rpc.stop()
        await access.stop()
        await backend.stop()
        await context.terminate()
    }
}

/// The HTTP application: the API-key layer (`KeyedResponder`) in front of the router (CORS → metrics →
/// JSON errors), WebSocket upgrade on /api/ws and /rpc (and their keyed `/v1/<key>/…` forms).
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

    let wsRouter = Router(context: EdgeWebSocketContext.self)
    let feed = edge.feed
    let refused = edge.refusedUpgrades
    // Keyless sockets meet the anonymous policy at the upgrade (off: 401; over the per-address rate: 429). A
    // refused upgrade is answered with its own status and JSON error, not hummingbird-websocket's empty 400
    // (`RefusedUpgrades`): each upgrade's checks run inside `refused.refusing`.
    wsRouter.ws("/api/ws", shouldUpgrade: { request, context in
        try await refused.refusing(on: context.channel) {
            // Upgraded once the feed has started, so a client is sent everything from its hello on (FeedStart.swift):
            // a keyless one meets the per-address rate before it waits, a keyed one is charged only after.
            if let key = request.headers[.xAPIKey] {
                try await feed.feedStart.admit()
                try await keyedUpgrade(request, key: key.trimmingCharacters(in: .whitespaces), edge: edge, restPath: "/api/ws")
            } else {
                try edge.access.admitKeyless(address: context.remoteAddress)
                try await feed.feedStart.admit()
            }
            return .upgrade([:])
        }
    }) { inbound, outbound, context in
        // With an X-API-Key header it is a keyed feed, metered per message like /v1/<key>/api/ws.
        await feed.serve(inbound: inbound, outbound: outbound, since: ResumeCursor(request: context.request),
                         key: socketKey(context.request, pathKey: nil, edge: edge))
    }
    let rpc = edge.rpc
    wsRouter.ws("/rpc", shouldUpgrade: { request, context in
        try await refused.refusing(on: context.channel) {
            // An X-API-Key header makes it a keyed socket, as over HTTP. Without one, a client with no
            // credentials meets the anonymous policy; the operator's are not limited by it; wrong ones
            // are refused after the wrong-credentials delay whatever the policy (`rpc.upgrade`), so
            // a guess is not told apart from the right credentials at once by an instant 401 or 429.
            if let key = request.headers[.xAPIKey] {
                try await keyedUpgrade(request, key: key.trimmingCharacters(in: .whitespaces), edge: edge, charge: false)
            } else if rpc.auth.verdict(request.headers[.authorization]) == .none {
                try edge.access.admitKeyless(address: context.remoteAddress)
            }
            return try await rpc.upgrade(request)
        }
    }) { inbound, outbound, context in
        let key = socketKey(context.request, pathKey: nil, edge: edge)
        await rpc.subscriptions.serve(inbound: inbound, outbound: outbound,
                                      isOperator: key == nil && rpc.auth.verdict(context.request.headers[.authorization]) == .valid,
                                      edge: edge, key: key)
    }
    wsRouter.ws("/v1/:key/rpc", shouldUpgrade: { request, context in
        try await refused.refusing(on: context.channel) {
            try await keyedUpgrade(request, key: context.parameters.get("key") ?? "", edge: edge, charge: false)
            return try await rpc.upgrade(request)
        }
    }) { inbound, outbound, context in
        await rpc.subscriptions.serve(inbound: inbound, outbound: outbound, isOperator: false, edge: edge,
                                      key: socketKey(context.request, pathKey: context.requestContext.parameters.get("key") ?? "", edge: edge))
    }
    wsRouter.ws("/v1/:key/api/ws", shouldUpgrade: { request, context in
        try await refused.refusing(on: context.channel) {
            try await feed.feedStart.admit()   // before the key is charged
            try await keyedUpgrade(request, key: context.parameters.get("key") ?? "", edge: edge, restPath: "/api/ws")
            return .upgrade([:])
        }
    }) { inbound, outbound, context in
        await feed.serve(inbound: inbound, outbound: outbound, since: ResumeCursor(request: context.request),
                         key: socketKey(context.request, pathKey: context.requestContext.parameters.get("key") ?? "", edge: edge))
    }
    let responder = KeyedResponder(inner: router.buildResponder(), access: edge.access,
                                   matcher: RouteMatcher(routes.map { ($0.method, $0.path) }),
                                   cors: OriginCORSMiddleware(origins: Set(config.corsOrigins)))
    return Application(
        responder: responder,
        server: .http1WebSocketUpgrade(webSocketRouter: wsRouter,
                                       configuration: .init(http1: .init(additionalChannelHandlers: [refused.handler()]),
                                                            ws: .init(maxFrameSize: 1 << 20))),
        configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: "cairn-edge"),
        logger: edge.logger)
}
