import AsyncHTTPClient
import Bus
import ChainCore
import Foundation
import NIOCore
import NodeKit
import Synchronization
import Testing
import TestSupport

/// One node started the way a user starts it (`cairn up` on a fresh data folder, its own
/// port offset), stopped with SIGTERM (then SIGKILL) when the test lets go of it.
final class Node: @unchecked Sendable {
    let name: String
    let dir: URL
    let offset: Int
    let process: Process
    /// Whether this handle started (and so stops and removes) the node.
    private var owned = true
    var edge: String { "http://127.0.0.1:\(Endpoints.defaultHTTPPort + offset)" }
    var peerURL: String { "ws://127.0.0.1:\(PeerEndpoints.defaultPorts.ws + offset)" }
    var endpoints: Endpoints { Endpoints.loopback(portOffset: offset) }
    var peerEndpoints: PeerEndpoints { PeerEndpoints.loopback(portOffset: offset) }

    /// Offsets 6000–8990, step 10 (the other suites use other ranges); each test process starts at a random slot.
    static let nextOffset = Atomic<Int>(6000 + Int.random(in: 0..<100) * 10)

    static func allocateOffset() -> Int {
        let raw = nextOffset.wrappingAdd(10, ordering: .relaxed).oldValue
        return 6000 + (raw - 6000) % 3000
    }

