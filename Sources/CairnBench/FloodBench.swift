import ChainCore
import Foundation
import NIOCore
import NodeKit
import Synchronization

/// The payment flood (issue 11): acceptance through `POST /api/tx` and through JSON-RPC batches,
/// acknowledgement latency under an open-loop paced load, and the explorer's read path while the
/// flood runs. The node's own miner mines a block every 0.5 s meanwhile, as in production. The
/// load generator runs on the same machine (its CPU is taken from the node's two cores), but, as a
/// real client signs on its own machine, every transaction is signed before the timed windows (the
/// closed loop's on every core, `PresignedFlood`), and both the closed loop's client and the paced
/// one (`PacedFlood`) are sets of kept-alive NIO connections; the generator's own CPU per transaction
/// is printed, and for both windows each node process's CPU per accepted transaction (`CPUSample`).
enum FloodBench {
    static let closedLoopStarts = 24_000
    /// The chains of the short closed loop that sets the paced load's rate.
    static let calibrationStarts = 4_000
    static let pacedStarts = 4_000
    static let chainDepth = 20
    static let fee: Amount = 500
    static let rpcBatch = 100

    /// `txOnly`: the POST /api/tx figure alone.
    static func run(_ table: inout Table, node: BenchNode, wallet: inout CoinbaseWallet, verifyRate: Double,
                    seconds: Double, txOnly: Bool) async throws {
        let cores = Double(SignatureBatch.defaultParallelism)
        let environment = ProcessInfo.processInfo.environment
        // Coins: fan-out transactions (12,000 outputs each) in blocks of the bench's own.
        let starts = try await fanOut(node: node, wallet: &wallet, count: closedLoopStarts + calibrationStarts + pacedStarts, value: 50_000)
        let calibrationCoins = Array(starts[closedLoopStarts..<(closedLoopStarts + calibrationStarts)])
        let pacedCoins = Array(starts.suffix(pacedStarts))
        // The closed loop's transactions, signed off the clock on every core: enough for 8,000 a
        // second over the window (5,500, a tenth over the aim, ran out at 5,800/s); each connection
        // that finds none left ends, and the rate is counted over the time they lasted.
        let clock = ContinuousClock()
        let signStart = clock.now
        let flood = await PresignedFlood(node: node, roots: Array(starts.prefix(closedLoopStarts)), total: Int(8_000 * seconds),
                                         fee: fee, chainDepth: chainDepth, cores: Int(cores))
        print("  closed loop: \(flood.count) transactions in \(closedLoopStarts) chains signed before the window in \(String(format2: (clock.now - signStart).seconds)) s (\(Int(cores)) cores)")
        try await node.setMinerInterval(0)

        // The read path at rest, then during the flood.
        let idle = await readProbes(node: node, until: ContinuousClock.now + .seconds(3))
        let cpuBefore = ProcessCPU.seconds()
        let nodeBefore = CPUSample.take(node: node)
        let start = clock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        async let reads = readProbes(node: node, until: deadline)
        // CAIRN_BENCH_CONNECTIONS: the closed loop's kept-alive connections, 192 by default (96 left
        // about 11% of the cores idle and its edge batches held 23 transactions, against 7-8% and
        // 46 with 192: 5,023-5,105/s against 5,797-5,817 in alternated 30 s floods; 48 left more).
        let closedConnections = environment["CAIRN_BENCH_CONNECTIONS"].flatMap(Int.init).map { max(1, $0) } ?? 192
        try await flood.send(host: "127.0.0.1", port: Endpoints.defaultHTTPPort + node.offset, connections: closedConnections, until: deadline)
        let elapsed = (clock.now - start).seconds
        let cpuAfter = ProcessCPU.seconds()
        let nodeAfter = CPUSample.take(node: node)
        let accepted = flood.accepted.load(ordering: .relaxed), refused = flood.refused.load(ordering: .relaxed)
        let rate = Double(accepted) / elapsed
        let during = await reads
        table.row("POST /api/tx accepted, sustained \(Int(elapsed.rounded())) s (tx/s; aim ≥ 5,000)", rate, verifyRate * cores,
                  note: "\(Int(cores)) cores × Ed25519 verify")
        print("  POST /api/tx: \(accepted) accepted, \(refused) refused in \(String(format2: elapsed)) s (\(closedConnections) connections, \(flood.endedEarly.load(ordering: .relaxed)) of them ended before the window's end)")
        if flood.queued == 0 { print("  (no pre-signed transaction was left to send at the window's end)") }
        if let cpuBefore, let cpuAfter, accepted + refused > 0 {
            // The bench process over the window: sending, reading the answers, and the read probes.
            print("  load generator: \(String(format2: (cpuAfter - cpuBefore) / Double(accepted + refused) * 1e6)) µs of CPU per transaction sent (signing done before the window)")
        }
        CPUSample.report("closed loop", before: nodeBefore, after: nodeAfter, accepted: accepted, cores: Int(cores))
        // The /rpc part goes on from where the chains stopped.
        let shared = NodeBench.Stream(flood.remaining())
        // How the edge's submissions reached the mempool (submittxs batches; counted since the node started).
        if let status = try? await node.mempool.call(MempoolMethod.getstatus, Empty(), as: ServiceStatus.self),
           let batches = status.details["submitBatches"].flatMap({ Int($0) }), batches > 0,
           let batched = status.details["submitBatchTransactions"].flatMap({ Int($0) }) {
            print("  edge → mempool: \(batched) transactions in \(batches) submittxs requests (\(String(format2: Double(batched) / Double(batches))) a request, the largest \(status.details["largestSubmitBatch"] ?? "?"))")
        }
        if txOnly { return }
        for (name, path) in [("GET /api/blocks/tip/height", "/api/blocks/tip/height"), ("GET /api/mempool", "/api/mempool")] {
            let busy = Latencies(during[path] ?? []), calm = Latencies(idle[path] ?? [])
            table.row("\(name) during the flood p50 (ms)", busy.ms(0.5), calm.ms(0.5), note: "idle node, same route")
            table.row("\(name) during the flood p99 (ms; aim ≤ 10)", busy.ms(0.99), calm.ms(0.99), note: "idle node, same route")
            print("  \(name): \(busy.count) reads during the flood, \(calm.count) idle")
        }

        // JSON-RPC: sendrawtransaction in batches of 100 on /rpc, the same coins' chains.
        if environment["CAIRN_BENCH_SKIP_RPC"] != "1" {
        let rpcSeconds = max(10, seconds / 3)
        let rpcTally = Tally()
        let rpcStart = clock.now
        let rpcDeadline = rpcStart + .milliseconds(Int(rpcSeconds * 1000))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    while clock.now < rpcDeadline {
                        let coins = shared.queue.withLock { q -> [(OutPoint, TxOutput, Int)] in
                            let taken = Array(q.prefix(rpcBatch))
                            q.removeFirst(taken.count)
                            return taken
                        }
                        if coins.isEmpty { return }
                        let txs = coins.map { node.spend($0.0, $0.1, to: [TxOutput(value: $0.1.value - fee, publicKey: node.pub)]) }
                        let body = "[" + txs.enumerated().map { #"{"jsonrpc":"2.0","id":\#($0.offset),"method":"sendrawtransaction","params":["\#(Hex.encode($0.element.encoded))"]}"# }
                            .joined(separator: ",") + "]"
                        let replies = (try? await node.rpc(body)) as? [[String: Any]] ?? []
                        var ok = Set<Int>()
                        for r in replies where r["result"] is String && (r["error"] == nil || r["error"] is NSNull) {
                            if let id = r["id"] as? Int { ok.insert(id) }
                        }
                        rpcTally.accepted.add(ok.count, ordering: .relaxed)
                        rpcTally.refused.add(txs.count - ok.count, ordering: .relaxed)
                        let children = ok.sorted().compactMap { i in
                            coins[i].2 < chainDepth ? (OutPoint(txid: txs[i].txid, index: 0), txs[i].outputs[0], coins[i].2 + 1) : nil
                        }
                        shared.queue.withLock { $0.append(contentsOf: children) }
                    }
                }
            }
        }
        let rpcElapsed = (clock.now - rpcStart).seconds
        let rpcRate = Double(rpcTally.accepted.load(ordering: .relaxed)) / rpcElapsed
        table.row("POST /rpc sendrawtransaction, batches of \(rpcBatch), \(Int(rpcElapsed.rounded())) s (tx/s)", rpcRate, verifyRate * cores,
                  note: "\(Int(cores)) cores × Ed25519 verify")
        print("  /rpc batches: \(rpcTally.accepted.load(ordering: .relaxed)) accepted, \(rpcTally.refused.load(ordering: .relaxed)) refused in \(String(format2: rpcElapsed)) s")
        }

        // Acknowledgement latency at 80% of the POST rate: an open-loop paced generator (`PacedFlood`:
        // request i scheduled at start + i / rate and sent then whether or not earlier ones were answered,
        // over kept-alive NIO connections; latency counted from the scheduled time, so a stalled node is
        // not hidden by a stalled generator, and a request waiting for a free connection waits on the clock).
        // (CAIRN_BENCH_PACED_RATE: a fixed rate instead, so that runs on a shared machine compare;
        // CAIRN_BENCH_PACED_CONNECTIONS: the connections, 128 by default.)
        //
        // The rate is 80% of a short closed loop's, run right before the paced load, not of the window
        // above: a few minutes later the node's tables hold some 400,000 more transactions, and this
        // machine's speed drifts by half within minutes. Eighty per cent of the first window's rate
        // was at times more than the node could take by then (scheduled at 3,706/s, answered at
        // 2,754/s), and the latency measured was a queue's growth, not the node's at 80%.
        let target: Double
        if let fixed = environment["CAIRN_BENCH_PACED_RATE"].flatMap(Double.init) {
            target = fixed
        } else {
            let calibrationSeconds = min(10, max(3, seconds / 6))
            let calibration = await PresignedFlood(node: node, roots: calibrationCoins, total: Int(8_000 * calibrationSeconds), fee: fee,
                                                   chainDepth: chainDepth, cores: Int(cores))
            let calibrationStart = clock.now
            try await calibration.send(host: "127.0.0.1", port: Endpoints.defaultHTTPPort + node.offset, connections: closedConnections,
                                       until: calibrationStart + .milliseconds(Int(calibrationSeconds * 1000)))
            let calibrationElapsed = (clock.now - calibrationStart).seconds
            let calibrated = Double(calibration.accepted.load(ordering: .relaxed)) / calibrationElapsed
            target = max(10, calibrated * 0.8)
            table.row("POST /api/tx accepted right before the paced load, \(Int(calibrationElapsed.rounded())) s (tx/s)", calibrated, rate,
                      note: "the \(Int(elapsed.rounded())) s window above")
            print("  rate before the paced load: \(calibration.accepted.load(ordering: .relaxed)) accepted, \(calibration.refused.load(ordering: .relaxed)) refused in \(String(format2: calibrationElapsed)) s over \(closedConnections) connections (\(Int(calibrated)) tx/s; the paced load runs at 80% of it)")
        }
        let connections = environment["CAIRN_BENCH_PACED_CONNECTIONS"].flatMap(Int.init).map { max(1, $0) } ?? 128
        var pacedSeconds = max(10, seconds / 3)
        let total = min(Int(target * pacedSeconds), pacedCoins.count * chainDepth)
        pacedSeconds = Double(total) / target
        let chains = min(pacedCoins.count, max(1, total))
        // Signed before the window on every core, as the closed loop's: request i is chain i % chains, step i / chains.
        let pacedSigned = await PresignedFlood(node: node, roots: Array(pacedCoins.prefix(chains)), total: total, fee: fee,
                                               chainDepth: chainDepth, cores: Int(cores))
        var bodies = [ByteBuffer]()
        bodies.reserveCapacity(total)
        var step = 0
        while bodies.count < total {
            for c in 0..<chains where bodies.count < total && step < pacedSigned.bodies[c].count { bodies.append(pacedSigned.bodies[c][step]) }
            step += 1
        }
        let pacedWallStart = Date().timeIntervalSince1970
        let pacedCPUBefore = ProcessCPU.seconds()
        let pacedNodeBefore = CPUSample.take(node: node)
        async let pacedReads = readProbes(node: node, until: clock.now + .milliseconds(100 + Int(pacedSeconds * 1000)))
        let paced = try await PacedFlood(bodies: bodies, rate: target)
            .run(host: "127.0.0.1", port: Endpoints.defaultHTTPPort + node.offset, connections: connections)
        let pacedCPUAfter = ProcessCPU.seconds()
        let pacedNodeAfter = CPUSample.take(node: node)
        let acks = Latencies(paced.latencies)
        let achieved = Double(acks.count) / (Double((paced.end - paced.start).nanoseconds) / 1e9)
        table.row("acknowledgement p50 at 80% of the rate before it (ms)", acks.ms(0.5), nil)
        table.row("acknowledgement p99 at 80% of the rate before it (ms; aim ≤ 20)", acks.ms(0.99), nil)
        print("  paced load: \(bodies.count) scheduled at \(Int(target)) tx/s over \(String(format2: pacedSeconds)) s on \(connections) kept-alive connections, sent at \(Int(paced.sendRate.rounded())) tx/s, \(acks.count) acknowledged (\(Int(achieved)) tx/s), \(paced.refused) refused, \(paced.unanswered) unanswered")
        print("  paced acknowledgement (from the scheduled time): p50 \(String(format2: acks.ms(0.5))) ms, p90 \(String(format2: acks.ms(0.9))) ms, p99 \(String(format2: acks.ms(0.99))) ms, max \(String(format2: acks.ms(1))) ms")
        let lags = Latencies(paced.sendLags)
        print("  paced sends behind schedule: p50 \(String(format2: lags.ms(0.5))) ms, p99 \(String(format2: lags.ms(0.99))) ms, max \(String(format2: lags.ms(1))) ms; \(paced.waited) waited for a free connection, \(paced.connectionsLost) connections closed")
        if let pacedCPUBefore, let pacedCPUAfter, paced.sent > 0 {
            print("  paced load generator: \(String(format2: (pacedCPUAfter - pacedCPUBefore) / Double(paced.sent) * 1e6)) µs of CPU per transaction sent (signing done before the window; the read probes included)")
        }
        CPUSample.report("paced load", before: pacedNodeBefore, after: pacedNodeAfter, accepted: acks.count, cores: Int(cores))
        print("  paced load from t=\(String(format: "%.1f", pacedWallStart)) to t=\(String(format: "%.1f", Date().timeIntervalSince1970)) (Unix seconds)")
        let readsPaced = await pacedReads
        for (name, path) in [("GET /api/blocks/tip/height", "/api/blocks/tip/height"), ("GET /api/mempool", "/api/mempool")] {
            let during = Latencies(readsPaced[path] ?? [])
            print("  \(name) during the paced load: p50 \(String(format2: during.ms(0.5))) ms, p99 \(String(format2: during.ms(0.99))) ms (\(during.count) reads)")
        }
    }

    /// Timed GETs of the tip route and /api/mempool, one after the other, about 25 a second each, until `deadline`.
    static func readProbes(node: BenchNode, until deadline: ContinuousClock.Instant) async -> [String: [Double]] {
        let clock = ContinuousClock()
        var out = [String: [Double]]()
        while clock.now < deadline {
            for path in ["/api/blocks/tip/height", "/api/mempool"] {
                let t = clock.now
                if await node.probe(path) { out[path, default: []].append((clock.now - t).seconds) }
            }
            try? await Task.sleep(for: .milliseconds(40))
        }
        return out
    }

    /// `count` confirmed coins of `value` for the bench's key: fan-out transactions of up to 12,000
    /// outputs from mature coinbases, two to a block of the bench's own.
    static func fanOut(node: BenchNode, wallet: inout CoinbaseWallet, count: Int, value: Amount,
                       to publicKey: [UInt8]? = nil) async throws -> [(OutPoint, TxOutput)] {
        var coins = [(OutPoint, TxOutput)]()
        var pending = [Transaction]()
        var left = count
        while left > 0 {
            let n = min(12_000, left)
            let (op, out) = try await wallet.take(node)
            guard Amount(n) * value < out.value else { throw NodeBench.BenchError(message: "a coinbase of \(out.value) cannot fund \(n) × \(value)") }
            let output = TxOutput(value: value, publicKey: publicKey ?? node.pub)
            let tx = node.spend(op, out, to: [TxOutput](repeating: output, count: n) + [TxOutput(value: out.value - Amount(n) * value, publicKey: node.pub)])
            coins += (0..<n).map { (OutPoint(txid: tx.txid, index: UInt32($0)), output) }
            pending.append(tx)
            left -= n
            if pending.count == 2 {
                try await wallet.mine(node, pending)
                pending = []
            }
        }
        if !pending.isEmpty { try await wallet.mine(node, pending) }
        return coins
    }
}
