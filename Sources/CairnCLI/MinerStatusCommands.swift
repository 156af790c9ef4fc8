import ArgumentParser
import ChainCore
import Foundation
import NodeKit

/// `cairn miner`: attaches one more miner to a running node.
struct MinerAttach: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miner",
        abstract: "Attach one more miner to a running node (runs cairn-miner in this process).")

    @Option(help: "Address the coinbase pays.")
    var address: String

    @Option(help: "Hashing threads (default: all cores).")
    var threads: Int?

    @Option(name: .customLong("block-interval"), help: "Seconds to wait after each found block.")
    var blockInterval: Double?

    @Option(help: "Edge URL to read the bus endpoints from (GET /api/node), e.g. http://127.0.0.1:8340.")
    var edge: String?

    @Option(name: .customLong("chain-rpc")) var chainRPC: String?
    @Option(name: .customLong("chain-pub")) var chainPub: String?
    @Option(name: .customLong("mempool-rpc")) var mempoolRPC: String?
    @Option(name: .customLong("mempool-pub")) var mempoolPub: String?

    @Option(help: "Network (default: the edge's, else regtest).")
    var network: String?

    @Option(help: "The data folder of the node to mine for: the miner refuses a bus that belongs to another node (its DATA/node-id).")
    var data: String?

    @Option(name: .customLong("node-id"), help: "The id of the node to mine for (default: DATA/node-id with --data, else the edge's).")
    var nodeID: String?

    func run() async throws {
        var endpoints = Endpoints.fromEnvironment()
        var net = network
        // The node this miner is for: the bus must answer its id (cairn-miner checks it before mining).
        var expected = nodeID
        if let data, expected == nil {
            let dir = URL(fileURLWithPath: data, isDirectory: true)
            guard let id = NodeIdentity.read(directory: dir) else {
                throw CLIError("--data \(data): no node id there (\(NodeIdentity.fileName)); is it a node's data folder?")
            }
            expected = id
        }
        if let id = expected, !NodeIdentity.isValid(id) { throw CLIError("--node-id: expected 32 hex digits") }
        let explicit = [chainRPC, chainPub, mempoolRPC, mempoolPub].contains { $0 != nil }
        if edge != nil || !explicit {
            let client = EdgeClient(edge)
            do {
                let node = try await client.get("/api/node", as: NodeReply.self)
                endpoints = Endpoints(chainRPC: node.endpoints.chainRPC, chainPub: node.endpoints.chainPub,
                                      mempoolRPC: node.endpoints.mempoolRPC, mempoolPub: node.endpoints.mempoolPub)
                if let n = net, n != node.network {
                    throw CLIError("--network \(n), but the edge at \(client.base) runs \(node.network)")
                }
                net = node.network
                if expected == nil, let r = try? await client.raw("/healthz", timeout: 2),
                   let id = (try? JSONDecoder().decode(JSONValue.self, from: r.body))?["node_id"]?.string {
                    expected = id
                }
            } catch let e as EdgeClient.Failure {
                if edge != nil { Output.error("\(e)"); throw ExitCode.failure }
                // No --edge and none reachable at the default: use the flags, environment or loopback defaults.
            }
        }
        if let v = chainRPC { endpoints.chainRPC = v }
        if let v = chainPub { endpoints.chainPub = v }
        if let v = mempoolRPC { endpoints.mempoolRPC = v }
        if let v = mempoolPub { endpoints.mempoolPub = v }
        let netName = net ?? ProcessInfo.processInfo.environment[Endpoints.Env.network] ?? "regtest"
        guard let params = ChainParams.named(netName) else { throw CLIError("unknown network '\(netName)'") }
        do { _ = try Address(address, network: params.network) } catch {
            throw CLIError("--address: \(error.description)")
        }
        let binaries = try Binaries.locate(needing: ["cairn-miner"])
        var args = ["cairn-miner", "--network", netName,
                    "--chain-rpc", endpoints.chainRPC, "--chain-pub", endpoints.chainPub,
                    "--mempool-rpc", endpoints.mempoolRPC, "--mempool-pub", endpoints.mempoolPub,
                    "--address", address]
        if let threads { args += ["--threads", String(threads)] }
        if let blockInterval { args += ["--block-interval", String(blockInterval)] }
        if let expected { args += ["--node-id", expected] }
        print("attaching a miner to \(endpoints.mempoolRPC) / \(endpoints.chainRPC), paying \(address)\(expected.map { " (node \($0))" } ?? "")")
        fflush(nil)
        // Replace this process: signals and the exit code are the miner's own.
        let path = binaries.path("cairn-miner")
        let cArgs = args.map { strdup($0) } + [nil]
        execv(path, cArgs)
        Output.error("cannot run \(path): \(String(cString: strerror(errno)))")
        throw ExitCode.failure
    }
}

