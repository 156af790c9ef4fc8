import AsyncHTTPClient
import ChainCore
import Crypto
import Foundation
import NIOCore
import NodeKit
import Synchronization

/// End-to-end figures on a real node started with `cairn up` (from the same
/// build folder) on a temporary data folder and its own ports.
enum NodeBench {
    static let params = ChainParams.regtest

    /// `edgeOnly`: the wrk figures alone (no coins, no transaction stream).
    static func run(_ table: inout Table, verifyRate: Double, txSeconds: Double, edgeOnly: Bool = false) async throws {
        let bin = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = Curve25519.Signing.PrivateKey()
        let pub = Array(key.publicKey.rawRepresentation)
        let address = Address(publicKey: pub, network: .regtest).string
        let offset = 5_000 + Int.random(in: 0..<50) * 10
        let edge = "http://127.0.0.1:\(Endpoints.defaultHTTPPort + offset)"
        let up = Process()
        up.executableURL = bin.appendingPathComponent("cairn")
        up.arguments = ["up", "--data", dir.path, "--port-offset", "\(offset)", "--miner-address", address,
                        "--miner-threads", "1", "--block-interval", "0.5"]
        up.standardOutput = FileHandle.nullDevice
        up.standardError = FileHandle.nullDevice
        try up.run()
        defer {
            up.terminate()
            up.waitUntilExit()
        }
        let client = Client(edge: edge)
        let get = client.get
        func height() async -> Int { Int((try? await get("/api/blocks/tip/height")) ?? "") ?? -1 }

        if edgeOnly {
            try await waitFor("the node's first blocks") { await height() >= 3 }
        } else {
            try await transactions(&table, client: client, key: key, pub: pub, address: address, verifyRate: verifyRate, txSeconds: txSeconds)
        }
        try await edgeFigures(&table, edge: edge, dir: dir, height: height)
    }

    static func transactions(_ table: inout Table, client: Client, key: Curve25519.Signing.PrivateKey, pub: [UInt8], address: String,
                             verifyRate: Double, txSeconds: Double) async throws {
        let get = client.get, post = client.post
        func height() async -> Int { Int((try? await get("/api/blocks/tip/height")) ?? "") ?? -1 }
        // Coins: 12 mature coinbases, each fanned out to 500 outputs, confirmed.
        try await waitFor("coinbases to mature") { await height() >= params.coinbaseMaturity + 13 }
        let coinbases = try await confirmedCoins(get, address: address, pub: pub, minDepth: params.coinbaseMaturity)
        var fanouts = [Transaction]()
        for (op, out) in coinbases.prefix(12) {
            let parts = 500
            let each = (out.value - 100_000) / Amount(parts)
            var tx = Transaction(inputs: [TxInput(previousOutput: op, payload: [])],
                                 outputs: (0..<parts).map { _ in TxOutput(value: each, publicKey: pub) })
            tx.inputs[0].payload = Array(try key.signature(for: Sighash.compute(tx, spent: [out], params: params).bytes))
            if await post(Hex.encode(tx.encoded)) { fanouts.append(tx) }
        }
        try await waitFor("the fan-out transactions to confirm") {
            for tx in fanouts {
                guard let s = try? await get("/api/tx/\(tx.txid.hex)/status"), s.contains("\"confirmed\":true") else { return false }
            }
            return true
        }
        // Every fan-out output starts a chain of spends (each 1 in → 1 out).
        let starts = fanouts.flatMap { tx in tx.outputs.indices.map { (OutPoint(txid: tx.txid, index: UInt32($0)), tx.outputs[$0], 0) } }
        let shared = Stream(starts)
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(txSeconds * 1000))
        let start = clock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<48 {
                group.addTask {
                    while clock.now < deadline {
                        guard let (op, out, depth) = shared.queue.withLock({ $0.popFirst() }) else { return }
                        var tx = Transaction(inputs: [TxInput(previousOutput: op, payload: [])],
                                             outputs: [TxOutput(value: out.value - 500, publicKey: pub)])
                        guard let sig = try? key.signature(for: Sighash.compute(tx, spent: [out], params: params).bytes) else { return }
                        tx.inputs[0].payload = Array(sig)
                        if await post(Hex.encode(tx.encoded)) {
                            shared.accepted.add(1, ordering: .relaxed)
                            // its output continues the chain, within the mempool's depth limit
                            if depth < 20 {
                                shared.queue.withLock { $0.append((OutPoint(txid: tx.txid, index: 0), tx.outputs[0], depth + 1)) }
                            }
                        } else {
                            shared.refused.add(1, ordering: .relaxed)
                        }
                    }
                }
            }
        }
        let elapsed = (clock.now - start).seconds
        let rate = Double(shared.accepted.load(ordering: .relaxed)) / elapsed
        table.row("POST /api/tx accepted, sustained \(Int(elapsed.rounded())) s (tx/s)", rate, verifyRate, note: "1-core verify rate")
        print("  tx stream: \(shared.accepted.load(ordering: .relaxed)) accepted, \(shared.refused.load(ordering: .relaxed)) refused in \(String(format2: elapsed)) s")
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
    }

    struct Client: Sendable {
        let edge: String

        @Sendable func get(_ path: String) async throws -> String {
            let r = try await HTTPClient.shared.execute(HTTPClientRequest(url: edge + path), timeout: .seconds(30))
            return String(buffer: try await r.body.collect(upTo: 64 << 20))
        }

        @Sendable func post(_ hex: String) async -> Bool {
            var req = HTTPClientRequest(url: edge + "/api/tx")
            req.method = .POST
            req.body = .bytes(ByteBuffer(string: hex))
            guard let r = try? await HTTPClient.shared.execute(req, timeout: .seconds(30)) else { return false }
            _ = try? await r.body.collect(upTo: 1 << 16)
            return r.status.code == 200
        }
    }

    static func confirmedCoins(_ get: (String) async throws -> String, address: String, pub: [UInt8], minDepth: Int) async throws -> [(OutPoint, TxOutput)] {
        let tip = Int(try await get("/api/blocks/tip/height")) ?? 0
        let json = try JSONSerialization.jsonObject(with: Data(try await get("/api/address/\(address)/utxo").utf8)) as? [[String: Any]] ?? []
        return json.compactMap { u in
            guard let txid = (u["txid"] as? String).flatMap(Hash256.init(hex:)), let vout = u["vout"] as? Int,
                  let value = u["value"] as? Int, let status = u["status"] as? [String: Any],
                  let h = status["block_height"] as? Int, tip - h >= minDepth else { return nil }
            return (OutPoint(txid: txid, index: UInt32(vout)), TxOutput(value: Amount(value), publicKey: pub))
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
