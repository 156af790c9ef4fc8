import AsyncHTTPClient
import Bus
import ChainCore
import Foundation
import NIOCore
import NodeKit
import Synchronization
import Testing
import TestSupport

/// A whole node started the way a user starts it: `cairn up` on a fresh data
/// folder, with its own ports. Stopped (SIGTERM, then SIGKILL) when the test ends.
final class Stack: @unchecked Sendable {
    let dir: URL
    let offset: Int
    let process: Process
    let miner: TestWallet
    var edge: String { "http://127.0.0.1:\(Endpoints.defaultHTTPPort + offset)" }
    var endpoints: Endpoints { Endpoints.loopback(portOffset: offset) }
    var zmqPub: String { "tcp://127.0.0.1:\(28339 + offset)" }

    /// Offsets 100–990: the CLI tests use 1000–4990 and the benchmark 5000 and up, so parallel suites never share a port.
    static let nextOffset = Atomic<Int>(Int.random(in: 10..<60) * 10)

    /// The build folder: executables sit beside the test bundle.
    static var binaries: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent()
    }

    init(miner: TestWallet = TestWallet(), minerAddress: String? = nil, extra: [String] = [], blockInterval: Double = 0.3) async throws {
        offset = Self.nextOffset.wrappingAdd(10, ordering: .relaxed).oldValue
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-node-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        self.miner = miner
        process = Process()
        process.executableURL = Self.binaries.appendingPathComponent("cairn")
        // `--no-miner` in `extra`: no miner address (cairn up refuses both).
        let paying = extra.contains("--no-miner") ? [] : ["--miner-address", minerAddress ?? miner.address().string]
        process.arguments = ["up", "--data", dir.path, "--port-offset", "\(offset)"] + paying
            + ["--miner-threads", "1", "--block-interval", "\(blockInterval)", "--zmq-pub", zmqPub] + extra
        let log = FileHandle(forWritingAtPath: dir.appendingPathComponent("up.log").path) ?? {
            _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("up.log").path, contents: nil)
            return FileHandle(forWritingAtPath: dir.appendingPathComponent("up.log").path)!
        }()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try await waitUntil("the stack answers /healthz", timeout: 90) { try await self.healthy() }
    }

    func healthy() async throws -> Bool {
        guard let (status, body) = try? await get("/healthz") else { return false }
        return status == 200 && (body["status"] as? String) == "ok"
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(15)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        // Whatever the supervisor left (it must leave nothing) is killed so tests never leak processes.
        for name in ["cairn-chainstore", "cairn-mempool", "cairn-edge", "cairn-miner"] {
            for pid in pids(of: name) { kill(pid, SIGKILL) }
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Pids of a service of this stack (matched by its data folder).
    func pids(of service: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var out = [Int32]()
        for e in entries {
            guard let pid = Int32(e), let cmd = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(e)/cmdline")) else { continue }
            let args = cmd.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if let first = args.first, first.hasSuffix("/" + service) || first == service, args.contains(dir.path) { out.append(pid) }
        }
        return out
    }

    var log: String {
        var all = (try? String(contentsOf: dir.appendingPathComponent("up.log"), encoding: .utf8)) ?? ""
        for s in ["chainstore", "mempool", "edge", "miner"] {
            if let l = try? String(contentsOf: dir.appendingPathComponent("logs/\(s).log"), encoding: .utf8) {
                all += "\n--- \(s) (last lines)\n" + l.split(separator: "\n").suffix(15).joined(separator: "\n")
            }
        }
        return all
    }

    // MARK: HTTP

    /// (status, body, headers with lower-cased names)
    func request(_ path: String, method: String = "GET", body: String? = nil, headers: [(String, String)] = []) async throws -> (Int, String, [String: String]) {
        var req = HTTPClientRequest(url: edge + path)
        req.method = method == "POST" ? .POST : method == "OPTIONS" ? .OPTIONS : .GET
        for (k, v) in headers { req.headers.add(name: k, value: v) }
        if let body { req.body = .bytes(ByteBuffer(string: body)) }
        let resp = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
        let bytes = try await resp.body.collect(upTo: 16 << 20)
        var headers = [String: String]()
        for (name, value) in resp.headers { headers[name.lowercased()] = value }
        return (Int(resp.status.code), String(buffer: bytes), headers)
    }

    func get(_ path: String) async throws -> (Int, [String: Any]) {
        let (status, text, _) = try await request(path)
        return (status, (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:])
    }

    func getArray(_ path: String) async throws -> [[String: Any]] {
        let (_, text, _) = try await request(path)
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    func height() async throws -> Int {
        let (_, text, _) = try await request("/api/blocks/tip/height")
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// POSTs a transaction; the txid when the node acknowledged it.
    func submit(_ tx: Transaction) async throws -> (Int, String) {
        let (status, text, _) = try await request("/api/tx", method: "POST", body: Hex.encode(tx.encoded))
        return (status, text)
    }

    /// Confirmed, spendable outputs of `wallet` (mature coinbases only).
    func spendable(_ wallet: TestWallet, tip: Int) async throws -> [(OutPoint, TxOutput)] {
        let utxos = try await getArray("/api/address/\(wallet.address().string)/utxo")
        var out = [(OutPoint, TxOutput)]()
        for u in utxos {
            guard let txid = (u["txid"] as? String).flatMap(Hash256.init(hex:)), let vout = u["vout"] as? Int,
                  let value = u["value"] as? Int, let status = u["status"] as? [String: Any],
                  status["confirmed"] as? Bool == true, let h = status["block_height"] as? Int,
                  tip - h >= ChainParams.regtest.coinbaseMaturity else { continue }
            out.append((OutPoint(txid: txid, index: UInt32(vout)), wallet.output(Amount(value))))
        }
        return out
    }

    // MARK: CLI

    /// Runs `cairn ARGS` to completion; returns exit status and output.
    func cairn(_ args: [String], env: [String: String] = [:]) async throws -> (Int32, String) {
        try await Self.run(Self.binaries.appendingPathComponent("cairn"), args, env: env)
    }

    static func run(_ exe: URL, _ args: [String], env: [String: String] = [:]) async throws -> (Int32, String) {
        try await runProgram(exe, args, env: env)
    }
}

