import ChainCore
import Foundation
import NodeKit
import Synchronization
import Testing
import TestSupport
@testable import Mempool

/// Block assembly and the miner registry, apart from the pool actor.
@Suite("Block assembly")
struct BlockAssemblerTests {
    static func entry(_ n: UInt8, fee: Amount, size: Int, parents: [Hash256] = []) -> PoolEntry {
        let tx = Transaction(inputs: [TxInput(previousOutput: .null, payload: [n])],
                             outputs: [TxOutput(value: 1, publicKey: [UInt8](repeating: n, count: 32))])
        return PoolEntry(tx: tx, txid: Hash256(bytes: [UInt8](repeating: n, count: 32)), raw: [UInt8](repeating: 0, count: size),
                         fee: fee, spent: [], time: 0, parents: Set(parents))
    }

    @Test("highest fee rate first, a child only after its parent, within the size limit")
    func selection() {
        let parent = Self.entry(1, fee: 100, size: 100)            // 1 per byte
        let child = Self.entry(2, fee: 1_000, size: 100, parents: [parent.txid])   // 10 per byte, needs its parent
        let rich = Self.entry(3, fee: 500, size: 100)               // 5 per byte
        let huge = Self.entry(4, fee: 1_000_000, size: 5_000)      // best rate, too large for the small block below
        let (chosen, fees) = BlockAssembler.select([parent, child, rich, huge],
                                                   maxBlockSize: BlockAssembler.reserved + 300)
        #expect(chosen.map(\.txid) == [rich.txid, parent.txid, child.txid])
        #expect(fees == 1_600)
        let all = BlockAssembler.select([parent, child, rich, huge])
        #expect(all.chosen.map(\.txid) == [huge.txid, rich.txid, parent.txid, child.txid])
        // An orphaned child (its parent absent) is never chosen.
        #expect(BlockAssembler.select([child]).chosen.isEmpty)
    }

    @Test("the registry lists miners seen lately, sorted, and stays bounded")
    func registry() {
        var r = MinerRegistry()
        r.seen(TemplateRequest(minerID: "b", address: "x", hashrate: 1, threads: 1), at: 100)
        r.seen(TemplateRequest(minerID: "a", address: "x", hashrate: 2, threads: 1), at: 150)
        #expect(r.active(within: 60, now: 170).map(\.id) == ["a"])
        #expect(r.active(within: 100, now: 170).map(\.id) == ["a", "b"])
        for i in 0..<1_001 { r.seen(TemplateRequest(minerID: "m\(i)", address: "x", hashrate: 0, threads: 1), at: 1_000) }
        #expect(r.active(within: 10_000, now: 1_000).count == 1_001)   // the old ones were dropped past 1,000
        #expect(!r.active(within: 10_000, now: 1_000).contains { $0.id == "a" })
    }

    static let tip = ChainTip(height: 9, hash: String(repeating: "ab", count: 32), time: 1_000, nextBits: ChainParams.regtest.powLimitBits,
                              medianTimePast: 900)

    static func snapshot(_ entries: [PoolEntry], sequence: UInt64 = 7) -> MiningSnapshot {
        var g = PoolGraph()
        for e in entries { g.insert(e) }
        return MiningSnapshot(graph: g, sequence: sequence, tip: tip)
    }

    @Test("a template from a snapshot: the next height, the tip's fields, the fees in the coinbase, the snapshot's sequence")
    func templateFromSnapshot() {
        let a = PoolGraphTests.entry([PoolGraphTests.coin(1)], fee: 1_000, size: 100, tag: 1)
        let b = PoolGraphTests.entry([PoolGraphTests.coin(2)], fee: 5_000, size: 100, tag: 2)
        let (t, chosen) = BlockAssembler.template(from: Self.snapshot([a, b]), pace: .running, params: .regtest, now: 800)
        #expect(chosen.map(\.txid) == [b.txid, a.txid])
        #expect(t.height == 10 && t.previousHash == Self.tip.hash && t.bits == Self.tip.nextBits)
        #expect(t.time == 901 && t.minTime == 901)   // the clock behind the median time past: just after it
        #expect(t.fees == 6_000 && t.coinbaseValue == ChainParams.regtest.subsidy(height: 10) + 6_000)
        #expect(t.txids == [b.txid.hex, a.txid.hex] && t.transactions == [Hex.encode(b.raw), Hex.encode(a.raw)])
        #expect(t.mempoolSequence == 7)
        #expect(BlockAssembler.template(from: Self.snapshot([a]), pace: .running, params: .regtest, now: 5_000).template.time == 5_000)
    }

