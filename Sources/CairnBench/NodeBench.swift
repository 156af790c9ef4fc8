import AsyncHTTPClient
import ChainCore
import Crypto
import Foundation
import NIOCore
import NodeKit
import Synchronization

/// End-to-end figures on a real node started with `cairn up` (from the same
/// build folder) on a temporary data folder and its own ports (`BenchNode`): the payment flood
/// (FloodBench), the edge's wrk figures (here), how cost grows with work (GrowthBench).
enum NodeBench {
    static let params = ChainParams.regtest

    /// Which node figures to run, and their sizes.
    struct Parts {
        var flood = true
        var edge = true
        var growth = true
        /// CAIRN_BENCH_TX_ONLY=1: the POST /api/tx figure alone.
        var txOnly = false
        var poolSizes = [1_000, 10_000, 50_000, 100_000]
        var utxoSizes = [10_000, 100_000, 1_000_000]
        /// Seconds spent building the UTXO set at most (the figures stop at the size reached).
        var utxoBudget = 420.0
        /// Seconds spent filling the mempool at most (acceptance slows as it grows).
        var poolBudget = 300.0
        var out = URL(fileURLWithPath: "bench-out")
    }

    /// One node (`BenchNode`) for all of them: the flood with the node's miner running, the edge's wrk
    /// figures, then the growth figures with the miner held back and blocks of the bench's own.
    static func run(_ table: inout Table, verifyRate: Double, txSeconds: Double, parts: Parts) async throws {
        let node = try await BenchNode.start()
        do {
            try await figures(&table, node: node, verifyRate: verifyRate, txSeconds: txSeconds, parts: parts)
        } catch {
            await node.stop()
            throw error
        }
        await node.stop()
    }

    static func figures(_ table: inout Table, node: BenchNode, verifyRate: Double, txSeconds: Double, parts: Parts) async throws {
        try await waitFor("the node's first blocks") { await node.height() >= 3 }
        if !parts.flood && !parts.growth {
            try await edgeFigures(&table, edge: node.edge, dir: node.dir, height: node.height)
            return
        }
        // The node's miner waits (an hour's minimum interval) while the bench mines its own coinbases.
        try await node.setMinerInterval(3_600)
        try await Task.sleep(for: .milliseconds(1_500))
        var wallet = CoinbaseWallet()
        for _ in 0..<(params.coinbaseMaturity + 4) { try await wallet.mine(node, []) }
        var coinPoints = [GrowthBench.CoinPoint]()
        let firstUTXO = parts.utxoSizes.sorted().prefix(1)
        if parts.growth && !parts.txOnly {
            // The smallest UTXO set first, before the flood's coins make it bigger.
            print("growth: the UTXO set at \(firstUTXO.first.map(String.init) ?? "-") coins…")
            coinPoints += try await GrowthBench.coins(&table, node: node, wallet: &wallet, verifyRate: verifyRate,
                                                      sizes: Array(firstUTXO), budget: parts.utxoBudget, headline: true)
        }
        if parts.flood {
            print("the payment flood (\(Int(txSeconds)) s of POST /api/tx, then /rpc batches, then a paced load)…")
            try await FloodBench.run(&table, node: node, wallet: &wallet, verifyRate: verifyRate, seconds: txSeconds, txOnly: parts.txOnly)
            if parts.txOnly { return }
            // The node's miner empties the mempool, then waits again.
            try? await waitFor("the mempool to empty", timeout: 180) { ((try? await node.mempoolInfo().count) ?? 0) < 200 }
            if parts.edge { try await edgeFigures(&table, edge: node.edge, dir: node.dir, height: node.height) }
            try await node.setMinerInterval(3_600)
            try await Task.sleep(for: .milliseconds(1_500))
        }
        if parts.growth {
            print("growth: the mempool at \(parts.poolSizes.map(String.init).joined(separator: ", ")) transactions…")
            let pool = try await GrowthBench.mempool(&table, node: node, wallet: &wallet, sizes: parts.poolSizes, budget: parts.poolBudget)
            print("growth: the UTXO set at \(parts.utxoSizes.dropFirst().map(String.init).joined(separator: ", ")) coins…")
            coinPoints += try await GrowthBench.coins(&table, node: node, wallet: &wallet, verifyRate: verifyRate,
                                                      sizes: Array(parts.utxoSizes.sorted().dropFirst()), budget: parts.utxoBudget, headline: false)
            GrowthBench.report(pool: pool, coins: coinPoints, verifyRate: verifyRate, out: parts.out)
        }
    }

