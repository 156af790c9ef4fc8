import AsyncHTTPClient
import ChainCore
import Foundation
import NIOCore
import NodeKit
import Synchronization
import Testing
import TestSupport

/// A flag set while a round of the flood runs.
final class FloodRunning: Sendable {
    private let value = Atomic<Bool>(true)
    var raised: Bool { value.load(ordering: .relaxed) }
    func lower() { value.store(false, ordering: .relaxed) }
}

/// Backpressure through real processes (issue 11): a node started with `cairn up --submit-limit 8`
/// is flooded with many more concurrent valid transactions than that. The ones over the limit are
/// refused at once (503 `queue-full` with `Retry-After`; JSON-RPC -28), everything acknowledged is
/// in the mempool, the reads keep being answered during the flood, the edge's memory stays bounded,
/// and the refused transactions go in when retried. No timing is asserted (the machine is shared):
/// a round of the flood is repeated until it has shown a refusal and a read made while it ran.
@Suite(.serialized) struct Backpressure {
    static let limit = 8
    /// Transactions in one round of the flood, all sent at once (each on its own connection).
    static let perRound = 240
    static let rounds = 4

    /// What one submission came to.
    struct Answer: Sendable {
        var tx: Transaction
        var viaRPC: Bool
        var status: Int
        var retryAfter: String?
        /// `/api/tx`: the JSON error's code; `/rpc`: the JSON-RPC error's code as text and its `data.code`.
        var code: String?
        var rpcCode: Int?
        var message: String?
        var acknowledged: Bool { viaRPC ? (status == 200 && rpcCode == nil) : (200..<300).contains(status) }
        var queueFull: Bool { viaRPC ? rpcCode == -28 && code == "queue-full" : status == 503 && code == "queue-full" }
    }

    /// POSTs `tx` once, to `/api/tx` or as a JSON-RPC `sendrawtransaction`.
    static func submit(_ tx: Transaction, viaRPC: Bool, edge: String, http: HTTPClient) async -> Answer {
        var req = HTTPClientRequest(url: edge + (viaRPC ? "/rpc" : "/api/tx"))
        req.method = .POST
        let hex = Hex.encode(tx.encoded)
        if viaRPC {
            req.headers.add(name: "Content-Type", value: "application/json")
            req.body = .bytes(ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"sendrawtransaction","params":["\#(hex)"]}"#))
        } else {
            req.body = .bytes(ByteBuffer(string: hex))
        }
        var answer = Answer(tx: tx, viaRPC: viaRPC, status: 0)
        do {
            let resp = try await http.execute(req, timeout: .seconds(60))
            let text = String(buffer: try await resp.body.collect(upTo: 1 << 20))
            answer.status = Int(resp.status.code)
            answer.retryAfter = resp.headers.first(name: "retry-after")
            let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            let error = json?["error"] as? [String: Any]
            if viaRPC {
                answer.rpcCode = error?["code"] as? Int
                answer.code = (error?["data"] as? [String: Any])?["code"] as? String
            } else {
                answer.code = error?["code"] as? String
            }
            answer.message = error?["message"] as? String
        } catch {
            answer.code = "connection: \(error)"
        }
        return answer
    }

    /// Resident memory of a process, bytes (VmRSS of /proc/PID/status).
    static func residentBytes(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        let kb = line.split(separator: " ").compactMap { Int($0) }.first
        return kb.map { $0 * 1024 }
    }

    static func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

    @Test func aSubmitLimitThatIsNotAPositiveWholeNumberIsRefusedAtStart() async throws {
        for bad in ["0", "-3", "many", "2.5"] {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-limit-\(UUID().uuidString.prefix(8))")
            defer { try? FileManager.default.removeItem(at: dir) }
            let up = try await ProcessRunner.run(Build.path("cairn"), ["up", "--data", dir.path, "--port-offset", "\(Ports.offset("NodeTests"))",
                                                                      "--submit-limit=\(bad)"])
            #expect(up.status != 0, "cairn up --submit-limit \(bad) started")
            #expect(up.stderr.contains("--submit-limit must be a positive whole number"), "cairn up --submit-limit \(bad): \(up.stderr)")
            // Nothing was started.
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("logs").path))

