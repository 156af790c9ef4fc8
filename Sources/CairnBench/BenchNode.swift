import AsyncHTTPClient
import Bus
import ChainCore
import Crypto
import Foundation
import NIOCore
import NIOPosix
import NodeKit
import Synchronization

/// A real node started with `cairn up` (from the same build folder) on a temporary data folder and
/// its own ports, and what the figures need to drive it: HTTP through its edge, the chain store and
/// the mempool on the bus (as the edge reaches them), blocks of the bench's own mined and submitted
/// with `submitblock`, the mining pace, and the services' process ids for their resident size.
final class BenchNode: @unchecked Sendable {   // every stored property immutable; the Process is only stopped, once
    static let params = ChainParams.regtest

    let dir: URL
    let offset: Int
    let edge: String
    let key: Curve25519.Signing.PrivateKey
    let pub: [UInt8]
    let address: String
    let http: HTTPClient
    /// The read probes' client, on an event loop of its own: on the shared one (the load
    /// generators' connections) a probe's answer waited behind the flood's, in the bench.
    let probes: HTTPClient
    private let probeLoop: MultiThreadedEventLoopGroup
    let chain: RPCClient
    let mempool: RPCClient
    private let up: Process

    /// Starts the node with its miner (one thread, a block every 0.5 s) paying the bench's key.
    static func start() async throws -> BenchNode {
        let bin = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let key = Curve25519.Signing.PrivateKey()
        let pub = Array(key.publicKey.rawRepresentation)
        let address = Address(publicKey: pub, network: .regtest).string
        let offset = 5_000 + Int.random(in: 0..<50) * 10
        let up = Process()
        up.executableURL = bin.appendingPathComponent("cairn")
        up.arguments = ["up", "--data", dir.path, "--port-offset", "\(offset)", "--miner-address", address,
                        "--miner-threads", "1", "--block-interval", "0.5"]
        up.standardOutput = FileHandle.nullDevice
        up.standardError = FileHandle.nullDevice
        try up.run()
        // Many connections: the load generators keep up to ~100 requests in flight (the client's
        // default of 8 connections per host would queue them in the client, not in the node).
        var config = HTTPClient.Configuration()
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 128
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
        let probeLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let probes = HTTPClient(eventLoopGroup: probeLoop)
        let endpoints = Endpoints.loopback(portOffset: offset)
        let context = try ZMQContext()
        // One send per request (no Lazy Pirate resend of a submitblock that takes long), a generous timeout.
        let chain = try await RPCClient(context: context, endpoint: endpoints.chainRPC, timeout: .seconds(300), retries: 1)
        let mempool = try await RPCClient(context: context, endpoint: endpoints.mempoolRPC, timeout: .seconds(300), retries: 1)
        return BenchNode(dir: dir, offset: offset, edge: "http://127.0.0.1:\(Endpoints.defaultHTTPPort + offset)", key: key, pub: pub,
                         address: address, http: http, probes: probes, probeLoop: probeLoop, chain: chain, mempool: mempool, up: up)
    }

    private init(dir: URL, offset: Int, edge: String, key: Curve25519.Signing.PrivateKey, pub: [UInt8], address: String,
                 http: HTTPClient, probes: HTTPClient, probeLoop: MultiThreadedEventLoopGroup, chain: RPCClient, mempool: RPCClient, up: Process) {
        self.dir = dir; self.offset = offset; self.edge = edge; self.key = key; self.pub = pub; self.address = address
        self.http = http; self.probes = probes; self.probeLoop = probeLoop; self.chain = chain; self.mempool = mempool; self.up = up
    }

    /// The process id of `cairn up` (the services are its children).
    var upPID: Int32 { up.processIdentifier }

    func stop() async {
        await chain.stop()
        await mempool.stop()
        try? await http.shutdown()
        try? await probes.shutdown()
        try? await probeLoop.shutdownGracefully()
        up.terminate()
        up.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }

    // MARK: HTTP

    func get(_ path: String) async throws -> String {
        let r = try await http.execute(HTTPClientRequest(url: edge + path), timeout: .seconds(30))
        let body = try await r.body.collect(upTo: 64 << 20)
        guard r.status.code == 200 else { throw NodeBench.BenchError(message: "GET \(path): \(r.status.code) \(String(buffer: body).prefix(200))") }
        return String(buffer: body)
    }

