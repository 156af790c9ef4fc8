import ArgumentParser
import ChainCore
import Foundation
import NodeKit
import Wallet

/// `cairn up`: runs a whole node (chain store, mempool, edge, a miner) as
/// supervised child processes on one data folder.
struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a node: cairn-chainstore, cairn-mempool, cairn-accounts (API keys), cairn-edge, a cairn-miner, the peer bridge (cairn-peerbridge, links to other nodes) and the wallet front server, supervised.")

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

    @Option(name: .customLong("portal-signup"), help: "Developer portal sign-up (wallet front's portal.html): on or off (default: on on regtest, off elsewhere).")
    var portalSignup: String?

    @Option(name: .customLong("peer-host"), help: "The address the peer bridge listens on (default 127.0.0.1; 0.0.0.0 to accept other hosts).")
    var peerHost: String = "127.0.0.1"

    @Option(name: .customLong("submit-limit"),
            help: "Transaction submissions the edge keeps in flight to the mempool at most (POST /api/tx, sendrawtransaction, the faucet); one more is refused at once with 503 queue-full and Retry-After (JSON-RPC -28) (default 1024).")
    var submitLimit: String?

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
        if let s = portalSignup, !["on", "off"].contains(s) { throw ValidationError("--portal-signup is on or off") }
        _ = try submitLimitValue
    }

    /// `--submit-limit` as a number: a positive whole number (the edge's default when not given).
    var submitLimitValue: Int? {
        get throws {
            guard let submitLimit else { return nil }
            guard let n = Int(submitLimit.trimmingCharacters(in: .whitespaces)), n > 0 else {
                throw ValidationError("--submit-limit must be a positive whole number of submissions (got '\(submitLimit)'; default 1024)")
            }
            return n
        }
    }

    func run() async throws {
        // Started by `cairn net`: stop when it is gone (SIGTERM, handled below as Ctrl-C is).
        SupervisorWatch.start { Output.note(SupervisorWatch.goneMessage("cairn up", supervisor: $0).trimmingCharacters(in: .newlines)) }
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

        let endpoints = Endpoints.loopback(portOffset: portOffset)
        let peer = PeerBridgeSpec(endpoints: PeerEndpoints.loopback(portOffset: portOffset), host: peerHost,
                                  port: peerPort ?? PeerEndpoints.defaultPorts.ws + portOffset, peers: peers)
        let port = httpPort ?? Endpoints.defaultHTTPPort + portOffset
        let walletPort = noWallet ? nil : (self.walletPort ?? Endpoints.defaultWalletPort + portOffset)
        // Every port must be free before anything starts: a second node on the same ports would
        // otherwise restart its services forever and its miner would join the first node's bus.
        let accounts = AccountsEndpoints.loopback(portOffset: portOffset)
        let ports = Self.listenPorts(endpoints: endpoints, peer: peer, httpHost: httpHost, httpPort: port,
                                     walletPort: walletPort, zmqPub: zmqPub, accounts: accounts)
        if let busy = PortCheck.firstInUse(ports) {
            Output.error("port \(busy.port) (\(busy.what)) is in use on \(busy.host), perhaps by another node: stop it, or start this one with --port-offset N (e.g. --port-offset \(portOffset + 10))")
            throw ExitCode(2)
        }
        let nodeID = try NodeID.loadOrCreate(directory: dir)

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

        let hostForURL = httpHost == "0.0.0.0" || httpHost == "::" ? "127.0.0.1" : httpHost
        let edgeURL = "http://\(Endpoints.urlHost(hostForURL)):\(port)"
        // The wallet front server on loopback; the edge grants CORS to its origins (and to any given with --cors-origin).
        let wallet: WalletFrontSpec? = walletPort.map { WalletFrontSpec(port: $0, edgeURL: edgeURL) }
        let origins = corsOrigins + (wallet?.origins ?? []).filter { !corsOrigins.contains($0) }
        let specs = Self.childSpecs(binaries: binaries, network: params.network.rawValue, data: dir.path, endpoints: endpoints,
                                    httpHost: httpHost, httpPort: port, zmqPub: zmqPub, corsOrigins: origins,
                                    payout: payout, minerThreads: minerThreads, blockInterval: blockInterval, logLevel: logLevel,
                                    faucetKey: faucetKey, wallet: wallet, peer: peer, nodeID: nodeID, accounts: accounts,
                                    portalSignup: portalSignup, submitLimit: try submitLimitValue)

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
            var warnedOther = false
            while !Task.isCancelled {
                // Our own edge: its /healthz names this data folder's node id (another node's edge could answer here too).
                if let r = try? await edge.raw("/healthz", timeout: 2), r.status > 0 {
                    let id = (try? JSONDecoder().decode(JSONValue.self, from: r.body))?["node_id"]?.string
                    if id == nodeID { break }
                    if !warnedOther {
                        warnedOther = true
                        Output.error("another node's edge answers at \(edgeURL) (node id \(id ?? "none"), ours \(nodeID)); see \(logs.path)/edge.log")
                    }
                }
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
                           faucetKey: String? = nil, wallet: WalletFrontSpec? = nil, peer: PeerBridgeSpec? = nil,
                           nodeID: String? = nil, accounts: AccountsEndpoints? = nil, portalSignup: String? = nil,
                           submitLimit: Int? = nil) -> [ChildSpec] {
        var common = ["--network", network, "--data", data,
                      "--chain-rpc", endpoints.chainRPC, "--chain-pub", endpoints.chainPub,
                      "--mempool-rpc", endpoints.mempoolRPC, "--mempool-pub", endpoints.mempoolPub]
        if let logLevel { common += ["--log-level", logLevel] }
        // Every service knows the node id: authorities answer it, clients refuse a bus answering another (NodeIdentity).
        if let nodeID { common += ["--node-id", nodeID] }
        var edge = common + ["--http-host", httpHost, "--http-port", String(httpPort)]
        if let accounts { edge += ["--accounts-rpc", accounts.rpc, "--accounts-pub", accounts.pub] }
        if let zmqPub { edge += ["--zmq-pub", zmqPub] }
        for o in corsOrigins { edge += ["--cors-origin", o] }
        if let faucetKey { edge += ["--faucet-key", faucetKey] }
        if let submitLimit { edge += ["--submit-limit", String(submitLimit)] }
        if let peer { edge += ["--peer-rpc", peer.endpoints.rpc, "--peer-pub", peer.endpoints.pub] }
        var specs = [
            ChildSpec(.chainstore, in: binaries, arguments: common),
            ChildSpec(.mempool, in: binaries, arguments: common),
        ]
        // The accounts service before the edge: API keys, their limits and usage (accounts.sqlite).
        if let accounts {
            specs.append(ChildSpec(.accounts, in: binaries,
                                   arguments: common + ["--accounts-rpc", accounts.rpc, "--accounts-pub", accounts.pub]
                                       + (portalSignup.map { ["--portal-signup", $0] } ?? [])))
        }
        specs += [
            ChildSpec(.edge, in: binaries, arguments: edge),
        ]
        if let peer {
            var args = common + ["--listen", "\(peer.host):\(peer.port)", "--peer-rpc", peer.endpoints.rpc,
                                 "--peer-pub", peer.endpoints.pub, "--http-port", String(httpPort)]
            for p in peer.peers { args += ["--peer", p] }
            specs.append(ChildSpec(.peerbridge, in: binaries, arguments: args))
        }
        if let wallet {
            var args = ["--host", "127.0.0.1", "--port", String(wallet.port), "--edge", wallet.edgeURL]
            if let logLevel { args += ["--log-level", logLevel] }
            specs.append(ChildSpec(.walletfront, in: binaries, arguments: args))
        }
        if let payout {
            var miner = common + ["--address", payout]
            if let minerThreads { miner += ["--threads", String(minerThreads)] }
            if let blockInterval { miner += ["--block-interval", String(blockInterval)] }
            specs.append(ChildSpec(.miner, in: binaries, arguments: miner))
        }
        return specs
    }

    /// What the node will listen on: the bus endpoints, the edge's HTTP (and public ZMQ), the peer bridge, the wallet.
    static func listenPorts(endpoints: Endpoints, peer: PeerBridgeSpec, httpHost: String, httpPort: Int,
                            walletPort: Int?, zmqPub: String?, accounts: AccountsEndpoints? = nil) -> [PortCheck.Listen] {
        var out: [PortCheck.Listen] = []
        func bus(_ endpoint: String, _ what: String) {
            if let l = PortCheck.Listen(endpoint: endpoint, what: what) { out.append(l) }
        }
        bus(endpoints.chainRPC, "the chain store's chain.rpc")
        bus(endpoints.chainPub, "the chain store's chain.pub")
        bus(endpoints.mempoolRPC, "the mempool's mempool.rpc")
        bus(endpoints.mempoolPub, "the mempool's mempool.pub")
        if let accounts {
            bus(accounts.rpc, "the accounts service's accounts.rpc")
            bus(accounts.pub, "the accounts service's accounts.pub")
        }
        out.append(PortCheck.Listen(host: httpHost, port: httpPort, what: "the edge's HTTP"))
        if let zmqPub { bus(zmqPub, "the edge's --zmq-pub") }
        bus(peer.endpoints.rpc, "the peer bridge's peer.rpc")
        bus(peer.endpoints.pub, "the peer bridge's peer.pub")
        out.append(PortCheck.Listen(host: peer.host, port: peer.port, what: "the peer bridge's WebSocket"))
        if let walletPort { out.append(PortCheck.Listen(host: "127.0.0.1", port: walletPort, what: "the wallet front server")) }
        return out
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
        return "ws://\(Endpoints.urlHost(h)):\(port)"
    }
}

extension ChildSpec {
    /// The child running `service`'s executable, `cairn-NAME` in `binaries`, named after it (its log is `NAME.log`).
    init(_ service: ServiceName, in binaries: Binaries, arguments: [String]) {
        self.init(name: service.rawValue, executable: binaries.path("cairn-\(service.rawValue)"), arguments: arguments)
    }
}