            let edge = try await ProcessRunner.run(Build.path("cairn-edge"), ["--data", dir.path, "--submit-limit=\(bad)"])
            #expect(edge.status != 0, "cairn-edge --submit-limit \(bad) started")
            #expect(edge.stderr.contains("--submit-limit must be a positive whole number"), "cairn-edge --submit-limit \(bad): \(edge.stderr)")
        }
        let help = try await ProcessRunner.run(Build.path("cairn"), ["up", "--help"])
        #expect(help.stdout.contains("--submit-limit"), "cairn up --help: \(help.stdout)")
    }

    @Test func aFloodOverTheSubmitLimitIsRefusedWithRetryAfterWhileReadsAreServed() async throws {
        let phases = Phases("backpressure")
        let me = TestWallet()
        let stack = try await Stack(miner: me, extra: ["--no-miner", "--submit-limit", "\(Self.limit)"])
        defer { stack.stop() }
        // Mature coins from a miner attached for a while, then stopped: the flood's transactions stay
        // in the mempool, where they are checked.
        let miner = try await FeeBump.attachMiner(stack, paying: me)
        defer { miner.signal(SIGTERM) }
        try await waitUntil("coinbases mature", timeout: 240) {
            try await stack.height() >= ChainParams.regtest.coinbaseMaturity + Self.rounds + 2
        }
        try await FeeBump.stop(miner)
        let coins = try await stack.spendable(me, tip: try await stack.height())
        try #require(coins.count >= Self.rounds, "\(coins.count) mature coinbases\n\(stack.log)")
        phases.mark("\(coins.count) mature coinbases")

        // Each round's transactions: a fan-out of one coinbase (acknowledged first, alone), then one
        // spend of each of its outputs; every eighth goes through JSON-RPC sendrawtransaction.
        var roundsTxs = [[Transaction]]()
        for coin in coins.prefix(Self.rounds) {
            let fan = PaymentFlood.fanOut(coin, into: Self.perRound, wallet: me, fee: 50_000)
            let (status, body) = try await stack.submit(fan)
            try #require(status == 200, "the fan-out was refused: \(status) \(body)\n\(stack.log)")
            roundsTxs.append(PaymentFlood.coins(of: fan).map { me.spend([$0], to: [me.output($0.1.value - 1_000)]) })
        }

        let edgePID = try #require(stack.pids(of: "cairn-edge").first, "no cairn-edge process\n\(stack.log)")
        let before = try #require(Self.residentBytes(edgePID))
        let http = HTTPClient(eventLoopGroupProvider: .singleton,
                              configuration: .init(connectionPool: .init(idleTimeout: .seconds(60),
                                                                         concurrentHTTP1ConnectionsPerHostSoftLimit: Self.perRound + 16)))
        defer { Task { try? await http.shutdown() } }

        var answers = [Answer]()
        var readsDuringFlood = 0
        var readFailures = [String]()
        var peak = before
        for (round, txs) in roundsTxs.enumerated() {
            let flooding = FloodRunning()
            // Another client reads the tip and the mempool while the flood runs.
            let reader = Task { () -> (during: Int, failures: [String]) in
                var during = 0
                var failures = [String]()
                while flooding.raised {
                    for path in ["/api/blocks/tip/height", "/api/mempool"] {
                        let (status, text, _) = (try? await stack.fetch(path)) ?? (0, "no answer", [:])
                        if status != 200 { failures.append("\(path): \(status) \(text.prefix(200))") }
                        // Counted only when the flood was still running once the answer came.
                        if status == 200 && flooding.raised { during += 1 }
                    }
                }
                return (during, failures)
            }
            let edge = stack.edge
            let got = await withTaskGroup(of: Answer.self) { group in
                for (i, tx) in txs.enumerated() {
                    group.addTask { await Self.submit(tx, viaRPC: i % 8 == 7, edge: edge, http: http) }
                }
                var out = [Answer]()
                for await a in group {
                    out.append(a)
                    if out.count % 16 == 0, let rss = Self.residentBytes(edgePID) { peak = max(peak, rss) }
                }
                return out
            }
            flooding.lower()
            let reads = await reader.value
            answers += got
            readsDuringFlood += reads.during
            readFailures += reads.failures
            let refused = got.filter(\.queueFull)
            phases.mark("round \(round + 1): \(got.filter(\.acknowledged).count) acknowledged, \(refused.count) refused queue-full (\(refused.filter(\.viaRPC).count) of them JSON-RPC), \(reads.during) reads answered during the flood")
            if answers.contains(where: { $0.queueFull && !$0.viaRPC }) && answers.contains(where: { $0.queueFull && $0.viaRPC })
                && readsDuringFlood > 0 { break }
        }
        let after = try #require(Self.residentBytes(edgePID))
        print("backpressure: the edge's resident memory \(Self.mib(before)) before the flood, \(Self.mib(peak)) at most during it, \(Self.mib(after)) after")

        // Every answer is an acknowledgement or a queue-full refusal: nothing else (no 500, no dropped connection).
        let other = answers.filter { !$0.acknowledged && !$0.queueFull }
        #expect(other.isEmpty, "\(other.count) answers neither acknowledged nor queue-full, e.g. \(other.prefix(3).map { "\($0.status) \($0.rpcCode.map(String.init) ?? "") \($0.code ?? "") \($0.message ?? "")" })\n\(stack.log)")
        // Over the limit: 503 queue-full with Retry-After and a message, the JSON error shape.
        let refusedHTTP = answers.filter { $0.queueFull && !$0.viaRPC }
        #expect(!refusedHTTP.isEmpty, "no POST /api/tx of \(answers.filter { !$0.viaRPC }.count) concurrent ones was refused over a limit of \(Self.limit)")
        for a in refusedHTTP.prefix(50) {
            #expect(a.retryAfter.flatMap { Int($0) }.map { $0 > 0 } == true, "Retry-After: \(a.retryAfter ?? "none")")
            #expect(a.message?.isEmpty == false)
        }
        // JSON-RPC: -28 with data {code: queue-full}.
        let refusedRPC = answers.filter { $0.queueFull && $0.viaRPC }
        #expect(!refusedRPC.isEmpty, "no sendrawtransaction of \(answers.filter(\.viaRPC).count) concurrent ones got -28 over a limit of \(Self.limit)")
        #expect(answers.contains { $0.acknowledged }, "nothing was acknowledged")
        // Other clients kept being served.
        #expect(readsDuringFlood > 0, "no read was answered while the flood ran")
        #expect(readFailures.isEmpty, "reads during the flood: \(readFailures.prefix(5))")
        // Memory: a flood costs the edge a bounded amount (generous: a few hundred requests in the air).
        #expect(peak - before < 256 << 20 && after - before < 256 << 20,
                "the edge's resident memory grew from \(Self.mib(before)) to \(Self.mib(peak)) (after: \(Self.mib(after)))")

        // Everything acknowledged is in the mempool (no miner runs).
        let acknowledged = answers.filter(\.acknowledged).map(\.tx.txid.hex)
        let pool = { () async throws -> Set<String> in
            let (status, text, _) = try await stack.fetch("/api/mempool/txids")
            try #require(status == 200)
            return Set(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] ?? [])
        }
        let held = try await pool()
        let lost = acknowledged.filter { !held.contains($0) }
        #expect(lost.isEmpty, "\(lost.count) of \(acknowledged.count) acknowledged transactions not in the mempool, e.g. \(lost.prefix(3))")
        // The refused ones were never sent on.
        let refused = answers.filter(\.queueFull)
        let leaked = refused.filter { held.contains($0.tx.txid.hex) }
        #expect(leaked.isEmpty, "\(leaked.count) refused transactions are in the mempool")

        // After the flood, retrying the refused ones succeeds (fewer at a time than the limit).
        let retried = await withTaskGroup(of: [Answer].self) { group in
            let lanes = Self.limit / 2
            let edge = stack.edge
            for lane in 0..<lanes {
                group.addTask {
                    var out = [Answer]()
                    for a in stride(from: lane, to: refused.count, by: lanes).map({ refused[$0] }) {
                        out.append(await Self.submit(a.tx, viaRPC: a.viaRPC, edge: edge, http: http))
                    }
                    return out
                }
            }
            var all = [Answer]()
            for await part in group { all += part }
            return all
        }
        let stillRefused = retried.filter { !$0.acknowledged }
        #expect(stillRefused.isEmpty, "\(stillRefused.count) of \(refused.count) refused transactions refused again, e.g. \(stillRefused.prefix(3).map { "\($0.status) \($0.rpcCode.map(String.init) ?? "") \($0.code ?? "")" })")
        let heldAfter = try await pool()
        let missing = (acknowledged + retried.filter(\.acknowledged).map(\.tx.txid.hex)).filter { !heldAfter.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) acknowledged transactions not in the mempool after the retries")
        phases.mark("\(refused.count) refused transactions retried: \(retried.filter(\.acknowledged).count) acknowledged")
        try await stack.expectChecksPass()
    }
}
