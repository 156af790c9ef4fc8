import AsyncHTTPClient
import ChainCore
import Foundation
import NIOCore
import NodeKit
import Synchronization

/// How cost grows with work (issue 11), on the real node's processes:
/// - the mempool filled to 1k, 10k, 50k, 100k transactions through `POST /api/tx` (the node's miner
///   held back by its pace), with the acceptance rate of each stretch and the time of
///   `getblocktemplate` on /rpc at each size (and on the bus, the mempool's own part without the
///   edge's reshaping and HTTP), each after one more transaction (so made afresh) and once more
///   with nothing changed (the mempool's last template given again), and the mempool service's
///   resident size;
/// - the UTXO set grown to 10k, 100k, 1M coins by blocks of the bench's own (fan-out transactions of
///   23,000 outputs), and at each size a block of 5,000 one-input transactions submitted to the chain
///   store (`submitblock` on the bus, timed to its answer) and 2,000 coin lookups (`getcoins` on the bus).
enum GrowthBench {
    struct PoolPoint { var size: Int; var acceptRate: Double; var templateMS: Double; var templateTxs: Int; var busTemplateMS: Double }
    struct CoinPoint {
        var size: Int; var connectRate: Double; var connectSeconds: Double; var lookupP50: Double; var lookupP99: Double
        /// The raw Ed25519 verify rate of one core measured right before the block and right after
        /// its lookups (the machine's speed drifts by a third within minutes here).
        var rawBefore: Double; var rawAfter: Double
        var rawBeside: Double { (rawBefore + rawAfter) / 2 }
    }

    static let fee: Amount = 500

    // MARK: the mempool

    /// A JSON-RPC call's reply, as bytes (not parsed).
    static func rpcBytes(_ node: BenchNode, _ body: String) async throws -> Data {
        var req = HTTPClientRequest(url: node.edge + "/rpc")
        req.method = .POST
        req.headers.add(name: "Content-Type", value: "application/json")
        req.body = .bytes(ByteBuffer(string: body))
        let r = try await node.http.execute(req, timeout: .seconds(120))
        guard r.status == .ok else { throw RPCError("bench", "getblocktemplate on /rpc answered \(r.status)") }
        let data = try await r.body.collect(upTo: 256 << 20)
        return Data(data.readableBytesView)
    }

