import ArgumentParser
import Bus
import ChainCore
import Foundation
import Logging
import ServiceLifecycle

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

public enum ServiceSupport {
    /// Logs to standard error, one line per event.
    public static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }

    /// Runs services until SIGTERM or SIGINT, then shuts them down gracefully (in reverse order).
    public static func run(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    public static func now() -> Double { Date().timeIntervalSince1970 }

    /// Creates the data folder if needed.
    public static func ensureDirectory(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
}

/// An exclusive lock on a file in the data folder (flock), held for the life
/// of the process: a second process that wants the same data is told it is in use.
public final class DataLock: Sendable {
    private let fd: Int32
    public let path: String

    public enum Failure: Error, CustomStringConvertible {
        case inUse(path: String, holder: String)
        case cannotOpen(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .inUse(let path, let holder):
                return "\(path) is in use by another Cairn process\(holder.isEmpty ? "" : " (\(holder))"); stop it first or choose another --data folder"
            case .cannotOpen(let path, let e): return "cannot open \(path): \(String(cString: strerror(e)))"
            }
        }
    }

    public init(directory: URL, name: String) throws {
        try ServiceSupport.ensureDirectory(directory)
        path = directory.appendingPathComponent(name).path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure.cannotOpen(path: path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw Failure.inUse(path: path, holder: holder)
        }
        ftruncate(fd, 0)
        let note = "pid \(getpid())\n"
        _ = note.withCString { write(fd, $0, strlen($0)) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// Publishes trace events on a service's PUB socket.
public struct TraceRecorder: Sendable {
    public let publisher: Publisher
    public let service: ServiceName

    public init(publisher: Publisher, service: ServiceName) {
        self.publisher = publisher
        self.service = service
    }

    @discardableResult
    public func record(_ id: String, kind: TraceKind, stage: TraceStage, detail: String? = nil, time: Double = ServiceSupport.now()) -> TraceEvent {
        let event = TraceEvent(id: id, kind: kind, stage: stage, service: service, time: time, detail: detail)
        // Encoded only when someone subscribes (the edge does while a WebSocket client is connected).
        _ = try? publisher.publish(topic: Topic.trace, ifSubscribed: { try JSON.encode(event) })
        return event
    }
}

/// A lifecycle service that waits for SIGTERM/SIGINT, then runs `cleanup`
/// (stop servers and publishers, terminate the ZeroMQ context).
public struct ShutdownHook: Service {
    let cleanup: @Sendable () async -> Void

    public init(cleanup: @escaping @Sendable () async -> Void) { self.cleanup = cleanup }

    public func run() async throws {
        // Returns when graceful shutdown is triggered (or the task is cancelled).
        try? await gracefulShutdown()
        await cleanup()
    }
}

extension Hash256 {
    /// 32 bytes in display order: Bitcoin Core's hashblock/hashtx body.
    public var displayBytes: [UInt8] { bytes.reversed() }
}

extension OutPoint {
    /// Parses "txid:index".
    public init?(text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let txid = Hash256(hex: String(parts[0])), let index = UInt32(parts[1]) else { return nil }
        self.init(txid: txid, index: index)
    }
}
