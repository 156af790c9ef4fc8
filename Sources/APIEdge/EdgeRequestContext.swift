import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The edge's request context: Hummingbird's, plus the client's address (the anonymous limit is per address).
struct EdgeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// The WebSocket router's context: Hummingbird's, plus the client's address, so a keyless upgrade
/// meets the same anonymous policy as a keyless request.
struct EdgeWebSocketContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let remoteAddress: SocketAddress?
    /// The connection, for the answer to a refused upgrade (`RefusedUpgrades`).
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }
}
