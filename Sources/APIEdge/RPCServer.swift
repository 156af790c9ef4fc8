import Bus
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NodeKit

/// The edge's JSON-RPC state: operator credentials, the long-poll signal for `getblocktemplate`,
/// the peer bridge client, the method table and the start time (`uptime`).
final class RPCServer: Sendable {
    let auth: OperatorAuth
    let methods: RPCMethodTable
    let longPoll: LongPollSignal
    let peer: RPCClient
    /// WebSocket connections and their subscriptions.
    let subscriptions: RPCSubscriptions
    let peerEndpoint: String
    let startedAt = ContinuousClock.now
    /// Largest batch answered; a larger one gets one -32600 error.
    static let maxBatch = 1_000
    /// Batch items run at most this many at a time (in order of their answers regardless).
    static let batchConcurrency = 16

    init(context: ZMQContext, config: EdgeConfig, backend: Backend, metrics: EdgeMetrics, feedStart: FeedStart, logger: Logger) async throws {
        auth = try OperatorAuth(cookieDirectory: config.rpcCookieDirectory, token: config.rpcToken ?? config.operatorToken, logger: logger)
        subscriptions = RPCSubscriptions(backend: backend, queueLimit: config.wsQueueLimit, metrics: metrics, feedStart: feedStart, logger: logger)
        subscriptions.start()
        methods = RPCMethodTable(RPCMethods.all)
        longPoll = try await LongPollSignal(context: context, endpoints: config.endpoints, bus: config.bus, logger: logger)
        peerEndpoint = config.peerRPC
        peer = try await RPCClient(context: context, endpoint: config.peerRPC, timeout: config.peerTimeout, retries: config.peerRetries,
                                   curve: try? config.bus.client(of: .peerbridge))
    }

    func stop() async {
        await subscriptions.stop()
        await longPoll.stop()
        await peer.stop()
        auth.removeCookie()
    }

    /// Whether a WebSocket upgrade on /rpc may proceed: wrong credentials wait and get 401; none
    /// open a public session (operator methods then refused on it).
    func upgrade(_ request: Request) async throws -> RouterShouldUpgrade {
        if auth.verdict(request.headers[.authorization]) == .wrong {
            try await Task.sleep(for: OperatorAuth.wrongCredentialsDelay)
            throw OperatorAuth.unauthorized("wrong credentials for the JSON-RPC operator methods")
        }
        return .upgrade([:])
    }

    /// A peer bridge method; a bridge that does not answer is Bitcoin Core's "P2P disabled" (-31).
    func peerCall<P: Encodable & Sendable, R: Codable & Sendable>(_ method: PeerMethod, _ params: P, as: R.Type = R.self) async throws -> R {
        do {
            return try await peer.call(method, params, as: R.self)
        } catch let e as RPCError {
            throw RPCFault(e.code == "bad-params" ? RPCFault.invalidParameterCode : RPCFault.miscCode, e.message)
        } catch is BusError {
            throw RPCFault(RPCFault.p2pDisabledCode,
                           "Error: Peer-to-peer functionality missing or disabled (the peer bridge does not answer at \(peerEndpoint))")
        }
    }
}
