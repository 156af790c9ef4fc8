import ArgumentParser
import ChainCore
import Foundation
import Logging

/// Flags every service accepts. Each falls back to its environment variable
/// (see `Endpoints.Env`), then to the loopback default.
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(help: "Network: regtest, testnet or main (env CAIRN_NETWORK; default regtest).")
    public var network: String?

    @Option(help: "Data folder (env CAIRN_DATA; default ./cairn-data).")
    public var data: String?

    @Option(name: .customLong("chain-rpc"), help: "ChainStore request endpoint (env CAIRN_CHAIN_RPC).")
    public var chainRPC: String?

    @Option(name: .customLong("chain-pub"), help: "ChainStore publish endpoint (env CAIRN_CHAIN_PUB).")
    public var chainPub: String?

    @Option(name: .customLong("mempool-rpc"), help: "Mempool request endpoint (env CAIRN_MEMPOOL_RPC).")
    public var mempoolRPC: String?

    @Option(name: .customLong("mempool-pub"), help: "Mempool publish endpoint (env CAIRN_MEMPOOL_PUB).")
    public var mempoolPub: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (env CAIRN_LOG_LEVEL; default info).")
    public var logLevel: String?

    @Option(name: .customLong("peer-rpc"), help: "PeerBridge request endpoint (env CAIRN_PEER_RPC; default tcp://127.0.0.1:28335).")
    public var peerRPC: String?

    @Option(name: .customLong("peer-pub"), help: "PeerBridge trace PUB endpoint (env CAIRN_PEER_PUB; default tcp://127.0.0.1:28337).")
    public var peerPub: String?

    @Option(name: .customLong("node-id"), help: "This node's id (env CAIRN_NODE_ID; `cairn up` passes DATA/node-id): authorities answer it, and a service refuses a bus whose authorities answer another one.")
    public var nodeIDOption: String?

    @Option(name: .customLong("accounts-rpc"), help: "Accounts service request endpoint (env CAIRN_ACCOUNTS_RPC; default tcp://127.0.0.1:28338).")
    public var accountsRPC: String?

    @Option(name: .customLong("accounts-pub"), help: "Accounts service PUB endpoint, key changes (env CAIRN_ACCOUNTS_PUB; default tcp://127.0.0.1:28330).")
    public var accountsPub: String?

    @Option(name: .customLong("bus-keys"), help: "Folder of CURVE certificates for the bus, required when a bus endpoint leaves loopback (env CAIRN_BUS_KEYS; `cairn keygen` makes them).")
    public var busKeys: String?

    public init() {}

    var env: [String: String] { ProcessInfo.processInfo.environment }

    public var endpoints: Endpoints {
        var e = Endpoints.fromEnvironment(env)
        if let v = chainRPC { e.chainRPC = v }
        if let v = chainPub { e.chainPub = v }
        if let v = mempoolRPC { e.mempoolRPC = v }
        if let v = mempoolPub { e.mempoolPub = v }
        return e
    }

    /// The peer bridge's endpoints: environment, then `--peer-rpc` / `--peer-pub`.
    public var peerEndpoints: PeerEndpoints {
        var e = PeerEndpoints.fromEnvironment(env)
        if let v = peerRPC { e.rpc = v }
        if let v = peerPub { e.pub = v }
        return e
    }

    /// The accounts service's endpoints: environment, then `--accounts-rpc` / `--accounts-pub`.
    public var accountsEndpoints: AccountsEndpoints {
        var e = AccountsEndpoints.fromEnvironment(env)
        if let v = accountsRPC { e.rpc = v }
        if let v = accountsPub { e.pub = v }
        return e
    }

    public var params: ChainParams {
        get throws {
            let name = network ?? env[Endpoints.Env.network] ?? "regtest"
            guard let p = ChainParams.named(name) else {
                throw ValidationError("unknown network '\(name)': use regtest, testnet or main")
            }
            return p
        }
    }

    public var dataDirectory: URL {
        URL(fileURLWithPath: data ?? env[Endpoints.Env.data] ?? "./cairn-data", isDirectory: true)
    }

    public var level: Logger.Level {
        Logger.Level(rawValue: (logLevel ?? env[Endpoints.Env.logLevel] ?? "info").lowercased()) ?? .info
    }
}
