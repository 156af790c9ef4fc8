import AsyncHTTPClient
import ChainCore
import Foundation
import NIOCore
import NodeKit

/// The one `cairn up` harness (NodeTests' Stack and NetworkTests' Node build on it): a whole node
/// started the way a user starts it, on a fresh data folder and an offset of the suite's port range
/// (Tests/ports.json). Stopped with SIGTERM (then SIGKILL) when the test lets go of it, without
/// blocking a thread; the folder is removed once it has exited (kept with CAIRN_KEEP_TEST_DATA).
open class TestNode: @unchecked Sendable {
    public let name: String
    public let dir: URL
    public let offset: Int
    /// nil: a handle on a node some other process started (e.g. `cairn net up`): never stopped here.
    public let runner: ProcessRunner?
    public var edge: String { "http://127.0.0.1:\(Endpoints.defaultHTTPPort + offset)" }
    public var endpoints: Endpoints { Endpoints.loopback(portOffset: offset) }
    public var peerEndpoints: PeerEndpoints { PeerEndpoints.loopback(portOffset: offset) }
    public var upLog: URL { dir.appendingPathComponent("up.log") }

    /// Every service `cairn up` may start: whatever of them outlives the supervisor is killed.
    public static let services = ["cairn-chainstore", "cairn-mempool", "cairn-edge", "cairn-miner", "cairn-peerbridge",
                                  "cairn-walletfront", "cairn-accounts"]

    /// Runs `cairn up --data DIR --port-offset OFFSET ARGS` (OFFSET from the suite's range:
    /// `Ports.offset(…)`) and waits until `ready` holds (`what` names it); on a timeout the error
    /// carries cairn up's own output.
    public init(name: String, offset: Int, folderPrefix: String, arguments: [String], what: String, timeout: Double,
                ready: @escaping @Sendable (TestNode) async throws -> Bool) async throws {
        self.name = name
        self.offset = offset
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(folderPrefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let log = dir.appendingPathComponent("up.log").path
        runner = try await ProcessRunner(Build.path("cairn"), ["up", "--data", dir.path, "--port-offset", "\(offset)"] + arguments,
                                   stdout: log, stderr: log)
        let started = runner
        do {
            // Another node may answer on these ports (cairn up then exits: its ports are taken), so
            // the node is ready only once cairn up says its own edge answers ("… node is up": it
            // checks the edge's node id) and `ready` holds.
            var exited: Int32?
            try await waitUntil(what, timeout: timeout) {
                if let status = started?.exitStatus { exited = status; return true }
                guard (try? String(contentsOfFile: log, encoding: .utf8))?.contains(" node is up\n") == true else { return false }
                return try await ready(self)
            }
            if let exited {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw CairnUpExited(status: exited, what: what, said: "offset \(offset); cairn up said: \(text.suffix(3000))")
            }
        } catch let error as CairnUpExited {
            throw error
        } catch {
            // Say why: cairn up's own output (a port in use, a service that would not start).
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw TimedOut(what: "\(what) (offset \(offset); cairn up said: \(text.suffix(3000)))")
        }
    }

    /// `cairn up` ended before the node was ready.
    public struct CairnUpExited: Error, CustomStringConvertible {
        public let status: Int32
        public let what: String
        public let said: String
        public var description: String { "cairn up exited with status \(status) before \(what) (\(said))" }
    }

    /// A handle on a node another process started.
    public init(attaching name: String, offset: Int, dir: URL) {
        self.name = name
        self.offset = offset
        self.dir = dir
        runner = nil
    }

    /// Starts stopping (SIGTERM now; SIGKILL after the grace period, then stray services killed and
    /// the folder removed, in a task): for a `defer` or a `deinit`, which cannot await.
    public func stop() {
        guard let runner else { return }
        let cleanup = cleanupAfterExit
        runner.stopInBackground(gracePeriod: 20, then: cleanup)
    }

    /// Stops and waits until the node and every service it started have exited (the folder stays
    /// for the test to look at; it goes with the handle).
    public func stopped() async {
        guard let runner else { return }
        await runner.terminate(gracePeriod: 20)
        Self.killStrays(dir)
    }

    private var cleanupAfterExit: @Sendable () -> Void {
        let dir = dir
        return {
            Self.killStrays(dir)
            if ProcessInfo.processInfo.environment["CAIRN_KEEP_TEST_DATA"] == nil { try? FileManager.default.removeItem(at: dir) }
        }
    }

    /// Whatever the supervisor left (it must leave nothing) is killed so tests never leak processes.
    private static func killStrays(_ dir: URL) {
        for name in services {
            for pid in Procs.pids(of: name, withArgument: dir.path) { kill(pid, SIGKILL) }
        }
    }

    deinit { stop() }

    /// Pids of a service of this node (matched by its data folder).
    public func pids(of service: String) -> [Int32] { Procs.pids(of: service, withArgument: dir.path) }

    /// The last lines of the given services' logs.
    public func logTails(_ services: [String], lines: Int, skipIndented: Bool = false) -> String {
        var all = ""
        for s in services {
            if let l = try? String(contentsOf: dir.appendingPathComponent("logs/\(s).log"), encoding: .utf8) {
                all += "\n--- \(s) (last lines)\n" + l.split(separator: "\n").filter { !skipIndented || !$0.hasPrefix(" ") }
                    .suffix(lines).joined(separator: "\n")
            }
        }
        return all
    }

    // MARK: HTTP

    /// (status, body, headers with lower-cased names)
    public func fetch(_ path: String, method: String = "GET", body: String? = nil, headers: [(String, String)] = []) async throws
        -> (Int, String, [String: String]) {
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

    /// (status, body): `fetch` without the headers.
    public func request(_ path: String, method: String = "GET", body: String? = nil) async throws -> (Int, String) {
        let (status, text, _) = try await fetch(path, method: method, body: body)
        return (status, text)
    }

    /// POSTs a transaction to `/api/tx`: the status, and the body (the txid when the node acknowledged it).
    public func submit(_ tx: Transaction) async throws -> (Int, String) {
        try await request("/api/tx", method: "POST", body: Hex.encode(tx.encoded))
    }

    public func get(_ path: String) async throws -> (Int, [String: Any]) {
        let (status, text, _) = try await fetch(path)
        return (status, (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:])
    }

    public func getArray(_ path: String) async throws -> [[String: Any]] {
        let (_, text, _) = try await fetch(path)
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    public func height() async throws -> Int {
        let (_, text, _) = try await fetch("/api/blocks/tip/height")
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Confirmed outputs paying `wallet` at least `depth` blocks below `tip` (coinbases are
    /// spendable at depth `coinbaseMaturity`), in the order the edge lists them.
    public func confirmedOutputs(of wallet: TestWallet, tip: Int, depth: Int) async throws -> [(OutPoint, TxOutput)] {
        let utxos = try await getArray("/api/address/\(wallet.address().string)/utxo")
        var out = [(OutPoint, TxOutput)]()
        for u in utxos {
            guard let txid = (u["txid"] as? String).flatMap(Hash256.init(hex:)), let vout = u["vout"] as? Int,
                  let value = u["value"] as? Int, let status = u["status"] as? [String: Any],
                  status["confirmed"] as? Bool == true, let h = status["block_height"] as? Int,
                  tip - h >= depth else { continue }
            out.append((OutPoint(txid: txid, index: UInt32(vout)), wallet.output(Amount(value))))
        }
        return out
    }

    public func healthy() async throws -> Bool {
        guard let (status, body) = try? await get("/healthz") else { return false }
        return status == 200 && (body["status"] as? String) == "ok"
    }
}