    /// A GET that only reports whether it succeeded (for latency probes; their own event loop).
    func probe(_ path: String) async -> Bool {
        guard let r = try? await probes.execute(HTTPClientRequest(url: edge + path), timeout: .seconds(30)) else { return false }
        _ = try? await r.body.collect(upTo: 16 << 20)
        return r.status.code == 200
    }

    /// POST /api/tx; true when the node acknowledged it (200).
    func postTx(_ tx: Transaction) async -> Bool {
        var req = HTTPClientRequest(url: edge + "/api/tx")
        req.method = .POST
        req.body = .bytes(ByteBuffer(string: Hex.encode(tx.encoded)))
        guard let r = try? await http.execute(req, timeout: .seconds(60)) else { return false }
        _ = try? await r.body.collect(upTo: 1 << 16)
        return r.status.code == 200
    }

    /// POST /rpc with a JSON body (a call or a batch); the parsed reply.
    func rpc(_ body: String, operator: Bool = false) async throws -> Any {
        var req = HTTPClientRequest(url: edge + "/rpc")
        req.method = .POST
        req.headers.add(name: "Content-Type", value: "application/json")
        if `operator` { req.headers.add(name: "Authorization", value: try cookieAuthorization()) }
        req.body = .bytes(ByteBuffer(string: body))
        let r = try await http.execute(req, timeout: .seconds(120))
        let data = try await r.body.collect(upTo: 256 << 20)
        return try JSONSerialization.jsonObject(with: Data(data.readableBytesView))
    }

    func cookieAuthorization() throws -> String {
        let cookie = try String(contentsOf: dir.appendingPathComponent(".cookie"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return "Basic " + Data(cookie.utf8).base64EncodedString()
    }

    /// The miner's pace (the operator route): a minimum interval of an hour keeps the node's miner
    /// waiting while the bench submits its own blocks; 0 lets it mine again.
    func setMinerInterval(_ seconds: Double) async throws {
        var request = HTTPClientRequest(url: edge + "/api/operator/mining")
        request.method = .POST
        request.headers.add(name: "Authorization", value: try cookieAuthorization())
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"minInterval":\#(seconds)}"#))
        let r = try await http.execute(request, timeout: .seconds(30))
        let body = try await r.body.collect(upTo: 1 << 20)
        guard r.status.code == 200 else { throw NodeBench.BenchError(message: "mining pace: \(r.status.code) \(String(buffer: body))") }
    }

    func height() async -> Int { Int((try? await get("/api/blocks/tip/height")) ?? "") ?? -1 }

    func mempoolInfo() async throws -> MempoolInfo { try await mempool.call(MempoolMethod.getmempoolinfo, Empty(), as: MempoolInfo.self) }

    func chainInfo() async throws -> ChainInfo { try await chain.call(ChainMethod.getchaininfo, Empty(), as: ChainInfo.self) }

    // MARK: transactions and blocks of the bench's own

    /// `op` (holding `out`, the bench's key) spent to `outputs`, signed.
    func spend(_ op: OutPoint, _ out: TxOutput, to outputs: [TxOutput]) -> Transaction {
        var tx = Transaction(inputs: [TxInput(previousOutput: op, payload: [])], outputs: outputs)
        tx.inputs[0].payload = Array(try! key.signature(for: Sighash.compute(tx, spent: [out], params: Self.params).bytes))
        return tx
    }

    /// Mines a block of `transactions` on the tip (a coinbase paying the bench's key first) and submits
    /// it to the chain store; the submit's duration (the block's connection, as the chain store
    /// answers after it stored it), the block's height and its coinbase's outpoint.
    func submitBlock(_ transactions: [Transaction]) async throws -> (seconds: Double, height: Int, coinbase: (OutPoint, TxOutput)) {
        // The node's miner may land a block between our reading the tip and our submit (its pace is
        // changed just before): then ours is stored on a side branch, and is made again on the new tip.
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await submitBlockOnce(transactions)
            } catch let e as NodeBench.BenchError where attempt < 4 && e.message.contains("not the tip") {
                continue
            }
        }
    }

