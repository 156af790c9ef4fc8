import ChainCore
import Foundation
import NodeKit
import Testing
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
}