    static func mempool(_ table: inout Table, node: BenchNode, wallet: inout CoinbaseWallet, sizes: [Int], budget: Double) async throws -> [PoolPoint] {
        try await node.setMinerInterval(3_600)
        let maxSize = sizes.max() ?? 0
        let chainDepth = 20
        let starts = try await FloodBench.fanOut(node: node, wallet: &wallet, count: maxSize / (chainDepth + 1) + 500, value: 50_000)
        let shared = NodeBench.Stream(starts.map { ($0.0, $0.1, 0) })
        let base = try await node.mempoolInfo().count
        let rssBefore = node.residentBytes("cairn-mempool")
        print("  mempool growth: \(base) transactions at the start, the mempool service's VmRSS \(rssBefore.map { "\($0 / 1_000_000) MB" } ?? "unknown")")
        let clock = ContinuousClock()
        var points = [PoolPoint]()
        var reached = base
        let fillStart = clock.now
        let fillDeadline = fillStart + .milliseconds(Int(budget * 1000))
        for size in sizes.sorted() where size > reached {
            let goal = size - base
            let start = clock.now
            let before = shared.accepted.load(ordering: .relaxed)
            await shared.send(node: node, fee: fee, chainDepth: chainDepth) {
                shared.accepted.load(ordering: .relaxed) < goal && clock.now < fillDeadline
            }
            let rate = Double(shared.accepted.load(ordering: .relaxed) - before) / (clock.now - start).seconds
            let short = shared.accepted.load(ordering: .relaxed) < goal
            let count = try await node.mempoolInfo().count
            reached = count
            // One more transaction in before each timed template: the pool changed, so the template
            // is made afresh (the mempool gives its last one again while nothing changed).
            @Sendable func change() async {
                let target = shared.accepted.load(ordering: .relaxed) + 1
                await shared.send(node: node, senders: 1, fee: fee, chainDepth: chainDepth) { shared.accepted.load(ordering: .relaxed) < target }
            }
            // getblocktemplate on /rpc, three times, the median (once when it takes over 2 s): timed
            // from the request to the reply's last byte (the node's answer); the client's own parse
            // of the ~1.5 MB of JSON after it is timed apart (what a miner's JSON library costs it).
            let gbt = #"{"jsonrpc":"2.0","id":1,"method":"getblocktemplate","params":[]}"#
            var times = [Double](), parses = [Double](), txs = 0
            for _ in 0..<3 where times.allSatisfy({ $0 < 2 }) {
                await change()
                let t = clock.now
                let bytes = try await rpcBytes(node, gbt)
                times.append((clock.now - t).seconds)
                let p = clock.now
                let reply = try JSONSerialization.jsonObject(with: bytes) as? [String: Any]
                parses.append((clock.now - p).seconds)
                txs = ((reply?["result"] as? [String: Any])?["transactions"] as? [Any])?.count ?? -1
            }
            let templateMS = times.sorted()[times.count / 2] * 1000
            let parseMS = parses.sorted()[parses.count / 2] * 1000
            // Asked again with nothing changed (another miner after the same notice).
            var t0 = clock.now
            _ = try await rpcBytes(node, gbt)
            let repeatMS = (clock.now - t0).seconds * 1000
            // The mempool's part of the /rpc path: the result it renders (getblocktemplaterpc, its
            // bytes not parsed), after a change; nil from a mempool without the method.
            var renderedMS: Double?
            do {
                let payload = try JSON.encode(TemplateRequest(minerID: "bench-rpc", address: "", hashrate: 0, threads: 0))
                var rendered = [Double]()
                for _ in 0..<3 {
                    await change()
                    let t = clock.now
                    _ = try await node.mempool.callBinary(TemplateRPC.method, payload)
                    rendered.append((clock.now - t).seconds)
                }
                renderedMS = rendered.sorted()[1] * 1000
            } catch {
                renderedMS = nil
            }
            // The same on the mempool's bus (what the node's miner asks), three times, the median.
            let request = TemplateRequest(minerID: "bench", address: "", hashrate: 0, threads: 0)
            var busTimes = [Double]()
            for _ in 0..<3 {
                await change()
                let t = clock.now
                _ = try await node.mempool.call(MempoolMethod.getblocktemplate, request, as: BlockTemplate.self)
                busTimes.append((clock.now - t).seconds)
            }
            let busMS = busTimes.sorted()[1] * 1000
            t0 = clock.now
            _ = try await node.mempool.call(MempoolMethod.getblocktemplate, request, as: BlockTemplate.self)
            let busRepeatMS = (clock.now - t0).seconds * 1000
            // A stretch cut short by the budget just after a size was measured adds no point of its own.
            if short, let last = points.last, count < last.size + last.size / 10 {
                print("  mempool growth stopped at \(count), short of \(size): the filling budget (\(Int(budget)) s) ran out")
                break
            }
            if txs < 0 { print("  getblocktemplate at \(count) answered no template (an error or a timeout)") }
            points.append(PoolPoint(size: count, acceptRate: rate, templateMS: templateMS, templateTxs: txs, busTemplateMS: busMS))
            print("  mempool at \(count): \(Int(rate)) accepted/s over the stretch, getblocktemplate \(String(format2: templateMS)) ms on /rpc to the reply's last byte (the client's JSON parse of it \(String(format2: parseMS)) ms more), \(String(format2: busMS)) ms on the bus (\(txs) transactions in it; decoded), the result as the mempool renders it for /rpc \(renderedMS.map { "\(String(format2: $0)) ms" } ?? "not served") on the bus; asked again unchanged \(String(format2: repeatMS)) ms on /rpc, \(String(format2: busRepeatMS)) ms on the bus")
            if size == 50_000 || (size == maxSize && !sizes.contains(50_000)) {
                table.row("getblocktemplate at a \(count)-transaction mempool (ms; aim ≤ 50)", templateMS, nil)
                table.row("  the same on the mempool's bus (ms)", busMS, nil)
            }
            if short {
                print("  mempool growth stopped at \(count), short of \(size): \(clock.now >= fillDeadline ? "the filling budget (\(Int(budget)) s) ran out" : "no coins left") (\(shared.refused.load(ordering: .relaxed)) refused)")
                break
            }
        }
        let info = try await node.mempoolInfo()
        let rss = node.residentBytes("cairn-mempool")
        let cap = 64 * 1_000_000
        table.row("mempool at \(info.count) transactions: bytes per transaction (pool's count)", Double(info.bytes) / Double(max(1, info.count)), nil)
        if let rss {
            table.row("mempool service VmRSS at \(info.count) transactions (MB)", Double(rss) / 1e6, nil)
            if let rssBefore, info.count > base {
                table.row("  VmRSS growth per mempool transaction (bytes)", Double(rss - rssBefore) / Double(info.count - base),
                          Double(info.bytes) / Double(max(1, info.count)), note: "its serialized size")
            }
        }
        table.row("mempool size cap, Policy.maxPoolBytes (MB; lowest fee rates evicted past it)", Double(cap) / 1e6, nil)
        print("""
          The mempool's size limit: Policy.maxPoolBytes, 64 MB of serialized transactions by default
          (cairn-mempool --max-megabytes): past it the lowest fee rates are evicted (with their descendants),
          so memory stays bounded under any flood; 64 MB is 64 full 1 MB blocks of backlog, the
          ratio of Bitcoin Core's default 300 MB to its 4 MB blocks, and at \(Int(Double(info.bytes) / Double(max(1, info.count)))) bytes a transaction it
          holds about \(cap / max(1, info.bytes / max(1, info.count)) / 1000)k transactions.
        """)
        return points
    }

