import Bus
import Foundation
import Hummingbird
import NodeKit

/// `GET /api/peers` and `GET /api/sync`: the peer bridge's view, asked over its request socket.
/// Without a bridge (a node started alone, or the bridge down) both answer a JSON 503.
enum PeerRoutes {
    static func routes(_ edge: Edge) -> [Route] {
        let link = PeerLink(context: edge.context, endpoint: edge.config.peerRPC, timeout: edge.config.peerTimeout,
                            retries: edge.config.peerRetries, curve: try? edge.config.bus.client(of: .peerbridge))
        let peer = Schema.object([
            "id": Schema.int, "address": Schema.string, "direction": ["type": "string", "enum": ["inbound", "outbound"]],
            "handshaken": Schema.bool, "user_agent": Schema.string, "protocol_version": Schema.uint, "start_height": Schema.int,
            "best_height": Schema.int, "score": Schema.uint, "connected_at": Schema.number, "last_message_at": Schema.number,
            "ping_time": Schema.nullable(Schema.number), "messages_in": Schema.uint, "messages_out": Schema.uint,
            "bytes_in": Schema.uint, "bytes_out": Schema.uint, "blocks_in_flight": Schema.uint,
        ], required: ["id", "address", "direction", "handshaken", "score"])
        let ban = Schema.object(["address": Schema.string, "reason": Schema.string, "until": Schema.number])
        let peers = Schema.object(["listen": Schema.string, "peers": Schema.array(peer), "banned": Schema.array(ban),
                                   "known": Schema.array(Schema.string),
                                   "offences": ["type": "object", "additionalProperties": Schema.uint]])
        let sync = Schema.object([
            "state": ["type": "string", "enum": ["idle", "headers", "blocks"]], "height": Schema.int, "tip_hash": Schema.hash,
            "best_peer_height": Schema.int, "headers_known": Schema.uint, "blocks_queued": Schema.uint,
            "blocks_in_flight": Schema.uint, "orphans": Schema.uint, "blocks_received": Schema.uint,
            "blocks_accepted": Schema.uint, "txs_received": Schema.uint, "txs_accepted": Schema.uint, "progress": Schema.number,
        ])
        return [
            Route(.get, "/api/peers",
                  RouteDoc(summary: "Peers of this node (the peer bridge): connections, scores, bans, known addresses", tag: "node",
                           response: .json(peers), errors: [502, 503])) { _, _ in
                snakeJSON(try await link.call(.getpeers, as: PeerList.self))
            },
            Route(.get, "/api/sync",
                  RouteDoc(summary: "Headers-first sync progress of this node against its peers", tag: "node",
                           response: .json(sync), errors: [502, 503])) { _, _ in
                snakeJSON(try await link.call(.getsync, as: SyncStatus.self))
            },
        ]
    }

    static func snakeJSON<T: Encodable>(_ value: T) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(value) else { return Reply.json(value) }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The edge's client of the peer bridge, connected on first use, with a short timeout so that a
/// node without a bridge answers 503 quickly.
actor PeerLink {
    let context: ZMQContext
    let endpoint: String
    let timeout: Duration
    let retries: Int
    let curve: CurveSecurity?
    private var client: RPCClient?

    init(context: ZMQContext, endpoint: String, timeout: Duration, retries: Int, curve: CurveSecurity? = nil) {
        self.context = context
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self.curve = curve
    }

    func call<R: Codable & Sendable>(_ method: PeerMethod, as: R.Type) async throws -> R {
        let c: RPCClient
        if let client {
            c = client
        } else {
            let made: RPCClient
            do {
                made = try await RPCClient(context: context, endpoint: endpoint, timeout: timeout, retries: retries, curve: curve)
            } catch {
                throw APIError(.serviceUnavailable, "peerbridge-unavailable", "the peer bridge cannot be reached at \(endpoint): \(error)")
            }
            // Two calls on a fresh edge may both have made one: the first kept is used (the spare's
            // socket thread stops when it is released).
            if let kept = client { c = kept } else { client = made; c = made }
        }
        do {
            return try await c.call(method, Empty(), as: R.self)
        } catch let e as RPCError {
            throw APIError.fromRPC(e, service: .peerbridge)
        } catch is BusError {
            throw APIError(.serviceUnavailable, "peerbridge-unavailable",
                           "the peer bridge is not running or not answering at \(endpoint) (start the node with `cairn up`, which runs it)")
        }
    }
}
