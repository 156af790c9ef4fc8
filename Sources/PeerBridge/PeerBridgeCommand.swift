import ArgumentParser
import Bus
import ChainCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWSClient
import HummingbirdWebSocket
import Logging
import NIOCore
import NodeKit
import ServiceLifecycle
import Synchronization

/// `cairn-peerbridge`: joins the local bus to other nodes over WebSocket.
@main
struct PeerBridgeCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-peerbridge",
        abstract: "Cairn's peer bridge: relays blocks and transactions between this node and other nodes, syncs the chain.")

    @OptionGroup var common: CommonOptions

    @Option(help: "host:port the peer WebSocket server listens on (env CAIRN_PEER_LISTEN; default 127.0.0.1:8342).")
    var listen: String?

    @Option(name: .customLong("peer"), help: "A peer to keep connected, ws://host:port (repeat for several; env CAIRN_PEERS, comma-separated).")
    var peers: [String] = []

    @Option(name: .customLong("max-inbound"), help: "Most inbound peers.")
    var maxInbound = 32

    @Option(name: .customLong("max-outbound"), help: "Most outbound peers besides the configured ones.")
    var maxOutbound = 8

    @Option(name: .customLong("ping-interval"), help: "Seconds between pings; a peer silent for two intervals is dropped.")
    var pingInterval: Double = 20

    @Option(name: .customLong("ban-seconds"), help: "How long a misbehaving peer stays banned.")
    var banSeconds: Double = 3600

    @Option(name: .customLong("http-port"), help: "The edge's HTTP port, named in the answer to plain HTTP requests on the peer port.")
    var httpPort: Int?

    func validate() throws {
        for p in allPeers { guard Self.validPeerURL(p) else { throw ValidationError("--peer \(p): expected ws://host:port") } }
        guard pingInterval > 0, banSeconds >= 0, maxInbound >= 0, maxOutbound >= 0 else { throw ValidationError("limits must be positive") }
    }

    static func validPeerURL(_ url: String) -> Bool {
        guard url.hasPrefix("ws://") || url.hasPrefix("wss://") else { return false }
        let rest = url.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard rest.count >= 3 else { return false }
        return PeerEndpoints.hostPort(String(rest[2])) != nil
    }

    var allPeers: [String] {
        var list = peers
        if list.isEmpty, let env = ProcessInfo.processInfo.environment[PeerEndpoints.Env.peers] {
            list = env.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return list
    }

    func run() async throws {
        ServiceSupport.bootstrapLogging(level: common.level)
        let logger = Logger(label: "cairn.peerbridge")
        let params = try common.params
        let endpoints = common.endpoints
        var peerEndpoints = common.peerEndpoints
        if let listen { peerEndpoints.listen = listen }
        guard let (host, port) = PeerEndpoints.hostPort(peerEndpoints.listen) else {
            throw ValidationError("--listen \(peerEndpoints.listen): expected host:port")
        }
        let dir = common.dataDirectory
        let lock = try DataLock(directory: dir, name: "peerbridge.lock")

        let security = try common.busSecurity(role: .peerbridge, endpoints: [peerEndpoints.rpc, peerEndpoints.pub, endpoints.chainRPC,
                                                                              endpoints.chainPub, endpoints.mempoolRPC, endpoints.mempoolPub])
        let context = try ZMQContext()
        _ = try await security.startAuthenticator(context: context, logger: logger)
        let publisher = try await Publisher(context: context, bind: [Endpoints.bindAddress(for: peerEndpoints.pub)], hwm: 100_000,
                                            curve: security.server, logger: logger)
        let recorder = TraceRecorder(publisher: publisher, service: "peerbridge")
        let chainRPC = try await RPCClient(context: context, endpoint: endpoints.chainRPC, curve: security.client(of: .chainstore))
        let mempoolRPC = try await RPCClient(context: context, endpoint: endpoints.mempoolRPC, curve: security.client(of: .mempool))
        let node = BusNode(chain: chainRPC, mempool: mempoolRPC)

        var config = BridgeConfig(params: params, listenPort: UInt16(port), listenAddress: "ws://\(host.contains(":") ? "[\(host)]" : host):\(port)")
        config.maxInbound = maxInbound
        config.maxOutbound = maxOutbound
        config.pingInterval = .milliseconds(Int(pingInterval * 1000))
        config.banDuration = banSeconds
        let pingEvery = config.pingInterval / 4   // the round runs four times an interval; each peer is pinged once an interval
        let listenURL = config.listenAddress
        let bridge = Bridge(config: config, node: node, logger: logger) { id, kind, stage, detail in
            recorder.record(id, kind: kind, stage: stage, detail: detail)
        }

        // Where we are, before talking to anyone (waits for the chain store).
        while true {
            do {
                await bridge.tipChanged(try await node.tip())
                break
            } catch {
                logger.warning("waiting for the chain store", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }

        let chainSub = try await Subscriber(context: context, connect: [endpoints.chainPub], topics: [Topic.connected, Topic.tip],
                                            hwm: 100_000, curve: security.client(of: .chainstore), logger: logger)
        let mempoolSub = try await Subscriber(context: context, connect: [endpoints.mempoolPub], topics: [Topic.rawtx],
                                              hwm: 100_000, curve: security.client(of: .mempool), logger: logger)
        let followers = [
            Task {
                for await event in chainSub.events {
                    guard case let .message(topic, body, _) = event else {
                        if let t = try? await node.tip() { await bridge.tipChanged(t) }
                        continue
                    }
                    if topic == Topic.connected, let (height, raw) = HeightPrefixed.decode(body), let block = try? Block(bytes: raw) {
                        await bridge.blockConnected(block, height: height)
                    } else if topic == Topic.tip, let tip = try? JSON.decode(ChainTip.self, body) {
                        await bridge.tipChanged(tip)
                    }
                }
            },
            Task {
                for await event in mempoolSub.events {
                    if case let .message(topic, body, _) = event, topic == Topic.rawtx { await bridge.txAdded(body) }
                }
            },
            Task {
                // Liveness, stalled downloads, learned addresses.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    await bridge.checkStalls()
                }
            },
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: pingEvery)
                    await bridge.pingAll()
                }
            },
        ]

        let started = ServiceSupport.now()
        let router = RPCRouter([
            "getpeers": RPCRouter.method(Empty.self) { _ in await bridge.peerList() },
            "getsync": RPCRouter.method(Empty.self) { _ in await bridge.syncStatus() },
            "addpeer": RPCRouter.method(AddPeer.self) { p in
                guard Self.validPeerURL(p.url) else { throw RPCError.badParams("expected ws://host:port") }
                await bridge.addConfigured(p.url)
                Dialer.keepConnected(p.url, bridge: bridge, logger: logger)
                return Empty()
            },
            "setnetworkactive": RPCRouter.method(NetworkActive.self) { p in
                await bridge.setNetworkActive(p.active)
                return p
            },
            "getstatus": RPCRouter.method(Empty.self) { _ in
                let s = await bridge.syncStatus()
                let list = await bridge.peerList()
                return ServiceStatus(service: "peerbridge", pid: getpid(), startedAt: started, tipHeight: s.height, tipHash: s.tipHash,
                                     details: ["peers": "\(list.peers.filter(\.handshaken).count)", "sync": s.state,
                                               "listen": list.listen])
            },
        ]).identified(by: try common.nodeID)
        let server = try await RequestServer(context: context, bind: [Endpoints.bindAddress(for: peerEndpoints.rpc)],
                                             curve: security.server, logger: logger) { request in
            await router.handle(request)
        }

        for url in allPeers {
            await bridge.addConfigured(url)
            Dialer.keepConnected(url, bridge: bridge, logger: logger)
        }
        let discovery = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                for url in await bridge.addressesToDial() { Dialer.tryOnce(url, bridge: bridge, logger: logger) }
            }
        }

        let edgePort = httpPort ?? Endpoints.defaultHTTPPort
        let app = PeerServer.application(host: host, port: port, edgeHint: "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(edgePort)",
                                         bridge: bridge, logger: logger)
        logger.notice("peer bridge ready", metadata: [
            "network": "\(params.network.rawValue)", "listen": "\(listenURL)", "rpc": "\(server.endpoints.joined(separator: ","))",
            "pub": "\(publisher.endpoints.joined(separator: ","))", "peers": "\(allPeers.joined(separator: ","))"])
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: ShutdownHook {
                await bridge.shutdown()
                Dialer.stopAll()
                discovery.cancel()
                for f in followers { f.cancel() }
                await chainSub.stop()
                await mempoolSub.stop()
                await server.stop()
                await chainRPC.stop()
                await mempoolRPC.stop()
                await publisher.flush()
                await publisher.stop()
                await context.terminate()
                withExtendedLifetime(lock) {}
                logger.notice("peer bridge stopped")
            }), .init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The local node over the bus.