    /// A source that is not a pool: what the generator reads and tells.
    final class FakeSource: TxSource {
        let entries: [PoolEntry]
        let told = Mutex<[String]>([])
        init(_ entries: [PoolEntry]) { self.entries = entries }
        func miningSnapshot() async throws -> MiningSnapshot { BlockAssemblerTests.snapshot(entries) }
        func didTemplate(_ txids: [Hash256], height: Int, minerID: String) async {
            told.withLock { $0.append("\(height) \(minerID) \(txids.map(\.hex).joined(separator: ","))") }
        }
    }

    @Test("the generator reads a TxSource, tells it what it put in, and keeps the miners")
    func generatorOverASource() async throws {
        let a = PoolGraphTests.entry([PoolGraphTests.coin(1)], tag: 1)
        let source = FakeSource([a])
        let generator = TemplateGenerator(source: source, params: .regtest)
        let t = try await generator.template(for: TemplateRequest(minerID: "m1", address: "x", hashrate: 1, threads: 1))
        #expect(t.txids == [a.txid.hex])
        #expect(source.told.withLock { $0 } == ["10 m1 \(a.txid.hex)"])
        #expect(await generator.activeMiners().map(\.id) == ["m1"])
        // an empty pool: nothing to tell
        let empty = FakeSource([])
        _ = try await TemplateGenerator(source: empty, params: .regtest).template(for: TemplateRequest(minerID: "m2", address: "x", hashrate: 1, threads: 1))
        #expect(empty.told.withLock { $0 }.isEmpty)
    }

    /// A source whose snapshot waits until the test lets it go, its state unchanged throughout.
    final class GatedSource: TxSource {
        let entries: [PoolEntry]
        let snapshots = Mutex(0)
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let open = Mutex(false)
        init(_ entries: [PoolEntry]) { self.entries = entries }
        func templateState() async throws -> TemplateState? { TemplateState(changes: 1, tipHash: BlockAssemblerTests.tip.hash) }
        func miningSnapshot() async throws -> MiningSnapshot {
            snapshots.withLock { $0 += 1 }
            await withCheckedContinuation { c in
                let go = open.withLock { isOpen in
                    if !isOpen { gate.withLock { $0 = c } }
                    return isOpen
                }
                if go { c.resume() }
            }
            return BlockAssemblerTests.snapshot(entries)
        }
        func release() {
            let c = open.withLock { isOpen in
                isOpen = true
                return gate.withLock { g in defer { g = nil }; return g }
            }
            c?.resume()
        }
        func didTemplate(_ txids: [Hash256], height: Int, minerID: String) async {}
    }

    @Test("a request while a template is being made for the same state waits for it: one selection for both")
    func concurrentRequestsShareOneTemplate() async throws {
        let a = PoolGraphTests.entry([PoolGraphTests.coin(1)], tag: 1)
        let source = GatedSource([a])
        let generator = TemplateGenerator(source: source, params: .regtest)
        try await withHangGuard("concurrent template requests") {
            let first = Task { try await generator.template(for: TemplateRequest(minerID: "m1", address: "x", hashrate: 1, threads: 1)) }
            try await waitUntil("the first request is making its template", every: 0.01) { source.snapshots.withLock { $0 } == 1 }
            let second = Task { try await generator.template(for: TemplateRequest(minerID: "m2", address: "x", hashrate: 1, threads: 1)) }
            try await waitUntil("the second request waits for the first's template", every: 0.01) { await generator.joined == 1 }
            source.release()
            var (t1, t2) = (try await first.value, try await second.value)
            t2.time = t1.time
            #expect(t1 == t2 && t1.txids == [a.txid.hex])
        }
        #expect(source.snapshots.withLock { $0 } == 1)
        #expect(await generator.made == 1)
        #expect(await generator.reused == 1)
        #expect(await generator.activeMiners().map(\.id) == ["m1", "m2"])
    }
}
