import Bus
import ChainCore
import CRawSHA
import Crypto
import Dispatch
import Foundation
import Synchronization

/// The raw limits the figures are compared against, measured in the same run: header hashing
/// (Swift against plain C), Ed25519 signing and verification, block connection in process, and
/// the bus's own request and event rates.
extension CairnBench {
    // MARK: header hashing

    static func hashing(_ table: inout Table, seconds: Double) {
        let header = BlockHeader(version: 1, previousHash: Hash256.sha256d([1]), merkleRoot: Hash256.sha256d([2]),
                                 time: 1_795_564_800, bits: 0x1d00_ffff, nonce: 0)
        let impossible = Hash256.zero   // no nonce meets it: every hash is computed
        let chunk: UInt32 = 1 << 20
        let ours = rate(seconds: seconds) { i in
            var hasher = HeaderHasher(header: header)
            _ = hasher.scan(from: UInt32(truncatingIfNeeded: i) &* chunk, count: chunk, target: impossible)
            return Double(chunk)
        }
        let bytes = header.encoded
        let raw = rate(seconds: seconds) { i in
            _ = cairn_raw_sha256d_scan(bytes, UInt32(truncatingIfNeeded: i) &* chunk, chunk)
            return Double(chunk)
        }
        let naiveChunk = 1 << 16
        let naive = rate(seconds: seconds) { i in
            var h = header
            for n in 0..<naiveChunk { h.nonce = UInt32(n + i); _ = h.hash }
            return Double(naiveChunk)
        }
        table.row("miner hashing, midstate, 1 thread (MH/s)", ours / 1e6, raw / 1e6)
        let ours2 = parallelRate(threads: 2, seconds: seconds) { i in
            var hasher = HeaderHasher(header: header)
            _ = hasher.scan(from: UInt32(truncatingIfNeeded: i) &* chunk, count: chunk, target: impossible)
            return Double(chunk)
        }
        let raw2 = parallelRate(threads: 2, seconds: seconds) { i in
            _ = cairn_raw_sha256d_scan(bytes, UInt32(truncatingIfNeeded: i) &* chunk, chunk)
            return Double(chunk)
        }
        table.row("miner hashing, midstate, 2 threads (MH/s)", ours2 / 1e6, raw2 / 1e6)
        table.row("  2 threads vs 1 thread (speed-up, ×100)", ours2 / ours * 100, nil)
        table.row("header SHA-256d, swift-crypto per header (MH/s)", naive / 1e6, raw / 1e6)
    }

    /// Runs `body` on `threads` OS threads at once for about `seconds`; total units per second.
    static func parallelRate(threads: Int, seconds: Double, _ body: @escaping @Sendable (Int) -> Double) -> Double {
        let totals = Mutex<[Double]>([])
        let group = DispatchGroup()
        for t in 0..<threads {
            group.enter()
            Thread {
                let r = rate(seconds: seconds) { i in body(i * threads + t) }
                totals.withLock { $0.append(r) }
                group.leave()
            }.start()
        }
        group.wait()
        return totals.withLock { $0.reduce(0, +) }
    }

    // MARK: Ed25519

    /// 2,048 signatures of one key over distinct messages.
    static func signedChecks() -> (Curve25519.Signing.PublicKey, [SignatureCheck]) {
        let key = Curve25519.Signing.PrivateKey()
        let publicKey = key.publicKey
        let checks: [SignatureCheck] = (0..<2048).map { i in
            let message = Hash256.sha256d([UInt8(i & 0xff), UInt8(i >> 8)])
            return SignatureCheck(publicKey: Array(publicKey.rawRepresentation), message: message,
                                  signature: Array(try! key.signature(for: message.bytes)), txIndex: i, inputIndex: 0)
        }
        return (publicKey, checks)
    }

    /// The raw rate, one core: swift-crypto's verify in a plain loop, key parsed once.
    static func rawVerifyRate(seconds: Double, publicKey: Curve25519.Signing.PublicKey, checks: [SignatureCheck]) -> Double {
        let signatures = checks.map(\.signature)
        let messages = checks.map(\.message.bytes)
        return rate(seconds: seconds) { _ in
            var ok = 0
            for i in 0..<checks.count where publicKey.isValidSignature(signatures[i], for: messages[i]) { ok += 1 }
            precondition(ok == checks.count)
            return Double(checks.count)
        }
    }