struct BusNode: LocalNode {
    let chain: RPCClient
    let mempool: RPCClient

    func tip() async throws -> ChainTip { try await chain.call("getchaintip", Empty(), as: ChainTip.self) }

    func locator() async throws -> [Hash256] {
        try await chain.call("getlocator", Empty(), as: [String].self).compactMap(Hash256.init(hex:))
    }

    func blockStates(_ hashes: [Hash256]) async throws -> [String?] {
        guard !hashes.isEmpty else { return [] }
        return try await chain.call("getblockstates", HashList(hashes: hashes.map(\.hex)), as: [String?].self)
    }

    func heightOf(_ hash: Hash256) async throws -> Int? {
        do {
            return try await chain.call("getheader", BlockRef(hash: hash.hex), as: HeaderInfo.self).height
        } catch let e as RPCError where e.code == "not-found" {
            return nil
        }
    }

    func headers(after locator: [Hash256], stop: Hash256?, count: Int) async throws -> [BlockHeader] {
        let reply = try await chain.call("getheaders", HeadersRequest(locator: locator.map(\.hex), stop: stop?.hex, count: count),
                                         as: HeadersReply.self)
        return reply.headers.compactMap { Hex.decode($0).flatMap { try? BlockHeader(bytes: $0) } }
    }

