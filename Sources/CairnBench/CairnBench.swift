import Bus
import ChainCore
import CRawSHA
import Crypto
import Dispatch
import Foundation
import Synchronization

/// `cairn-bench`: prints Cairn's speed figures next to the raw limits measured
/// in the same run on the same machine. Figures, not tests: nothing here fails
/// on a slow machine.
@main
struct CairnBench {
    static func main() async {
        do {
            try await run()
        } catch {
            FileHandle.standardError.write(Data("cairn-bench: \(error)\n".utf8))
            exit(1)
        }
    }

    /// The node's binaries `cairn up` starts, which the node and network figures need next to this one.
    static let nodeBinaries = ["cairn", "cairn-chainstore", "cairn-mempool", "cairn-accounts", "cairn-edge", "cairn-miner",
                               "cairn-peerbridge", "cairn-walletfront"]

    /// Refuses, naming them, when a binary the node figures start is missing (before any figure is measured).
    static func requireNodeBinaries() throws {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let missing = nodeBinaries.filter { !FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent($0).path) }
        guard missing.isEmpty else {
            throw NodeBench.BenchError(message: "the node figures start \(missing.joined(separator: ", ")), missing from \(bin.path) "
                + "(build them all: swift build -c release)")
        }
    }

    static func run() async throws {
        let args = Array(CommandLine.arguments.dropFirst())
        func value(_ flag: String) -> String? { args.firstIndex(of: flag).flatMap { args.indices.contains($0 + 1) ? args[$0 + 1] : nil } }
        func sizes(_ flag: String) -> [Int]? { value(flag).map { $0.split(separator: ",").compactMap { Int($0) } } }
        let seconds = args.first.flatMap(Double.init) ?? 2.0
        let node = args.contains("--node")
        let net = args.contains("--net")
        let netBlocks = value("--net-blocks").flatMap(Int.init) ?? 1000
        let txSeconds = value("--tx-seconds").flatMap(Double.init) ?? 60
        var parts = NodeBench.Parts()
        parts.txOnly = ProcessInfo.processInfo.environment["CAIRN_BENCH_TX_ONLY"] == "1"
        if let s = sizes("--pool-sizes") { parts.poolSizes = s }
        if let s = sizes("--utxo-sizes") { parts.utxoSizes = s }
        if let b = value("--utxo-budget").flatMap(Double.init) { parts.utxoBudget = b }
        if let b = value("--pool-budget").flatMap(Double.init) { parts.poolBudget = b }
        if let o = value("--out") { parts.out = URL(fileURLWithPath: o) }
        if node || net || args.contains("--edge-only") || args.contains("--flood-only") || args.contains("--growth-only") {
            try requireNodeBinaries()
        }
        if args.contains("--edge-only") {
            // Only the edge's HTTP figures (wrk against a node): no micro figures, no transaction stream.
            print("Cairn benchmarks: the edge's HTTP figures only\nstarting a node…")
            var table = Table(columns: ["figure", "value", "raw limit", "ratio"])
            parts.flood = false; parts.growth = false
            try await NodeBench.run(&table, verifyRate: 0, txSeconds: 0, parts: parts)
            table.print()
            return
        }
        let floodOnly = args.contains("--flood-only"), growthOnly = args.contains("--growth-only")
        if floodOnly || growthOnly {
            // One part of the node figures, with the Ed25519 rate its ratios need (measured first, 1 s each).
            print("Cairn benchmarks: the \(floodOnly ? "flood" : "growth") figures only (\(SignatureBatch.defaultParallelism) cores)\n")
            var table = Table(columns: ["figure", "value", "raw limit", "ratio"])
            let verifyRate = await signatures(&table, seconds: 1)
            parts.flood = floodOnly; parts.growth = growthOnly; parts.edge = false
            print("starting a node…")
            try await NodeBench.run(&table, verifyRate: verifyRate, txSeconds: txSeconds, parts: parts)
            table.print()
            return
        }
        print("Cairn benchmarks (\(SignatureBatch.defaultParallelism) cores, ~\(seconds) s per figure)\n")
        var table = Table(columns: ["figure", "value", "raw limit", "ratio"])
        hashing(&table, seconds: seconds)
        let verifyRate = await signatures(&table, seconds: seconds)
        try await blockConnection(&table, verifyRate: verifyRate)
        try await bus(&table)
        if node {
            print("starting a node for the end-to-end figures…")
            if parts.txOnly { parts.edge = false; parts.growth = false }
            try await NodeBench.run(&table, verifyRate: verifyRate, txSeconds: txSeconds, parts: parts)
        }
        if net {
            print("starting nodes for the network figures…")
            try await NetBench.run(&table, blocks: netBlocks)
        }
        table.print()
    }
}
