import ArgumentParser
import Bus
import ChainCore
import Foundation
import Hummingbird
import Logging
import Metrics
import NodeKit
import Prometheus
import ServiceLifecycle

/// `cairn-edge`: the HTTP/WebSocket front door (Esplora-shaped API) and the optional public ZMQ notifier.
@main
struct EdgeCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-edge",
        abstract: "Cairn's API edge: Esplora-shaped HTTP API, WebSocket feed, optional Bitcoin Core-style ZMQ notifications.")

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("http-host"), help: "HTTP listen address (env CAIRN_HTTP_HOST; default 127.0.0.1).")
    var httpHost: String?

    @Option(name: .customLong("http-port"), help: "HTTP port (env CAIRN_HTTP_PORT; default \(Endpoints.defaultHTTPPort)).")
    var httpPort: Int?

    @Option(name: .customLong("cors-origin"),
            help: "An origin allowed by CORS; repeat for several (env CAIRN_CORS_ORIGINS, comma-separated; default the wallet's http://127.0.0.1:8341 and http://localhost:8341).")
    var corsOrigins: [String] = []

    @Option(name: .customLong("zmq-pub"), help: "Bind a public Bitcoin Core-style ZMQ PUB here, e.g. tcp://127.0.0.1:28336 (env CAIRN_ZMQ_PUB; default off).")
    var zmqPub: String?

    @Option(name: .customLong("max-body"), help: "Largest request body accepted, bytes (default 262144).")
    var maxBody: Int = 256 * 1024

    @Option(name: .customLong("submit-limit"),
            help: "Transaction submissions (POST /api/tx, sendrawtransaction, the faucet) in flight to the mempool at most; one more is refused with 503 queue-full and Retry-After (JSON-RPC -28) (env CAIRN_SUBMIT_LIMIT; default \(SubmitQueue.defaultLimit)).")
    var submitLimit: String?

    @Option(name: .customLong("faucet-key"),
            help: "Regtest only: the raw 32-byte Ed25519 key file whose mined coins the faucet pays out (env CAIRN_FAUCET_KEY; `cairn up` passes DATA/node-key). No faucet without it.")
    var faucetKey: String?

    @Option(name: .customLong("faucet-amount"), help: "CRN the faucet pays per request (default 10).")
    var faucetAmount: String = "10"

    @Option(name: .customLong("faucet-cooldown"), help: "Seconds before the faucet pays the same address again (default 60).")
    var faucetCooldown: Double = 60

    @Option(name: .customLong("rpc-token"),
            help: "The operator token, beside the cookie DATA/.cookie: grants the JSON-RPC operator methods (submitblock, addnode, setnetworkactive) and the operator routes (/api/operator/…: verify, keys, usage) (env CAIRN_RPC_TOKEN; HTTP Basic with the token as password, or Bearer).")
    var rpcToken: String?

    @Flag(name: .customLong("no-rpc-cookie"), help: "Write no DATA/.cookie (operator methods and routes then need --rpc-token).")
    var noRPCCookie = false

    @Option(name: .customLong("operator-token"),
            help: "Another name for --rpc-token (env CAIRN_OPERATOR_TOKEN): one token for the operator methods and routes.")
    var operatorToken: String?

    @Option(name: .customLong("anonymous-rps"),
            help: "Keyless requests a second per client address at this edge: a number, 'unlimited' or 'off' (keys required) (env CAIRN_ANONYMOUS_RPS; default 50 on regtest, off elsewhere). Loopback clients are not limited unless --limit-loopback.")
    var anonymousRPS: String?

    @Flag(name: .customLong("limit-loopback"), help: "Apply the anonymous rate to loopback clients too.")
    var limitLoopback = false

    func config() throws -> EdgeConfig {
        let env = ProcessInfo.processInfo.environment
        var c = EdgeConfig(params: try common.params, endpoints: common.endpoints)
        c.httpHost = httpHost ?? env["CAIRN_HTTP_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        if let p = httpPort ?? env["CAIRN_HTTP_PORT"].flatMap({ Int($0) }) {
            guard (0...65535).contains(p) else { throw ValidationError("--http-port must be 0…65535") }
            c.httpPort = p
        }
        if !corsOrigins.isEmpty {
            c.corsOrigins = corsOrigins
        } else if let list = env["CAIRN_CORS_ORIGINS"], !list.isEmpty {
            c.corsOrigins = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        c.zmqPub = zmqPub ?? env["CAIRN_ZMQ_PUB"].flatMap { $0.isEmpty ? nil : $0 }
        c.peerRPC = common.peerEndpoints.rpc
        c.peerPub = common.peerEndpoints.pub
        c.bus = try common.busSecurity(role: .edge, endpoints: [c.endpoints.chainRPC, c.endpoints.chainPub, c.endpoints.mempoolRPC,
                                                                c.endpoints.mempoolPub, c.peerRPC, c.peerPub,
                                                                common.accountsEndpoints.rpc, common.accountsEndpoints.pub])
        guard maxBody > 0 else { throw ValidationError("--max-body must be positive") }
        c.maxBody = maxBody
        if let text = submitLimit ?? env["CAIRN_SUBMIT_LIMIT"].flatMap({ $0.isEmpty ? nil : $0 }) {
            c.submitLimit = try Self.parseSubmitLimit(text)
        }
        c.faucetKeyPath = faucetKey ?? env["CAIRN_FAUCET_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        guard let amount = Units.parse(faucetAmount), amount > 0 else { throw ValidationError("--faucet-amount must be a positive CRN amount such as 10 or 2.5") }
        c.faucetAmount = amount
        guard faucetCooldown >= 0 else { throw ValidationError("--faucet-cooldown must not be negative") }
        c.faucetCooldown = faucetCooldown
        c.nodeID = try common.nodeID
        c.rpcToken = rpcToken ?? env["CAIRN_RPC_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        c.rpcCookieDirectory = noRPCCookie ? nil : common.dataDirectory
        c.operatorToken = operatorToken ?? env["CAIRN_OPERATOR_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if let a = c.rpcToken, let b = c.operatorToken, a != b {
            throw ValidationError("--rpc-token and --operator-token are the same token: give one (or the same value)")
        }
        c.accounts = common.accountsEndpoints
        if let text = anonymousRPS ?? env["CAIRN_ANONYMOUS_RPS"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let p = AnonymousPolicy.parse(text, limitLoopback: limitLoopback) else {
                throw ValidationError("--anonymous-rps must be a positive number, 'unlimited' or 'off'")
            }
            c.anonymous = p
        } else if limitLoopback {
            var p = AnonymousPolicy.defaultFor(regtest: c.params.network == .regtest)
            p.limitLoopback = true
            c.anonymous = p
        }
        if c.faucetKeyPath != nil && c.params.network != .regtest { throw ValidationError("--faucet-key: the faucet exists only on regtest") }
        return c
    }

    /// `--submit-limit`: a positive whole number.
    static func parseSubmitLimit(_ text: String) throws -> Int {
        guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n > 0 else {
            throw ValidationError("--submit-limit must be a positive whole number of submissions (got '\(text)'; default \(SubmitQueue.defaultLimit))")
        }
        return n
    }

    func run() async throws {
        ServiceRuntime.bootstrapLogging(common)
        // Hummingbird sets each request's id in its logger's metadata: rendered only when a line is written.
        let logger = DeferredMetadataLogHandler.logger(label: "cairn.edge")
        let config = try config()
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let edge = try await Edge(config: config, metrics: EdgeMetrics(registry: registry), logger: logger)
        edge.backend.submits.setLimit(config.submitLimit)
        let app = buildApplication(config: config, edge: edge)
        logger.notice("edge starting", metadata: [
            "network": "\(config.params.network.rawValue)", "http": "\(config.httpHost):\(config.httpPort)",
            "chain_rpc": "\(config.endpoints.chainRPC)", "mempool_rpc": "\(config.endpoints.mempoolRPC)",
            "cors": "\(config.corsOrigins.joined(separator: ","))", "submit_limit": "\(config.submitLimit)",
            "zmq_pub": "\(edge.notifier?.endpoints.joined(separator: ",") ?? "off")"])
        // The services answering must be this node's (NodeIdentity): otherwise one line and a configuration error.
        let nodeID = config.nodeID, endpoints = config.endpoints
        Task {
            do {
                try await NodeIdentity.check(expected: nodeID, authorities: [("the chain store", endpoints.chainRPC, edge.backend.chain),
                                                                             ("the mempool", endpoints.mempoolRPC, edge.backend.mempool)], logger: logger)
            } catch let e as ArgumentParser.ValidationError {
                FileHandle.standardError.write(Data("cairn-edge: configuration error: \(e.message)\n".utf8))
                Foundation.exit(ServiceSupport.configErrorStatus())
            } catch {}
        }
        Task {
            do {
                try await edge.subscriptionsReady(timeout: .seconds(30))
                logger.info("subscribed to the chain store and mempool publications")
            } catch {
                logger.warning("publications not synced yet (services down?); the feed will start when they are up")
            }
        }
        // The app stops first on SIGTERM/SIGINT (services stop in reverse order), then the bus objects.
        try await ServiceSupport.run([ShutdownHook { await edge.stop(); logger.notice("edge stopped") }, app], logger: logger)
    }
}
