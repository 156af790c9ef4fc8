import ArgumentParser
import ChainCore
import Crypto
import Foundation
import NodeKit

/// `cairn up`: runs a whole node (chain store, mempool, edge, a miner) as
/// supervised child processes on one data folder.
struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a node: cairn-chainstore, cairn-mempool, cairn-edge, a cairn-miner and the wallet front server, supervised.")

    @Option(help: "Network: regtest, testnet or main.")
    var network: String = "regtest"

    @Option(help: "Data folder (locked while the node runs).")
    var data: String = "./cairn-data"

    @Option(name: .customLong("http-port"), help: "The edge's HTTP port (default 8340 + --port-offset).")
    var httpPort: Int?

    @Option(name: .customLong("http-host"), help: "The edge's HTTP address.")
    var httpHost: String = "127.0.0.1"

    @Option(name: .customLong("port-offset"), help: "Shift every default port (bus 28331-28334, HTTP 8340) by N, to run several nodes on one machine.")
    var portOffset: Int = 0

    @Option(name: .customLong("zmq-pub"), help: "Public ZeroMQ PUB endpoint of the edge (Bitcoin Core topics), e.g. tcp://127.0.0.1:28339. Off by default.")
    var zmqPub: String?

    @Option(name: .customLong("cors-origin"), help: "An origin the edge allows (repeat for several).")
    var corsOrigins: [String] = []

    @Option(name: .customLong("miner-address"), help: "Address the miner pays (default: the node key's address).")
    var minerAddress: String?

    @Flag(name: .customLong("no-miner"), help: "Do not start a miner.")
    var noMiner = false

    @Option(name: .customLong("miner-threads"), help: "Miner hashing threads (default: all cores).")
    var minerThreads: Int?

    @Option(name: .customLong("block-interval"), help: "Seconds the miner waits after each block it finds.")
    var blockInterval: Double?

    @Option(name: .customLong("wallet-port"), help: "The wallet front server's port (default 8341 + --port-offset): the browser wallet and explorer.")
    var walletPort: Int?

    @Flag(name: .customLong("no-wallet"), help: "Do not start the wallet front server.")
    var noWallet = false

    @Option(name: .customLong("log-level"), help: "Log level passed to every service.")
    var logLevel: String?

    @Option(name: .customLong("peer"), help: "Another node's peer URL to stay connected to, ws://host:port (repeat for several).")
    var peers: [String] = []

    @Option(name: .customLong("peer-port"), help: "The peer bridge's WebSocket port for other nodes (default 8342 + --port-offset).")
    var peerPort: Int?

    @Option(name: .customLong("peer-host"), help: "The address the peer bridge listens on (default 127.0.0.1; 0.0.0.0 to accept other hosts).")
    var peerHost: String = "127.0.0.1"

    func validate() throws {
        guard ChainParams.named(network) != nil else { throw ValidationError("unknown network '\(network)': use regtest, testnet or main") }
        guard (0...30000).contains(portOffset) else { throw ValidationError("--port-offset must be 0...30000") }
        if let p = httpPort, !(1...65535).contains(p) { throw ValidationError("--http-port must be 1...65535") }
        if let p = walletPort, !(1...65535).contains(p) { throw ValidationError("--wallet-port must be 1...65535") }
        if noWallet && walletPort != nil { throw ValidationError("--wallet-port and --no-wallet exclude each other") }
        if noMiner && minerAddress != nil { throw ValidationError("--miner-address and --no-miner exclude each other") }
        if let t = minerThreads, t < 1 { throw ValidationError("--miner-threads must be at least 1") }
        if let p = peerPort, !(1...65535).contains(p) { throw ValidationError("--peer-port must be 1...65535") }
        for p in peers where !(p.hasPrefix("ws://") || p.hasPrefix("wss://")) { throw ValidationError("--peer \(p): expected ws://host:port") }
    }

    func run() async throws {
        let params = ChainParams.named(network)!
        let dir = URL(fileURLWithPath: data, isDirectory: true).standardizedFileURL
        let lock: DataLock
        do {
            lock = try DataLock(directory: dir, name: "LOCK")
        } catch let failure as DataLock.Failure {
            Output.error("\(failure)")
            throw ExitCode(2)
        }
        let binaries = try Binaries.locate()

        // The node key (created on first run): the miner's default payout, and on regtest the faucet's purse.
        var nodeKeyAddress: String?
        if (!noMiner && minerAddress == nil) || params.network == .regtest {
            let (key, created) = try NodeKey.loadOrCreate(directory: dir)
            let address = Address(publicKey: Array(key.publicKey.rawRepresentation), network: params.network).string
            nodeKeyAddress = address
            print("\(created ? "created node key" : "node key"): \(dir.appendingPathComponent(NodeKey.fileName).path) (address \(address))")
        }
        // The payout address: given, or the node key's.
        var payout: String?
        if !noMiner {
            if let minerAddress {
                do { payout = try Address(minerAddress, network: params.network).string } catch {
                    throw CLIError("--miner-address: \(error.description)")
                }
            } else {
                payout = nodeKeyAddress
            }
        }
        let faucetKey = params.network == .regtest ? dir.appendingPathComponent(NodeKey.fileName).path : nil

        let endpoints = Endpoints.loopback(portOffset: portOffset)
        let peer = PeerBridgeSpec(endpoints: PeerEndpoints.loopback(portOffset: portOffset), host: peerHost,
                                  port: peerPort ?? PeerEndpoints.defaultPorts.ws + portOffset, peers: peers)
        let port = httpPort ?? Endpoints.defaultHTTPPort + portOffset
        let hostForURL = httpHost == "0.0.0.0" || httpHost == "::" ? "127.0.0.1" : httpHost
        let edgeURL = "http://\(hostForURL.contains(":") ? "[\(hostForURL)]" : hostForURL):\(port)"
        // The wallet front server on loopback; the edge grants CORS to its origins (and to any given with --cors-origin).
        let wallet: WalletFrontSpec? = noWallet ? nil : WalletFrontSpec(port: walletPort ?? Endpoints.defaultWalletPort + portOffset, edgeURL: edgeURL)
        let origins = corsOrigins + (wallet?.origins ?? []).filter { !corsOrigins.contains($0) }
        let specs = Self.childSpecs(binaries: binaries, network: params.network.rawValue, data: dir.path, endpoints: endpoints,
                                    httpHost: httpHost, httpPort: port, zmqPub: zmqPub, corsOrigins: origins,
                                    payout: payout, minerThreads: minerThreads, blockInterval: blockInterval, logLevel: logLevel,
                                    faucetKey: faucetKey, wallet: wallet, peer: peer)

        let logs = dir.appendingPathComponent("logs", isDirectory: true)
        let supervisor = Supervisor(logDirectory: logs) { Output.note($0) }
        let signals = SignalWatcher([SIGINT, SIGTERM])
        do {
            for spec in specs { try await supervisor.start(spec) }
        } catch {
            Output.error("cannot start the services: \(error)")
            await supervisor.stopAll()
            throw ExitCode.failure
        }

        let announce = Task {
            let edge = EdgeClient(edgeURL)
            var waited = 0
            while !Task.isCancelled {
                if let r = try? await edge.raw("/healthz", timeout: 2), r.status > 0 { break }
                try? await Task.sleep(for: .milliseconds(250))
                waited += 1
                if waited == 120 { Output.note("the edge is not answering at \(edgeURL)/healthz yet; see \(logs.path)/edge.log") }
            }
            if Task.isCancelled { return }
            print("Cairn \(params.network.rawValue) node is up")
            print("  edge:  \(edgeURL)")
            print("  API:   \(edgeURL)/api/chain")
            if let wallet {
                print("  wallet:   \(wallet.url)/")
                print("  explorer: \(wallet.url)/explorer.html")
            }
            if faucetKey != nil { print("  faucet: POST \(edgeURL)/api/faucet (regtest; pays from the node key's mined coins)") }
            print("  peers: \(peer.url) (\(peer.peers.isEmpty ? "no peers configured" : "connecting to \(peer.peers.joined(separator: ", "))"))")
            if let zmqPub { print("  ZMQ:   \(zmqPub)") }
            print("  logs:  \(logs.path)")
            if let payout { print("  miner pays \(payout)") } else { print("  no miner (attach one with `cairn miner --address … --edge \(edgeURL)`)") }
            print("Stop with Ctrl-C.")
            fflush(nil)
        }

        let signal = await signals.next()
        announce.cancel()
        Output.note("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"): stopping the services")
        await supervisor.stopAll()
        Output.note("stopped")
        withExtendedLifetime(lock) {}
    }

    static func childSpecs(binaries: Binaries, network: String, data: String, endpoints: Endpoints,
                           httpHost: String, httpPort: Int, zmqPub: String?, corsOrigins: [String],
                           payout: String?, minerThreads: Int?, blockInterval: Double?, logLevel: String?,
                           faucetKey: String? = nil, wallet: WalletFrontSpec? = nil, peer: PeerBridgeSpec? = nil) -> [ChildSpec] {
        var common = ["--network", network, "--data", data,
                      "--chain-rpc", endpoints.chainRPC, "--chain-pub", endpoints.chainPub,
                      "--mempool-rpc", endpoints.mempoolRPC, "--mempool-pub", endpoints.mempoolPub]
        if let logLevel { common += ["--log-level", logLevel] }
        var edge = common + ["--http-host", httpHost, "--http-port", String(httpPort)]
        if let zmqPub { edge += ["--zmq-pub", zmqPub] }
        for o in corsOrigins { edge += ["--cors-origin", o] }
        if let faucetKey { edge += ["--faucet-key", faucetKey] }
        if let peer { edge += ["--peer-rpc", peer.endpoints.rpc, "--peer-pub", peer.endpoints.pub] }
        var specs = [
            ChildSpec(name: "chainstore", executable: binaries.path("cairn-chainstore"), arguments: common),
            ChildSpec(name: "mempool", executable: binaries.path("cairn-mempool"), arguments: common),
            ChildSpec(name: "edge", executable: binaries.path("cairn-edge"), arguments: edge),
        ]
        if let peer {
            var args = common + ["--listen", "\(peer.host):\(peer.port)", "--peer-rpc", peer.endpoints.rpc,
                                 "--peer-pub", peer.endpoints.pub, "--http-port", String(httpPort)]
            for p in peer.peers { args += ["--peer", p] }
            specs.append(ChildSpec(name: "peerbridge", executable: binaries.path("cairn-peerbridge"), arguments: args))
        }
        if let wallet {
            var args = ["--host", "127.0.0.1", "--port", String(wallet.port), "--edge", wallet.edgeURL]
            if let logLevel { args += ["--log-level", logLevel] }
            specs.append(ChildSpec(name: "walletfront", executable: binaries.path("cairn-walletfront"), arguments: args))
        }
        if let payout {
            var miner = common + ["--address", payout]
            if let minerThreads { miner += ["--threads", String(minerThreads)] }
            if let blockInterval { miner += ["--block-interval", String(blockInterval)] }
            specs.append(ChildSpec(name: "miner", executable: binaries.path("cairn-miner"), arguments: miner))
        }
        return specs
    }
}