    func block(_ hash: Hash256) async throws -> [UInt8]? {
        do {
            return Hex.decode(try await chain.call("getblock", BlockRef(hash: hash.hex), as: BlockInfo.self).hex)
        } catch let e as RPCError where e.code == "not-found" {
            return nil
        }
    }

    func submitBlock(_ block: Block, source: String) async throws -> SubmitBlockResult {
        try await chain.call("submitblock", SubmitBlock(hex: Hex.encode(block.encoded), source: source), as: SubmitBlockResult.self)
    }

    func mempoolTx(_ txid: Hash256) async throws -> [UInt8]? {
        do {
            return Hex.decode(try await mempool.call("getentry", TxRef(txid: txid.hex), as: MempoolEntry.self).hex)
        } catch let e as RPCError where e.code == "not-found" {
            return nil
        }
    }

    func submitTx(_ tx: Transaction) async throws -> Result<SubmitTxResult, RPCError> {
        do {
            return .success(try await mempool.call("submittx", SubmitTx(hex: Hex.encode(tx.encoded), receivedAt: ServiceSupport.now()),
                                                   as: SubmitTxResult.self))
        } catch let e as RPCError {
            return .failure(e)
        }
    }
}

/// The request context of the peer port: knows the remote address (for bans).
struct PeerRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<PeerRequestContext>
    let remoteAddress: SocketAddress?
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }
}

/// The HTTP stage of the peer port is bounded: a connection that has not become a WebSocket within
/// `timeout` of being accepted is closed (a half-sent request holds nothing for long), and at most
/// `maxPending` such connections exist at once (more are closed at once). The WebSocket handler
/// removes this handler when the upgrade is done.
final class UpgradeDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    static let name = "cairn-upgrade-deadline"

    final class Pending: Sendable {
        let count = Atomic<Int>(0)
    }

    let timeout: TimeAmount
    let maxPending: Int
    let pending: Pending
    private var timer: Scheduled<Void>?
    private var counted = false

    init(timeout: TimeAmount, maxPending: Int, pending: Pending) {
        self.timeout = timeout
        self.maxPending = maxPending
        self.pending = pending
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        let now = pending.count.wrappingAdd(1, ordering: .relaxed).newValue
        let channel = context.channel
        if now > maxPending {
            channel.close(promise: nil)
            return
        }
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if counted {
            counted = false
            pending.count.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }
}

/// The upgrade channel with `UpgradeDeadline` first in every child channel's pipeline.
struct PeerChildChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value
    let inner: HTTP1WebSocketUpgradeChannel
    let timeout: TimeAmount
    let maxPending: Int
    let pending = UpgradeDeadline.Pending()

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(UpgradeDeadline(timeout: timeout, maxPending: maxPending, pending: pending),
                                                           name: UpgradeDeadline.name, position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async { await inner.handle(value: value, logger: logger) }
}

/// A plain HTTP request on the peer port is told what this port is (naivechain's users got a bare "Upgrade Required").
struct PeerPortAnswer<Context: RequestContext>: RouterMiddleware {
    let listen: String
    let edgeHint: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let body = """
        {"error":{"code":"upgrade-required","message":"this is Cairn's peer-to-peer port (\(listen)): it speaks the binary peer protocol over WebSocket only. The HTTP API is on the edge, by default \(edgeHint)/api"}}
        """
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.upgrade] = "websocket"
        headers[.connection] = "Upgrade"
        return Response(status: .upgradeRequired, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body + "\n")))
    }
}