    static var binaries: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent()
    }

    /// `miner`: the wallet the miner pays (nil: no miner).
    init(_ name: String, miner: TestWallet?, blockInterval: Double = 0.5, peers: [String] = [], extra: [String] = []) async throws {
        self.name = name
        offset = Self.allocateOffset()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-net-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = Self.binaries.appendingPathComponent("cairn")
        var args = ["up", "--data", dir.path, "--port-offset", "\(offset)", "--no-wallet"]
        if let miner {
            args += ["--miner-address", miner.address().string, "--miner-threads", "1", "--block-interval", "\(blockInterval)"]
        } else {
            args += ["--no-miner"]
        }
        for p in peers { args += ["--peer", p] }
        process.arguments = args + extra
        let logPath = dir.appendingPathComponent("up.log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)!
        process.standardOutput = log
        process.standardError = log
        try process.run()
        do {
            try await waitUntil("\(name) answers /healthz and its peer bridge /api/sync", timeout: 120) {
                guard try await self.healthy() else { return false }
                return (try? await self.get("/api/sync"))?.0 == 200
            }
        } catch {
            // Say why: cairn up's own output (a port in use, a service that would not start).
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw TimedOut(what: "\(name) answers /healthz and its peer bridge /api/sync (offset \(offset); cairn up said: \(text.suffix(3000)))")
        }
    }

    /// A handle on a node some other process started (e.g. `cairn net up`): never stopped by the test.
    private init(name: String, offset: Int, dir: URL) {
        self.name = name
        self.offset = offset
        self.dir = dir
        process = Process()
        owned = false
    }

    static func attach(_ name: String, offset: Int, dir: URL) throws -> Node { Node(name: name, offset: offset, dir: dir) }

    func healthy() async throws -> Bool {
        guard let (status, body) = try? await get("/healthz") else { return false }
        return status == 200 && (body["status"] as? String) == "ok"
    }

    func stop() {
        guard owned else { return }
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(20)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        for name in ["cairn-chainstore", "cairn-mempool", "cairn-edge", "cairn-miner", "cairn-peerbridge", "cairn-walletfront"] {
            for pid in pids(of: name) { kill(pid, SIGKILL) }
        }
    }

    deinit {
        stop()
        if owned, ProcessInfo.processInfo.environment["CAIRN_KEEP_TEST_DATA"] == nil { try? FileManager.default.removeItem(at: dir) }
    }

    func pids(of service: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var out = [Int32]()
        for e in entries {
            guard let pid = Int32(e), let cmd = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(e)/cmdline")) else { continue }
            let args = cmd.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if let first = args.first, first.hasSuffix("/" + service), args.contains(dir.path) { out.append(pid) }
        }
        return out
    }

    /// The last lines of each service's log, for failure messages.
    var log: String {
        var all = "=== \(name) (offset \(offset))\n" + ((try? String(contentsOf: dir.appendingPathComponent("up.log"), encoding: .utf8)) ?? "")
        for s in ["chainstore", "mempool", "peerbridge", "miner"] {
            if let l = try? String(contentsOf: dir.appendingPathComponent("logs/\(s).log"), encoding: .utf8) {
                all += "\n--- \(s) (last lines)\n" + l.split(separator: "\n").filter { !$0.hasPrefix(" ") }.suffix(12).joined(separator: "\n")
            }
        }
        return all
    }

    // MARK: HTTP

    func request(_ path: String, method: String = "GET", body: String? = nil) async throws -> (Int, String) {
        var req = HTTPClientRequest(url: edge + path)
        req.method = method == "POST" ? .POST : .GET
        if let body { req.body = .bytes(ByteBuffer(string: body)) }
        let resp = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
        let bytes = try await resp.body.collect(upTo: 16 << 20)
        return (Int(resp.status.code), String(buffer: bytes))
    }

    func get(_ path: String) async throws -> (Int, [String: Any]) {
        let (status, text) = try await request(path)
        return (status, (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:])
    }

    func getArray(_ path: String) async throws -> [[String: Any]] {
        let (_, text) = try await request(path)
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    func height() async throws -> Int {
        let (_, text) = try await request("/api/blocks/tip/height")
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func tipHash() async throws -> String {
        try await request("/api/blocks/tip/hash").1.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func hash(at height: Int) async throws -> String? {
        let (status, text) = try await request("/api/block-height/\(height)")
        return status == 200 ? text.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    func submit(_ tx: Transaction) async throws -> (Int, String) {
        try await request("/api/tx", method: "POST", body: Hex.encode(tx.encoded))
    }

    /// Confirmed: the block height holding it on this node's best chain; nil when unconfirmed or unknown.
    func confirmedHeight(_ txid: Hash256) async throws -> Int? {
        let (status, body) = try await get("/api/tx/\(txid.hex)/status")
        guard status == 200, body["confirmed"] as? Bool == true else { return nil }
        return body["block_height"] as? Int
    }

    func inMempool(_ txid: Hash256) async throws -> Bool {
        let (_, text) = try await request("/api/mempool/txids")
        return text.contains(txid.hex)
    }

    /// Stages of the transaction's trace on this node ("mempool:accepted", "chainstore:connected", …).
    func traceStages(_ txid: Hash256) async throws -> [String] {
        let (_, body) = try await get("/api/tx/\(txid.hex)/trace")
        return ((body["events"] as? [[String: Any]]) ?? []).map { "\($0["service"] as? String ?? ""):\($0["stage"] as? String ?? "")" }
    }

    /// Mature coinbase outputs paying `wallet` on this node's best chain.
    func spendable(_ wallet: TestWallet) async throws -> [(OutPoint, TxOutput)] {
        let tip = try await height()
        let utxos = try await getArray("/api/address/\(wallet.address().string)/utxo")
        var out = [(OutPoint, TxOutput)]()
        for u in utxos {
            guard let txid = (u["txid"] as? String).flatMap(Hash256.init(hex:)), let vout = u["vout"] as? Int,
                  let value = u["value"] as? Int, let status = u["status"] as? [String: Any],
                  status["confirmed"] as? Bool == true, let h = status["block_height"] as? Int,
                  tip - h >= ChainParams.regtest.coinbaseMaturity + 1 else { continue }
            out.append((OutPoint(txid: txid, index: UInt32(vout)), wallet.output(Amount(value))))
        }
        return out.sorted { $0.0.txid.hex < $1.0.txid.hex }
    }

    // MARK: bus

    /// Calls a method on this node's chain store, mempool or peer bridge.
    func rpc<P: Encodable & Sendable, R: Codable & Sendable>(_ service: String, _ method: String, _ params: P, as: R.Type) async throws -> R {
        let endpoint = switch service {
        case "chain": endpoints.chainRPC
        case "mempool": endpoints.mempoolRPC
        default: peerEndpoints.rpc
        }
        let context = try ZMQContext()
        let client = try await RPCClient(context: context, endpoint: endpoint, timeout: .seconds(30), retries: 1)
        defer { Task { await client.stop(); await context.terminate() } }
        return try await client.call(method, params, as: R.self)
    }

    func peers() async throws -> PeerList { try await rpc("peer", "getpeers", Empty(), as: PeerList.self) }

    func handshakenPeers() async throws -> Int { try await peers().peers.filter(\.handshaken).count }

    func setNetworkActive(_ on: Bool) async throws {
        _ = try await rpc("peer", "setnetworkactive", NetworkActive(active: on), as: NetworkActive.self)
    }
}


/// Runs `body`; on failure prints the nodes' logs so a red test says why.
func withLogs(_ nodes: [Node], _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        for n in nodes { print(n.log) }
        throw error
    }
}