/// `cairn status`: health, tip, mempool and miners of a running node.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the node's services, tip, mempool and miners.")

    @Option(help: "Edge URL (env CAIRN_EDGE; default http://127.0.0.1:8340).")
    var edge: String?

    func run() async throws {
        let client = EdgeClient(edge)
        let health: JSONValue
        do {
            let (status, body) = try await client.raw("/healthz", timeout: 5)
            guard let h = try? JSONDecoder().decode(JSONValue.self, from: body) else {
                Output.error("\(client.base)/healthz answered HTTP \(status) without JSON")
                throw ExitCode.failure
            }
            health = h
        } catch let e as EdgeClient.Failure {
            Output.error("\(e)")
            throw ExitCode.failure
        }
        let chain = try? await client.get("/api/chain", as: ChainReply.self)
        let miners = (try? await client.get("/api/miners", as: [MinerReply].self)) ?? []
        let sync = try? await client.get("/api/sync", as: JSONValue.self)
        let peers = try? await client.get("/api/peers", as: JSONValue.self)
        print(Self.render(edge: client.base, health: health, chain: chain, miners: miners, sync: sync, peers: peers))
        if health["status"]?.string.map({ $0 != "ok" }) ?? false { throw ExitCode(1) }
    }

    static func render(edge: String, health: JSONValue, chain: ChainReply?, miners: [MinerReply],
                       sync: JSONValue? = nil, peers: JSONValue? = nil) -> String {
        var lines = ["node at \(edge): \(health["status"]?.text ?? "?")"]
        if let chain {
            lines.append("network \(chain.network), height \(chain.height), tip \(chain.tip)")
            lines.append("difficulty \(chain.difficulty), supply \(Units.format(chain.supply)) CRN, mempool \(chain.mempoolSize) tx")
        }
        lines.append("services:")
        let services = health["services"]?.object ?? [:]
        for name in services.keys.sorted() {
            let s = services[name]!
            let ok = s["ok"]?.bool ?? (s.bool ?? false)
            var detail: [String] = []
            if let h = s["tip_height"]?.int { detail.append("tip \(h)") }
            for (k, v) in (s.object ?? [:]).sorted(by: { $0.key < $1.key }) where k != "ok" && k != "tip_height" {
                detail.append("\(k) \(v.text)")
            }
            lines.append("  \(name.padding(toLength: 11, withPad: " ", startingAt: 0)) \(ok ? "ok  " : "DOWN") \(detail.joined(separator: ", "))")
        }
        if let sync, let h = sync["height"]?.int, let best = sync["best_peer_height"]?.int {
            let pct = String(format: "%.1f%%", (sync["progress"]?.number ?? 0) * 100)
            lines.append("sync: \(sync["state"]?.text ?? "?"), height \(h) of \(best) (\(pct)), \(sync["blocks_queued"]?.int ?? 0) queued, \(sync["blocks_in_flight"]?.int ?? 0) in flight")
        } else {
            lines.append("sync: peer bridge not answering")
        }
        if let list = peers?["peers"]?.array {
            let up = list.filter { $0["handshaken"]?.bool == true }
            lines.append("peers: \(up.count) connected\(peers?["listen"].map { ", listening on \($0.text)" } ?? "")\((peers?["banned"]?.array?.count ?? 0) > 0 ? ", \(peers?["banned"]?.array?.count ?? 0) banned" : "")")
            for p in up {
                lines.append("  \(p["address"]?.text ?? "?")  \(p["direction"]?.text ?? ""), height \(p["best_height"]?.text ?? "?"), score \(p["score"]?.text ?? "0")")
            }
        }
        lines.append("miners: \(miners.count)")
        for m in miners {
            lines.append("  \(m.id)  \(Self.hashRate(m.hashrate)), \(m.threads) threads\(m.address.isEmpty ? "" : ", pays \(m.address)")")
        }
        return lines.joined(separator: "\n")
    }

    /// A hash rate in the unit that suits it: "3.0 H/s" for a regtest miner, "9.87 MH/s" for a real one.
    static func hashRate(_ perSecond: Double) -> String {
        let units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s"]
        var v = max(0, perSecond.isFinite ? perSecond : 0)
        var i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        return String(format: v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v) + " " + units[i]
    }
}