/// The wallet front server `cairn up` starts: its port, the edge it points the page at, its origins.
struct WalletFrontSpec: Sendable, Equatable {
    var port: Int
    var edgeURL: String
    var url: String { "http://127.0.0.1:\(port)" }
    /// What the edge must allow (CORS): the page may be opened as 127.0.0.1 or localhost.
    var origins: [String] { ["http://127.0.0.1:\(port)", "http://localhost:\(port)"] }
}

/// The peer bridge `cairn up` starts: its endpoints, listen address and configured peers.
struct PeerBridgeSpec: Sendable, Equatable {
    var endpoints: PeerEndpoints
    var host: String
    var port: Int
    var peers: [String]
    var url: String {
        let h = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        return "ws://\(h.contains(":") ? "[\(h)]" : h):\(port)"
    }
}

/// The service executables, next to `cairn` itself.
struct Binaries: Sendable {
    let directory: URL
    static let names = ["cairn-chainstore", "cairn-mempool", "cairn-edge", "cairn-miner", "cairn-walletfront", "cairn-peerbridge"]

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func locate(needing needed: [String] = names) throws -> Binaries {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        let b = Binaries(directory: dir)
        let missing = needed.filter { !FileManager.default.isExecutableFile(atPath: b.path($0)) }
        guard missing.isEmpty else {
            throw CLIError("missing next to \(exe): \(missing.joined(separator: ", ")); build them with `swift build` (all products)")
        }
        return b
    }
}

