import AsyncHTTPClient
import Bus
import ChainCore
import Crypto
import Foundation
import NIOCore
import NodeKit

/// Network figures (`cairn-bench --net`): whole nodes (`cairn up`) on loopback.
/// - connecting N blocks locally (each submitted to the chain store's `submitblock`) against a
///   fresh node syncing the same blocks from that node over the peer protocol (blocks/s, tx/s);
/// - block propagation along a line of 5 nodes (each peered only with the one before it), timed
///   from each node's own `hashblock` publication.
enum NetBench {
    static let params = ChainParams.regtest

    final class Up: @unchecked Sendable {
        let process = Process()
        let dir: URL
        let offset: Int
        var edge: String { "http://127.0.0.1:\(Endpoints.defaultHTTPPort + offset)" }
        var peerURL: String { "ws://127.0.0.1:\(PeerEndpoints.defaultPorts.ws + offset)" }
        var endpoints: Endpoints { Endpoints.loopback(portOffset: offset) }

        init(bin: URL, offset: Int, peers: [String]) throws {
            self.offset = offset
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-netbench-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            process.executableURL = bin.appendingPathComponent("cairn")
            process.arguments = ["up", "--data", dir.path, "--port-offset", "\(offset)", "--no-miner", "--no-wallet", "--log-level", "warning"]
                + peers.flatMap { ["--peer", $0] }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        func get(_ path: String) async -> String? {
            guard let r = try? await HTTPClient.shared.execute(HTTPClientRequest(url: edge + path), timeout: .seconds(10)),
                  let b = try? await r.body.collect(upTo: 1 << 20) else { return nil }
            return r.status.code == 200 ? String(buffer: b) : nil
        }

        func stop() {
            process.terminate()
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    /// `count` blocks after genesis; from block 12 on each spends the coinbase of block h − 11 into
    /// `fanout` outputs, so blocks carry transactions and the UTXO set grows.
    static func chain(_ count: Int, fanout: Int = 2) -> (blocks: [Block], txs: Int) {
        let key = Curve25519.Signing.PrivateKey()
        let pub = Array(key.publicKey.rawRepresentation)
        var blocks = [params.genesis]
        var txs = 0
        let start = UInt32(Date().timeIntervalSince1970) - UInt32(count) - 600
        for h in 1...count {
            var body = [Transaction]()
            var fees: Amount = 0
            if h >= 12 {
                let cb = blocks[h - 11].transactions[0]
                let value = cb.outputs[0].value - 1_000
                var tx = Transaction(inputs: [TxInput(previousOutput: OutPoint(txid: cb.txid, index: 0), payload: [])],
                                     outputs: (0..<fanout).map { i in TxOutput(value: value / Amount(fanout) + (i == 0 ? value % Amount(fanout) : 0), publicKey: pub) })
                tx.inputs[0].payload = Array(try! key.signature(for: Sighash.compute(tx, spent: [cb.outputs[0]], params: params).bytes))
                body.append(tx)
                fees = 1_000
                txs += 1
            }
            let hb = UInt32(h)
            let cb = Transaction(inputs: [TxInput(previousOutput: .null, payload: [UInt8(hb & 0xff), UInt8(hb >> 8 & 0xff), UInt8(hb >> 16 & 0xff), UInt8(hb >> 24)])],
                                 outputs: [TxOutput(value: params.subsidy(height: h) + fees, publicKey: pub)])
            let all = [cb] + body
            let parent = blocks.last!.header
            var header = BlockHeader(version: 1, previousHash: parent.hash, merkleRoot: Merkle.root(all.map(\.txid)).root,
                                     time: max(start + hb, parent.time + 1), bits: params.powLimitBits, nonce: 0)
            let target = CompactTarget.hashValue(CompactTarget.decode(header.bits).target)
            while header.hash > target { header.nonce += 1 }
            blocks.append(Block(header: header, transactions: all))
        }
        return (blocks, txs)
    }

    static func waitFor(_ what: String, timeout: Double = 300, every: Duration = .milliseconds(100), _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await condition() { return }
            try await Task.sleep(for: every)
        }
        throw NodeBench.BenchError(message: "timed out waiting for \(what)")
    }

    static func run(_ table: inout Table, blocks count: Int = 1000) async throws {
        let bin = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let base = 9_000 + Int.random(in: 0..<40) * 100
        print("net: making \(count) blocks…")
        let (blocks, txs) = chain(count)
        let tipHex = blocks.last!.hash.hex

        // Local: every block through the chain store's submitblock, one after another.
        let a = try Up(bin: bin, offset: base, peers: [])
        defer { a.stop() }
        try await waitFor("node A") { await a.get("/api/sync") != nil }
        let context = try ZMQContext()
        let rpc = try await RPCClient(context: context, endpoint: a.endpoints.chainRPC, timeout: .seconds(30), retries: 1)
        let clock = ContinuousClock()
        let t0 = clock.now
        for b in blocks.dropFirst() {
            let r = try await rpc.call(ChainMethod.submitblock, SubmitBlock(hex: Hex.encode(b.encoded), source: "bench"), as: SubmitBlockResult.self)
            guard r.accepted else { throw NodeBench.BenchError(message: "block refused: \(r)") }
        }
        let local = (clock.now - t0).seconds
        await rpc.stop()
        await context.terminate()

        // Sync: a fresh node, already up, given A as its peer; timed from the request to the same tip.
        let b = try Up(bin: bin, offset: base + 10, peers: [])
        defer { b.stop() }
        try await waitFor("node B") { await b.get("/api/sync") != nil }
        let ctxB = try ZMQContext()
        let peerB = try await RPCClient(context: ctxB, endpoint: PeerEndpoints.loopback(portOffset: base + 10).rpc, timeout: .seconds(10), retries: 1)
        let t1 = clock.now
        _ = try await peerB.call(PeerMethod.addpeer, AddPeer(url: a.peerURL), as: Empty.self)
        try await waitFor("node B to sync", every: .milliseconds(20)) { await b.get("/api/blocks/tip/hash") == tipHex }
        let synced = (clock.now - t1).seconds
        await peerB.stop()
        await ctxB.terminate()
        table.row("connect \(count) blocks locally via submitblock (blocks/s)", Double(count) / local, nil)
        table.row("sync \(count) blocks from a peer (blocks/s)", Double(count) / synced, Double(count) / local, note: "local connect")
        table.row("sync: transactions/s (besides coinbases)", Double(txs) / synced, Double(txs) / local, note: "local connect")
        print("  net: local connect \(String(format2: local)) s, sync \(String(format2: synced)) s (includes the handshake and headers)")

        // Propagation along a line of 5: L0 ← L1 ← L2 ← L3 ← L4.
        var line = [Up]()
        defer { for n in line { n.stop() } }
        for i in 0..<5 {
            line.append(try Up(bin: bin, offset: base + 20 + 10 * i, peers: i == 0 ? [] : [line[i - 1].peerURL]))
        }
        for n in line { try await waitFor("line node") { await n.get("/api/sync") != nil } }
        let ctx = try ZMQContext()
        var subs = [Subscriber]()
        for n in line {
            subs.append(try await Subscriber(context: ctx, connect: [n.endpoints.chainPub], topics: [Topic.hashblock], hwm: 10_000))
        }
        for s in subs { try await s.ready(timeout: .seconds(30)) }
        // Wait until the line is connected end to end (each node has its peer).
        try await waitFor("the line to connect", timeout: 120) {
            for n in line.dropFirst() {
                guard let s = await n.get("/api/peers"), s.contains("\"handshaken\":true") else { return false }
            }
            return true
        }
        let rpc0 = try await RPCClient(context: ctx, endpoint: line[0].endpoints.chainRPC, timeout: .seconds(30), retries: 1)
        let rounds = 20
        var hops = [Double](repeating: 0, count: 4)
        var iterators = subs.map { $0.events.makeAsyncIterator() }
        for r in 1...rounds {
            let block = blocks[r]
            let sent = clock.now
            _ = try await rpc0.call(ChainMethod.submitblock, SubmitBlock(hex: Hex.encode(block.encoded), source: "bench"), as: SubmitBlockResult.self)
            var arrivals = [ContinuousClock.Instant]()
            for i in 0..<5 {
                while true {
                    guard let e = await iterators[i].next() else { throw NodeBench.BenchError(message: "subscription ended") }
                    if case let .message(_, body, _) = e, body == block.hash.displayBytes { arrivals.append(clock.now); break }
                }
            }
            _ = sent
            for i in 0..<4 { hops[i] += (arrivals[i + 1] - arrivals[i]).seconds }
        }
        for s in subs { await s.stop() }
        await rpc0.stop()
        await ctx.terminate()
        let perHop = hops.map { $0 / Double(rounds) * 1000 }
        table.row("block propagation, line of 5, mean per hop (ms)", perHop.reduce(0, +) / 4, nil)
        table.row("block propagation, line of 5, end to end (ms)", perHop.reduce(0, +), nil)
        print("  net: per hop (ms): \(perHop.map { String(format2: $0) }.joined(separator: ", ")) over \(rounds) blocks")
    }
}