enum PeerServer {
    /// A connection to the peer port must be a WebSocket within this time of being accepted.
    static let upgradeTimeout: TimeAmount = .seconds(10)
    /// Connections not yet upgraded to a WebSocket, at most (more are closed on accept).
    static let maxPendingUpgrades = 64

    static func application(host: String, port: Int, edgeHint: String, bridge: Bridge, logger: Logger) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: PeerPortAnswer(listen: "\(host):\(port)", edgeHint: edgeHint))
        let wsRouter = Router(context: PeerRequestContext.self)
        wsRouter.ws("/") { inbound, outbound, context in
            // A WebSocket now: the HTTP stage's deadline and pending count no longer apply.
            try? await context.requestContext.channel.pipeline.removeHandler(name: UpgradeDeadline.name).get()
            let remote = context.requestContext.remoteAddress
            let conn = Connection(id: await bridge.newConnectionID(), direction: .inbound,
                                  remoteHost: remote?.ipAddress ?? "unknown", remotePort: remote?.port ?? 0, dialURL: nil)
            await Connection.serve(conn, inbound: inbound, outbound: outbound, bridge: bridge, logger: logger)
        }
        let wsResponder = wsRouter.buildResponder()
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in
                PeerChildChannel(
                    inner: HTTP1WebSocketUpgradeChannel(
                        responder: responder, webSocketResponder: wsResponder,
                        configuration: .init(http1: .init(idleTimeout: upgradeTimeout),
                                             ws: .init(maxFrameSize: Wire.maxFrameSize, autoPing: .disabled, closeTimeout: .seconds(3)))),
                    timeout: upgradeTimeout, maxPending: maxPendingUpgrades)
            },
            configuration: .init(address: .hostname(host, port: port), serverName: "cairn-peerbridge"),
            logger: logger)
    }
}

/// Outbound connections: configured peers are kept connected (reconnect with backoff 1 s doubling to 32 s,
/// back to 1 s after a connection that lasted a minute); learned addresses are tried once at a time.
enum Dialer {
    private static let tasks = Mutex<[String: Task<Void, Never>]>([:])

    static func keepConnected(_ url: String, bridge: Bridge, logger: Logger) {
        tasks.withLock { t in
            guard t[url] == nil else { return }
            t[url] = Task {
                var delay = Duration.seconds(1)
                while !Task.isCancelled {
                    if await bridge.shouldSkipDial(url) {
                        try? await Task.sleep(for: .seconds(2))
                        continue
                    }
                    let began = ContinuousClock.now
                    await connect(url, bridge: bridge, logger: logger)
                    if ContinuousClock.now - began > .seconds(60) { delay = .seconds(1) }
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(32))
                }
            }
        }
    }

    static func tryOnce(_ url: String, bridge: Bridge, logger: Logger) {
        let key = "once:" + url
        tasks.withLock { t in
            guard t[key] == nil else { return }
            t[key] = Task {
                let began = ContinuousClock.now
                await connect(url, bridge: bridge, logger: logger)
                // A learned address that did not keep a connection (for a minute) is forgotten; after a
                // pause it may be tried again if peers announce it again.
                await bridge.learnedDialEnded(url, lasted: ContinuousClock.now - began)
                try? await Task.sleep(for: .seconds(30))
                _ = tasks.withLock { $0.removeValue(forKey: key) }
            }
        }
    }

    static func stopAll() {
        let all = tasks.withLock { t -> [Task<Void, Never>] in
            defer { t.removeAll() }
            return Array(t.values)
        }
        for task in all { task.cancel() }
    }

    static func connect(_ url: String, bridge: Bridge, logger: Logger) async {
        let hostPort = url.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        let (host, port) = hostPort.count >= 3 ? (PeerEndpoints.hostPort(String(hostPort[2])) ?? ("?", 0)) : ("?", 0)
        let id = await bridge.newConnectionID()
        do {
            try await WebSocketClient.connect(
                url: url.hasSuffix("/") || url.split(separator: "/").count > 2 ? url : url + "/",
                configuration: .init(maxFrameSize: Wire.maxFrameSize, closeTimeout: .seconds(3)),
                logger: logger
            ) { inbound, outbound, _ in
                let conn = Connection(id: id, direction: .outbound, remoteHost: host, remotePort: port, dialURL: url)
                await Connection.serve(conn, inbound: inbound, outbound: outbound, bridge: bridge, logger: logger)
            }
        } catch {
            logger.info("cannot connect to peer", metadata: ["url": "\(url)", "error": "\(error)"])
        }
    }
}