    // MARK: the UTXO set

    /// Grows the UTXO set to each of `sizes` (within `budget` seconds of building) and measures there.
    static func coins(_ table: inout Table, node: BenchNode, wallet: inout CoinbaseWallet, verifyRate: Double,
                      sizes: [Int], budget: Double, headline: Bool) async throws -> [CoinPoint] {
        try await node.setMinerInterval(3_600)
        let cores = Double(SignatureBatch.defaultParallelism)
        let clock = ContinuousClock()
        let buildStart = clock.now
        var bulk = [(txid: Hash256, count: Int)]()
        var spent = Set<OutPoint>()
        var points = [CoinPoint]()
        let (rawKey, rawChecks) = CairnBench.signedChecks()
        let perBlock = 23_000
        let value: Amount = 2_000
        func randomCoin() -> OutPoint {
            while true {
                let t = bulk.randomElement()!
                let op = OutPoint(txid: t.txid, index: UInt32.random(in: 0..<UInt32(t.count)))
                if !spent.contains(op) { return op }
            }
        }
        var buildSeconds = 0.0, built = 0
        for size in sizes.sorted() {
            var current = try await node.chainInfo().utxoCount
            var short = false
            // Enough bulk coins for the 5,000-transaction block, whatever the set's size.
            while current < size || bulk.reduce(0, { $0 + $1.count }) - spent.count < 10_000 {
                if (clock.now - buildStart).seconds > budget && !bulk.isEmpty {
                    print("  UTXO set: the building budget (\(Int(budget)) s) ran out at \(current) coins, short of \(size)")
                    short = true
                    break
                }
                let n = min(perBlock, max(size - current, 10_000))
                let (op, out) = try await wallet.take(node)
                let tx = node.spend(op, out, to: [TxOutput](repeating: TxOutput(value: value, publicKey: node.pub), count: n)
                                        + [TxOutput(value: out.value - Amount(n) * value, publicKey: node.pub)])
                buildSeconds += try await wallet.mine(node, [tx])
                built += n
                bulk.append((tx.txid, n))
                current = try await node.chainInfo().utxoCount
            }
            if short, let last = points.last, last.size >= current { break }
            // A block of 5,000 one-input, one-output transactions spending bulk coins.
            let spends = (0..<5_000).map { _ -> Transaction in
                let op = randomCoin()
                spent.insert(op)
                return node.spend(op, TxOutput(value: value, publicKey: node.pub), to: [TxOutput(value: value - 200, publicKey: node.pub)])
            }
            let rawBefore = CairnBench.rawVerifyRate(seconds: 0.5, publicKey: rawKey, checks: rawChecks)
            let seconds = try await wallet.mine(node, spends)
            // 2,000 coin lookups, one outpoint each, on the chain store's bus.
            var lookups = [Double]()
            var found = 0
            for _ in 0..<2_000 {
                let op = randomCoin()
                let t = clock.now
                let r = try await node.chain.call(ChainMethod.getcoins, OutpointList(outpoints: ["\(op.txid.hex):\(op.index)"]), as: [CoinInfo?].self)
                lookups.append((clock.now - t).seconds)
                if r.first ?? nil != nil { found += 1 }
            }
            let rawAfter = CairnBench.rawVerifyRate(seconds: 0.5, publicKey: rawKey, checks: rawChecks)
            let l = Latencies(lookups)
            let at = try await node.chainInfo().utxoCount
            let point = CoinPoint(size: at, connectRate: 5_000 / seconds, connectSeconds: seconds, lookupP50: l.ms(0.5) * 1000, lookupP99: l.ms(0.99) * 1000,
                                  rawBefore: rawBefore, rawAfter: rawAfter)
            points.append(point)
            print("  UTXO set at \(at): a 5,000-transaction block connected in \(String(format2: seconds * 1000)) ms, getcoins p50 \(String(format2: l.ms(0.5) * 1000)) µs p99 \(String(format2: l.ms(0.99) * 1000)) µs (\(found)/2000 found)")
            print("    \(String(format2: point.connectRate / (point.rawBeside * cores) * 100)) % of cores × Ed25519 verify measured beside it (raw \(Int(rawBefore)) a core before the block, \(Int(rawAfter)) after its lookups; \(String(format2: point.connectRate / (verifyRate * cores) * 100)) % of the run's raw rate, \(Int(verifyRate)))")
            if headline && points.count == 1 {
                table.row("block of 5,000 transactions connected at \(at) coins (tx/s; aim ≥ 90%)", 5_000 / seconds, verifyRate * cores,
                          note: "\(Int(cores)) cores × Ed25519 verify")
                table.row("  the same against the verify rate measured beside it", 5_000 / seconds, point.rawBeside * cores,
                          note: "\(Int(cores)) cores × Ed25519 verify")
            }
            if short { break }
        }
        if built > 0 {
            print("  UTXO set: \(built) coins created by \(bulk.count) fan-out blocks in \(String(format2: buildSeconds)) s of submitblock (\(Int(Double(built) / max(buildSeconds, 1e-9))) outputs/s stored)")
        }
        return points
    }