    private func submitBlockOnce(_ transactions: [Transaction]) async throws -> (seconds: Double, height: Int, coinbase: (OutPoint, TxOutput)) {
        let info = try await chainInfo()
        let height = info.height + 1
        let h = UInt32(height)
        let payload = [UInt8(h & 0xff), UInt8(h >> 8 & 0xff), UInt8(h >> 16 & 0xff), UInt8(h >> 24)] + Array(UUID().uuidString.utf8.prefix(8))
        let reward = TxOutput(value: Self.params.subsidy(height: height), publicKey: pub)
        let cb = Transaction(inputs: [TxInput(previousOutput: .null, payload: payload)], outputs: [reward])
        let all = [cb] + transactions
        guard let previous = Hash256(hex: info.tipHash) else { throw NodeBench.BenchError(message: "tip hash \(info.tipHash)") }
        var header = BlockHeader(version: 1, previousHash: previous, merkleRoot: Merkle.root(all.map(\.txid)).root,
                                 time: max(UInt32(Date().timeIntervalSince1970), info.medianTimePast + 1), bits: info.nextBits, nonce: 0)
        let target = CompactTarget.hashValue(CompactTarget.decode(info.nextBits).target)
        var hasher = HeaderHasher(header: header)
        guard let nonce = hasher.scan(from: 0, count: UInt32.max, target: target) else { throw NodeBench.BenchError(message: "no nonce") }
        header.nonce = nonce
        let block = Block(header: header, transactions: all)
        let hex = Hex.encode(block.encoded)
        let clock = ContinuousClock()
        let start = clock.now
        let r = try await chain.call(ChainMethod.submitblock, SubmitBlock(hex: hex, source: "cli"), as: SubmitBlockResult.self)
        let seconds = (clock.now - start).seconds
        guard r.accepted || r.reason == "inconclusive" else {
            throw NodeBench.BenchError(message: "submitblock at \(height): \(r.reason ?? "rejected") \(r.message ?? "")")
        }
        guard r.isTip else { throw NodeBench.BenchError(message: "submitblock at \(height): not the tip (\(r.reason ?? ""))") }
        return (seconds, height, (OutPoint(txid: cb.txid, index: 0), reward))
    }

    // MARK: processes

    /// The resident size (VmRSS, bytes) of this node's process running `executable`.
    func residentBytes(_ executable: String) -> Int? {
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for pid in pids where Int(pid) != nil {
            guard let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            let args = cmd.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let first = args.first, first.hasSuffix("/" + executable) || first == executable,
                  args.contains(where: { $0.hasPrefix(dir.path) }) else { continue }
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { continue }
            let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
            return kb.map { $0 * 1024 }
        }
        return nil
    }
}

/// Coinbases of the bench's own blocks, spent once mature.
struct CoinbaseWallet {
    var coins: [(height: Int, coin: (OutPoint, TxOutput))] = []

    /// A mature coinbase; mines empty blocks until one is.
    mutating func take(_ node: BenchNode) async throws -> (OutPoint, TxOutput) {
        while true {
            let tip = try await node.chainInfo().height
            if let i = coins.firstIndex(where: { tip + 1 - $0.height >= BenchNode.params.coinbaseMaturity }) {
                return coins.remove(at: i).coin
            }
            try await mine(node, [])
        }
    }

    /// Submits a block of `transactions`, keeping its coinbase; the submit's seconds.
    @discardableResult
    mutating func mine(_ node: BenchNode, _ transactions: [Transaction]) async throws -> Double {
        let r = try await node.submitBlock(transactions)
        coins.append((r.height, r.coinbase))
        return r.seconds
    }
}

/// Percentiles of a list of seconds, in milliseconds.
struct Latencies {
    var sorted: [Double]
    init(_ seconds: [Double]) { sorted = seconds.sorted() }
    func ms(_ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000
    }
    var count: Int { sorted.count }
}

/// Counts and latencies shared by a load generator's tasks.
final class Tally: Sendable {
    let accepted = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let latencies = Mutex<[Double]>([])
}
