import Foundation
import Hummingbird
import NIOCore
import NIOHTTPTypes
import Synchronization

/// A refused WebSocket upgrade answered with its own status and JSON error, as every HTTP error is.
///
/// hummingbird-websocket 2.8.1 turns whatever a `shouldUpgrade` closure throws into `.dontUpgrade`
/// and then writes a fixed, empty `400` with `Connection: close` (`HTTP1WebSocketUpgradeChannel`'s
/// `writeFailedUpgrade`): a client with a bad key, over the keyless rate or early on a starting feed
/// would see neither the status (401, 429, 503) nor the reason. So each `shouldUpgrade` records what
/// it threw against its connection (`refusing`), and a channel handler, put on every HTTP/1
/// connection's pipeline by the server's `additionalChannelHandlers`, rewrites that empty 400 into
/// the refusal's response: its status, its headers (`Retry-After`, `WWW-Authenticate`, the rate
/// limit's), `{"error":{"code","message"}}`. A connection with nothing recorded (every one that is
/// not a refused upgrade) takes the handler out of its pipeline as soon as it is added.
final class RefusedUpgrades: Sendable {
    private let refusals = Mutex([ObjectIdentifier: APIError]())

    /// Runs an upgrade's checks; what they throw is recorded for `channel`'s answer, then rethrown.
    func refusing<T>(on channel: any Channel, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            let id = ObjectIdentifier(channel)
            refusals.withLock { $0[id] = APIError.from(error) }
            // Not kept past the connection (its handler takes it at once; this is for one closed before).
            channel.closeFuture.whenComplete { _ in _ = self.take(id) }
            throw error
        }
    }

    func take(_ id: ObjectIdentifier) -> APIError? {
        refusals.withLock { $0.removeValue(forKey: id) }
    }

    /// How many refusals wait for their answer (for tests: none is left behind).
    var pending: Int { refusals.withLock { $0.count } }

    /// One connection's handler.
    func handler() -> any RemovableChannelHandler { Rewriter(owner: self) }

    /// The refusal's response head and body, for hummingbird-websocket's empty 400.
    static func answer(_ error: APIError) -> (HTTPResponse, ByteBuffer) {
        let body = (try? JSONEncoder().encode(APIError.Body(error: .init(code: error.code, message: error.message)))) ?? Data()
        var fields = error.headers
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.contentLength] = String(body.count)
        fields[.connection] = "close"
        return (HTTPResponse(status: error.status, headerFields: fields), ByteBuffer(bytes: body))
    }

    private final class Rewriter: ChannelOutboundHandler, RemovableChannelHandler {
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart
        let owner: RefusedUpgrades
        var refusal: APIError?
        var body: ByteBuffer?

        init(owner: RefusedUpgrades) { self.owner = owner }

        func handlerAdded(context: ChannelHandlerContext) {
            // The upgrade's checks ran before this handler was added (it is added once the upgrade is refused).
            refusal = owner.take(ObjectIdentifier(context.channel))
            if refusal == nil { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            let part = unwrapOutboundIn(data)
            switch part {
            case .head(let head) where head.status == .badRequest && refusal != nil && body == nil:
                let (response, bytes) = RefusedUpgrades.answer(refusal!)
                body = bytes
                context.write(wrapOutboundOut(.head(response)), promise: promise)
            case .end(let trailers) where body != nil:
                context.write(wrapOutboundOut(.body(body!)), promise: nil)
                context.write(wrapOutboundOut(.end(trailers)), promise: promise)
                refusal = nil
                body = nil
            default:
                context.write(data, promise: promise)
            }
        }
    }
}