/// The node's own key (raw 32-byte Ed25519 private key, mode 0600): the default payout of `cairn up`'s miner.
enum NodeKey {
    static let fileName = "node-key"

    static func loadOrCreate(directory: URL) throws -> (Curve25519.Signing.PrivateKey, created: Bool) {
        let path = directory.appendingPathComponent(fileName).path
        if let bytes = FileManager.default.contents(atPath: path) {
            guard bytes.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes) else {
                throw CLIError("\(path) is damaged (expected a raw 32-byte Ed25519 key); move it away to create a new one")
            }
            return (key, false)
        }
        let key = Curve25519.Signing.PrivateKey()
        do {
            try SecureFile.createExclusive(path: path, contents: Array(key.rawRepresentation))
        } catch .exists {
            return try loadOrCreate(directory: directory)
        } catch {
            throw CLIError(error.description)
        }
        return (key, true)
    }
}

/// Delivers SIGINT/SIGTERM as values instead of killing the process.
final class SignalWatcher: @unchecked Sendable {
    private let stream: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    init(_ signals: [Int32]) {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.stream = stream
        sources = signals.map { sig in
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { continuation.yield(sig) }
            s.resume()
            return s
        }
    }

    func next() async -> Int32 {
        for await s in stream { return s }
        return SIGTERM
    }
}

enum Output {
    static func note(_ text: String) {
        FileHandle.standardError.write(Data("cairn: \(text)\n".utf8))
    }
    static func error(_ text: String) {
        FileHandle.standardError.write(Data("error: \(text)\n".utf8))
    }
}