    @discardableResult
    static func signatures(_ table: inout Table, seconds: Double) async -> Double {
        let (publicKey, checks) = signedChecks()
        let raw = rawVerifyRate(seconds: seconds, publicKey: publicKey, checks: checks)
        let serial = await asyncRate(seconds: seconds) {
            let bad = await SignatureBatch.firstFailure(checks, parallelism: 1)
            precondition(bad == nil)
            return Double(checks.count)
        }
        let parallel = await asyncRate(seconds: seconds) {
            let bad = await SignatureBatch.firstFailure(checks)
            precondition(bad == nil)
            return Double(checks.count)
        }
        let cores = Double(SignatureBatch.defaultParallelism)
        table.row("Ed25519 verify, serial (verifications/s)", serial, raw)
        table.row("Ed25519 verify, parallel (verifications/s)", parallel, raw * cores, note: "raw × \(Int(cores)) cores")
        return raw
    }

    // MARK: block connection

    /// Connects a block of 2,000 one-input transactions and reports signatures per second
    /// (the whole connect: lookups, amounts, sighashes and parallel verification).
    static func blockConnection(_ table: inout Table, verifyRate: Double) async throws {
        let params = ChainParams.regtest
        let key = Curve25519.Signing.PrivateKey()
        let pub = Array(key.publicKey.rawRepresentation)
        let n = 2_000
        var view = MemoryCoinView()
        let funding = Hash256.sha256d([42])
        for i in 0..<n {
            view.coins[OutPoint(txid: funding, index: UInt32(i))] = Coin(output: TxOutput(value: 100_000, publicKey: pub), height: 1, isCoinbase: false)
        }
        var txs = [Transaction]()
        for i in 0..<n {
            let spent = TxOutput(value: 100_000, publicKey: pub)
            var tx = Transaction(inputs: [TxInput(previousOutput: OutPoint(txid: funding, index: UInt32(i)), payload: [])],
                                 outputs: [TxOutput(value: 99_000, publicKey: pub)])
            let sig = Array(try key.signature(for: Sighash.compute(tx, spent: [spent], params: params).bytes))
            tx.inputs[0].payload = sig
            txs.append(tx)
        }
        let height = 200
        let cbPayload: [UInt8] = [UInt8(height), 0, 0, 0]
        let cb = Transaction(inputs: [TxInput(previousOutput: .null, payload: cbPayload)],
                             outputs: [TxOutput(value: params.subsidy(height: height), publicKey: pub)])
        let all = [cb] + txs
        let block = Block(header: BlockHeader(version: 1, previousHash: .zero, merkleRoot: Merkle.root(all.map(\.txid)).root,
                                              time: 0, bits: params.powLimitBits, nonce: 0), transactions: all)
        let clock = ContinuousClock()
        var best = Double.infinity
        for _ in 0..<3 {
            let start = clock.now
            _ = try await BlockRules.connect(block, height: height, view: view, params: params)
            best = min(best, (clock.now - start).seconds)
        }
        let cores = Double(SignatureBatch.defaultParallelism)
        table.row("block connection, 2,000 inputs (signatures/s)", Double(n) / best, verifyRate * cores, note: "raw × \(Int(cores)) cores")
    }

    // MARK: bus

    static func bus(_ table: inout Table) async throws {
        let throughput = try await BusBenchmark.throughput(messages: 200_000)
        table.row("bus PUB→SUB tcp loopback (messages/s)", throughput, nil)
        var latencies = try await BusBenchmark.roundTripLatencies(count: 5_000).map { $0.microseconds }
        latencies.sort()
        let p50 = latencies[latencies.count / 2]
        let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
        table.row("bus request/reply round trip p50 (µs)", p50, nil)
        table.row("bus request/reply round trip p99 (µs)", p99, nil)
        var events = try await BusBenchmark.publishLatencies(count: 5_000).map { $0.microseconds }
        events.sort()
        table.row("event latency publisher→subscriber p50 (µs)", events[events.count / 2], nil)
        table.row("event latency publisher→subscriber p99 (µs)", events[min(events.count - 1, events.count * 99 / 100)], nil)
    }

    // MARK: helpers

    /// Runs `body` repeatedly for about `seconds`; returns units per second.
    static func rate(seconds: Double, _ body: (Int) -> Double) -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        var units = 0.0, i = 0
        repeat {
            units += body(i)
            i += 1
        } while (clock.now - start).seconds < seconds
        return units / (clock.now - start).seconds
    }

    static func asyncRate(seconds: Double, _ body: () async -> Double) async -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        var units = 0.0
        repeat { units += await body() } while (clock.now - start).seconds < seconds
        return units / (clock.now - start).seconds
    }
}
