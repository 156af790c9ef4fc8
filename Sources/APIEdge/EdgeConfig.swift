import ChainCore
import Foundation
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
    /// Transaction submissions in flight to the mempool at most; one more is refused with 503
    /// `queue-full` and `Retry-After` (SubmitQueue.swift; `--submit-limit`).
    var submitLimit = SubmitQueue.defaultLimit
    /// The peer bridge's request endpoint (GET /api/peers, /api/sync).
    var peerRPC = PeerEndpoints.loopback().rpc
    /// A peer bridge call waits this long, this many times, before the bridge counts as absent
    /// (503 on /api/peers and /api/sync, -31 on /rpc): short, since a node run alone has none.
    var peerTimeout: Duration = .milliseconds(700)
    var peerRetries = 1
    /// The peer bridge's PUB: its trace events join the WebSocket feed.
    var peerPub = PeerEndpoints.loopback().pub
    /// How long the `trace` subscriptions outlive the last `/api/ws` client (`TraceRelay`).
    var traceLinger: Duration = .seconds(10)
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
    /// `--operator-token`, an alias of `rpcToken` (one token for the operator routes and methods).
    var operatorToken: String?
    /// The accounts service (API keys, limits, usage).
    var accounts = AccountsEndpoints.loopback()
    /// A key check waits this long for the accounts service, this many times, before answering 503:
    /// short, since every keyed request waits on it (the key cache spares most).
    var accountsTimeout: Duration = .milliseconds(800)
    var accountsRetries = 2
    /// Keyless access; nil: the network's default (`AnonymousPolicy.defaultFor`).
    var anonymous: AnonymousPolicy?

    static let defaultCORSOrigins = ["http://127.0.0.1:8341", "http://localhost:8341"]
}
