import ArgumentParser
import ChainCore
import Foundation
import NodeKit

/// `cairn net`: several nodes on this machine.
struct Net: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run several nodes on this machine, connected to each other.",
        subcommands: [NetUp.self])
}

/// `cairn net up --nodes N`: N full stacks (`cairn up` each) with their own data folders and
/// ports, every node peered with every other, until Ctrl-C or SIGTERM stops them all.
struct NetUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start N nodes, each a whole `cairn up` stack with its own data folder and ports, connected to each other.")

    @Option(help: "How many nodes.")
    var nodes: Int = 3

    @Option(help: "Parent data folder: node i keeps its data in DATA/node<i>.")
    var data: String = "./cairn-net"

    @Option(help: "Network: regtest, testnet or main.")
    var network: String = "regtest"

    @Option(name: .customLong("port-offset"), help: "Port offset of the first node; node i uses this + 10·i.")
    var portOffset: Int = 0

    @Option(help: "How many of the nodes run a miner (the first ones).")
    var miners: Int = 1

    @Option(name: .customLong("miner-address"), help: "Address the miners pay (default: each node's own node key).")
    var minerAddress: String?

    @Option(name: .customLong("miner-threads"), help: "Hashing threads per miner.")
    var minerThreads: Int = 1

    @Option(name: .customLong("block-interval"), help: "Seconds each miner waits after a block it finds.")
    var blockInterval: Double?

    @Option(name: .customLong("log-level"), help: "Log level passed to every service.")
    var logLevel: String?

    func validate() throws {
        guard (1...20).contains(nodes) else { throw ValidationError("--nodes must be 1...20") }
        guard ChainParams.named(network) != nil else { throw ValidationError("unknown network '\(network)': use regtest, testnet or main") }
        guard (0...30000).contains(portOffset), portOffset + 10 * (nodes - 1) <= 30000 else {
            throw ValidationError("--port-offset + 10·(nodes − 1) must be within 0...30000")
        }
        guard (0...nodes).contains(miners) else { throw ValidationError("--miners must be 0...--nodes") }
        guard minerThreads >= 1 else { throw ValidationError("--miner-threads must be at least 1") }
        if let minerAddress, let params = ChainParams.named(network) {
            do { _ = try Address(minerAddress, network: params.network) } catch {
                throw ValidationError("--miner-address: \(error.description)")
            }
        }
    }

    struct Node {
        var index: Int
        var offset: Int
        var dir: URL
        var edge: String { "http://127.0.0.1:\(Endpoints.defaultHTTPPort + offset)" }
        var peer: String { "ws://127.0.0.1:\(PeerEndpoints.defaultPorts.ws + offset)" }
    }

    /// The `cairn up` arguments of each node: node i peers with every node before it, so each pair is connected once.
    static func plan(nodes: Int, data: URL, network: String, portOffset: Int, miners: Int, minerThreads: Int,
                     blockInterval: Double?, logLevel: String?, minerAddress: String? = nil) -> [(Node, [String])] {
        var out = [(Node, [String])]()
        for i in 0..<nodes {
            let node = Node(index: i, offset: portOffset + 10 * i, dir: data.appendingPathComponent("node\(i)", isDirectory: true))
            var args = ["up", "--network", network, "--data", node.dir.path, "--port-offset", String(node.offset), "--no-wallet"]
            if i < miners {
                args += ["--miner-threads", String(minerThreads)]
                if let minerAddress { args += ["--miner-address", minerAddress] }
                if let blockInterval { args += ["--block-interval", String(blockInterval)] }
            } else {
                args += ["--no-miner"]
            }
            if let logLevel { args += ["--log-level", logLevel] }
            for j in 0..<i { args += ["--peer", "ws://127.0.0.1:\(PeerEndpoints.defaultPorts.ws + portOffset + 10 * j)"] }
            out.append((node, args))
        }
        return out
    }

    func run() async throws {
        let root = URL(fileURLWithPath: data, isDirectory: true).standardizedFileURL
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let lock: DataLock
        do {
            lock = try DataLock(directory: root, name: "NET-LOCK")
        } catch let failure as DataLock.Failure {
            Output.error("\(failure)")
            throw ExitCode(2)
        }
        let cairn = try Binaries.locate(needing: ["cairn"] + Binaries.names)
        let plan = Self.plan(nodes: nodes, data: root, network: network, portOffset: portOffset, miners: miners,
                             minerThreads: minerThreads, blockInterval: blockInterval, logLevel: logLevel, minerAddress: minerAddress)
        let supervisor = Supervisor(logDirectory: root.appendingPathComponent("logs", isDirectory: true)) { Output.note($0) }
        let signals = SignalWatcher([SIGINT, SIGTERM])
        do {
            for (node, args) in plan {
                try await supervisor.start(ChildSpec(name: "node\(node.index)", executable: cairn.path("cairn"), arguments: args))
            }
        } catch {
            Output.error("cannot start the nodes: \(error)")
            await supervisor.stopAll()
            throw ExitCode.failure
        }
        let announce = Task {
            for (node, _) in plan {
                let edge = EdgeClient(node.edge)
                while !Task.isCancelled {
                    if let r = try? await edge.raw("/healthz", timeout: 2), r.status == 200 { break }
                    try? await Task.sleep(for: .milliseconds(250))
                }
            }
            if Task.isCancelled { return }
            print("Cairn \(network) network of \(nodes) node(s) is up")
            for (node, _) in plan {
                print("  node\(node.index): edge \(node.edge)  peer \(node.peer)  data \(node.dir.path)\(node.index < miners ? "  (mining)" : "")")
            }
            print("  logs: \(root.appendingPathComponent("logs").path) (each node's services: DATA/node<i>/logs)")
            print("Stop with Ctrl-C.")
            fflush(nil)
        }
        let signal = await signals.next()
        announce.cancel()
        Output.note("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"): stopping \(nodes) node(s)")
        await supervisor.stopAll()
        Output.note("stopped")
        withExtendedLifetime(lock) {}
    }
}