    /// wrk against the node's edge: the tip route, /rpc, a keyed route, a batch, each against the trivial route.
    static func edgeFigures(_ table: inout Table, edge: String, dir: URL, height: () async -> Int) async throws {
        let clock = ContinuousClock()

        // CAIRN_BENCH_TX_ONLY=1: the transaction stream only (to compare admission rates quickly).
        if ProcessInfo.processInfo.environment["CAIRN_BENCH_TX_ONLY"] == "1" { return }
        // wrk: the tip route against a route that asks no service.
        if let wrk = which("wrk") {
            let tip = wrkRate(wrk, edge + "/api/blocks/tip/height")
            let trivial = wrkRate(wrk, edge + "/api/ping")
            if let tip, let trivial {
                table.row("GET /api/blocks/tip/height (requests/s, wrk)", tip, trivial, note: "GET /api/ping")
            }
            // JSON-RPC: one call per request, against the same trivial route.
            let rpc = wrkRate(wrk, edge + "/rpc", postJSON: #"{"jsonrpc":"2.0","id":1,"method":"getblockcount","params":[]}"#)
            if let rpc, let trivial {
                table.row("POST /rpc getblockcount (requests/s, wrk)", rpc, trivial, note: "GET /api/ping")
            }
            // An API key in the path (hosted access): the key's lookup is cached and its tokens leased, so
            // the edge asks the accounts service about once per lease (a tenth of the key's rate), not per request.
            if let trivial, let key = try? await createKey(edge: edge, data: dir) {
                if let keyed = wrkRate(wrk, edge + "/v1/\(key)/api/blocks/tip/height") {
                    table.row("GET /v1/<key>/api/blocks/tip/height (requests/s, wrk)", keyed, trivial, note: "GET /api/ping")
                }
            }
            // A batch of 1,000 getblockhash in one request, against single calls.
            let tipHeight = await height()
            let batch = "[" + (0..<1_000).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"getblockhash","params":[\#($0 % (tipHeight + 1))]}"# }
                .joined(separator: ",") + "]"
            var request = HTTPClientRequest(url: edge + "/rpc")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: batch))
            let batchStart = clock.now
            for _ in 0..<5 {
                let r = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                _ = try await r.body.collect(upTo: 16 << 20)
            }
            let calls = 5_000 / (clock.now - batchStart).seconds
            table.row("POST /rpc batch of 1,000 getblockhash (calls/s)", calls, rpc, note: "single getblockcount requests/s")
        } else {
            print("  wrk is not installed: `apt-get install wrk` for the HTTP figures")
        }
    }

    /// The coins waiting to be spent and the counts, shared by the sending tasks.
    final class Stream: Sendable {
        let queue: Mutex<ArraySlice<(OutPoint, TxOutput, Int)>>
        let accepted = Atomic<Int>(0)
        let refused = Atomic<Int>(0)
        init(_ coins: [(OutPoint, TxOutput, Int)]) { queue = Mutex(coins[...]) }

        /// `senders` concurrent clients, each taking a coin, spending it to the node's key through
        /// `POST /api/tx` (fee `fee`) and, when accepted, queueing the new output for the next spend
        /// until a chain is `chainDepth` long; while `going()` holds and coins are left. A refused
        /// spend ends its chain.
        func send(node: BenchNode, senders: Int = 48, fee: Amount, chainDepth: Int, while going: @escaping @Sendable () -> Bool) async {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<senders {
                    group.addTask {
                        while going() {
                            guard let (op, out, depth) = self.queue.withLock({ $0.popFirst() }) else { return }
                            let tx = node.spend(op, out, to: [TxOutput(value: out.value - fee, publicKey: node.pub)])
                            if await node.postTx(tx) {
                                self.accepted.add(1, ordering: .relaxed)
                                if depth < chainDepth {
                                    self.queue.withLock { $0.append((OutPoint(txid: tx.txid, index: 0), tx.outputs[0], depth + 1)) }
                                }
                            } else {
                                self.refused.add(1, ordering: .relaxed)
                            }
                        }
                    }
                }
            }
        }
    }

    static func waitFor(_ what: String, timeout: Double = 180, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw BenchError(message: "timed out waiting for \(what)")
    }

    struct BenchError: Error, CustomStringConvertible { let message: String; var description: String { message } }

    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// A key with a per-second limit far above what wrk reaches (the limit is enforced, never hit),
    /// created through the operator route with the node's cookie.
    static func createKey(edge: String, data: URL) async throws -> String {
        let cookie = try String(contentsOf: data.appendingPathComponent(".cookie"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var request = HTTPClientRequest(url: edge + "/api/operator/keys")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic " + Data(cookie.utf8).base64EncodedString())
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"name":"bench","rps":1000000}"#))
        let r = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await r.body.collect(upTo: 1 << 20)
        return try JSONDecoder().decode(CreatedKey.self, from: Data(String(buffer: body).utf8)).key
    }

    /// Requests per second from a 10-second wrk run with 2 threads and 32 connections (a POST of
    /// `postJSON` when given, through a wrk Lua script).
    static func wrkRate(_ wrk: String, _ url: String, postJSON: String? = nil) -> Double? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: wrk)
        p.arguments = ["-t2", "-c32", "-d10s", url]
        var script: URL?
        if let postJSON {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-wrk-\(UUID().uuidString).lua")
            let lua = "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [[\(postJSON)]]\n"
            guard (try? lua.write(to: file, atomically: true, encoding: .utf8)) != nil else { return nil }
            script = file
            p.arguments = ["-t2", "-c32", "-d10s", "-s", file.path, url]
        }
        defer { if let script { try? FileManager.default.removeItem(at: script) } }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }) else { return nil }
        return Double(line.split(separator: " ").last.map(String.init) ?? "")
    }
}
