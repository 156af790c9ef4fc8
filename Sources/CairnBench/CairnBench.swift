import Bus
import ChainCore
import CRawSHA
import Crypto

/// `cairn-bench`: prints Cairn's speed figures next to the raw limits measured
/// in the same run on the same machine. Figures, not tests: nothing here fails
/// on a slow machine.
@main
struct CairnBench {
    static func main() async throws {
        let seconds = Double(CommandLine.arguments.dropFirst().first ?? "") ?? 2.0
        print("Cairn benchmarks (\(SignatureBatch.defaultParallelism) cores, ~\(seconds) s per figure)\n")
        var table = Table(columns: ["figure", "value", "raw limit", "ratio"])
        hashing(&table, seconds: seconds)
        await signatures(&table, seconds: seconds)
        try await bus(&table)
        table.print()
    }

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
        table.row("header SHA-256d, midstate, 1 thread (MH/s)", ours / 1e6, raw / 1e6)
        table.row("header SHA-256d, swift-crypto per header (MH/s)", naive / 1e6, raw / 1e6)
    }

    // MARK: Ed25519

    static func signatures(_ table: inout Table, seconds: Double) async {
        let key = Curve25519.Signing.PrivateKey()
        let publicKey = key.publicKey
        let checks: [SignatureCheck] = (0..<2048).map { i in
            let message = Hash256.sha256d([UInt8(i & 0xff), UInt8(i >> 8)])
            return SignatureCheck(publicKey: Array(publicKey.rawRepresentation), message: message,
                                  signature: Array(try! key.signature(for: message.bytes)), txIndex: i, inputIndex: 0)
        }
        let signatures = checks.map(\.signature)
        let messages = checks.map(\.message.bytes)
        // the raw rate: swift-crypto's verify in a plain loop, key parsed once
        let raw = rate(seconds: seconds) { _ in
            var ok = 0
            for i in 0..<checks.count where publicKey.isValidSignature(signatures[i], for: messages[i]) { ok += 1 }
            precondition(ok == checks.count)
            return Double(checks.count)
        }
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

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
    var microseconds: Double { seconds * 1e6 }
}

struct Table {
    let columns: [String]
    var rows: [[String]] = []

    init(columns: [String]) { self.columns = columns }

    mutating func row(_ name: String, _ value: Double, _ raw: Double?, note: String? = nil) {
        rows.append([name, format(value),
                     raw.map { format($0) + (note.map { " (\($0))" } ?? "") } ?? "—",
                     raw.map { String(format2: value / $0 * 100) + " %" } ?? "—"])
    }

    func format(_ v: Double) -> String { v >= 100 ? String(Int(v.rounded())) : String(format2: v) }

    func print() {
        let widths = columns.indices.map { c in ([columns[c]] + rows.map { $0[c] }).map(\.count).max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: " | ")
        }
        Swift.print(line(columns))
        Swift.print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-"))
        for r in rows { Swift.print(line(r)) }
    }
}

extension String {
    init(format2 v: Double) {
        let scaled = (v * 100).rounded()
        let whole = Int(scaled / 100)
        let frac = Int(abs(scaled).truncatingRemainder(dividingBy: 100))
        self = "\(whole)." + (frac < 10 ? "0" : "") + "\(frac)"
    }

    func padding(toLength n: Int, withPad: String, startingAt: Int) -> String {
        count >= n ? self : self + String(repeating: " ", count: n - count)
    }
}