    // MARK: the table and the chart

    static func report(pool: [PoolPoint], coins: [CoinPoint], verifyRate: Double, out: URL) {
        let cores = Double(SignatureBatch.defaultParallelism)
        var text = "How cost grows with work\n\n"
        var t1 = Table(columns: ["mempool size (txs)", "accepted/s (stretch)", "getblocktemplate (ms)", "on the bus (ms)", "txs in template"])
        for p in pool {
            t1.rows.append([String(p.size), String(Int(p.acceptRate.rounded())), String(format2: p.templateMS), String(format2: p.busTemplateMS),
                            String(p.templateTxs)])
        }
        var t2 = Table(columns: ["UTXO set size (coins)", "5,000-tx block connect (tx/s)", "of cores × verify", "of cores × verify beside it",
                                 "getcoins p50 (µs)", "getcoins p99 (µs)"])
        for c in coins {
            t2.rows.append([String(c.size), String(Int(c.connectRate.rounded())), String(format2: c.connectRate / (verifyRate * cores) * 100) + " %",
                            String(format2: c.connectRate / (c.rawBeside * cores) * 100) + " %",
                            String(format2: c.lookupP50), String(format2: c.lookupP99)])
        }
        text += t1.text() + "\n" + t2.text()
        print("\n" + text)
        try? FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let txt = out.appendingPathComponent("growth.txt"), svg = out.appendingPathComponent("growth.svg")
        try? text.write(to: txt, atomically: true, encoding: .utf8)
        let chart = GrowthChart.svg(panels: [
            .init(title: "Acceptance while the mempool fills (tx/s)", xLabel: "mempool size (transactions)",
                  points: pool.map { (Double($0.size), $0.acceptRate) }),
            .init(title: "getblocktemplate time (ms)", xLabel: "mempool size (transactions)",
                  points: pool.map { (Double($0.size), $0.templateMS) }),
            .init(title: "5,000-tx block connection (tx/s)", xLabel: "UTXO set size (coins)",
                  points: coins.map { (Double($0.size), $0.connectRate) }),
            .init(title: "getcoins latency p50 / p99 (µs)", xLabel: "UTXO set size (coins)",
                  points: coins.map { (Double($0.size), $0.lookupP50) }, second: coins.map { (Double($0.size), $0.lookupP99) }),
        ])
        if (try? chart.write(to: svg, atomically: true, encoding: .utf8)) != nil {
            print("the growth table: \(txt.path)\nthe growth chart: \(svg.path)")
        }
    }
}
