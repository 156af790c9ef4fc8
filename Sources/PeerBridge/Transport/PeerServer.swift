import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import Synchronization

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
