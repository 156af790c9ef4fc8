import ChainCore
import Testing
@testable import Mempool

/// The pool's graph alone: links, the spend index, walks and fee-rate order, synchronously.
@Suite("Pool graph")
struct PoolGraphTests {
    /// A confirmed outpoint (not in any graph).
    static func coin(_ n: UInt8) -> OutPoint { OutPoint(txid: Hash256(bytes: [UInt8](repeating: n, count: 32)), index: 0) }

    /// An entry spending `inputs`, with two outputs, `fee` and `size` bytes; its parents are the
    /// txids of the inputs (the graph keeps those it holds).
    static func entry(_ inputs: [OutPoint], fee: Amount = 1_000, size: Int = 100, time: Double = 0, tag: UInt8 = 0) -> PoolEntry {
        let tx = Transaction(inputs: inputs.map { TxInput(previousOutput: $0, payload: [tag]) },
                             outputs: [TxOutput(value: 5_000, publicKey: [UInt8](repeating: tag, count: 32)),
                                       TxOutput(value: 5_000, publicKey: [UInt8](repeating: tag &+ 1, count: 32))])
        return PoolEntry(tx: tx, txid: tx.txid, raw: [UInt8](repeating: 0, count: size), fee: fee, spent: [], time: time,
                         parents: Set(inputs.map(\.txid)))
    }

    static func out(_ e: PoolEntry, _ i: UInt32) -> OutPoint { OutPoint(txid: e.txid, index: i) }

    @Test("insert links parents and children, indexes spends and counts bytes")
    func insertLinks() {
        var g = PoolGraph()
        let a = Self.entry([Self.coin(1)], size: 100, tag: 1)
        let b = Self.entry([Self.out(a, 0), Self.coin(2)], size: 150, tag: 2)
        g.insert(a)
        g.insert(b)
        #expect(g.count == 2 && g.bytes == 250 && g.totalFee == 2_000)
        #expect(g[a.txid]?.children == [b.txid])
        // the confirmed coin's txid is not a parent: only pool transactions are
        #expect(g[b.txid]?.parents == [a.txid])
        #expect(g.spender(of: Self.coin(1)) == a.txid)
        #expect(g.spender(of: Self.out(a, 0)) == b.txid)
        #expect(g.spender(of: Self.out(a, 1)) == nil)
        #expect(g.consistency().problems.isEmpty)
        #expect(Set(g.consistency().fromChain) == [Self.coin(1), Self.coin(2)])
    }

    @Test("remove unlinks both ways and frees the spends; children stay")
    func removeUnlinks() {
        var g = PoolGraph()
        let a = Self.entry([Self.coin(1)], tag: 1)
        let b = Self.entry([Self.out(a, 0)], tag: 2)
        g.insert(a)
        g.insert(b)
        #expect(g.remove(a.txid)?.txid == a.txid)
        #expect(g.remove(a.txid) == nil)
        #expect(!g.contains(a.txid) && g.contains(b.txid))
        #expect(g[b.txid]?.parents.isEmpty == true)
        #expect(g.spender(of: Self.coin(1)) == nil)
        #expect(g.bytes == 100)
        // b spends an output of a transaction not in the graph: the chain would have to hold it
        #expect(g.consistency().problems.isEmpty)
        #expect(g.consistency().fromChain == [Self.out(a, 0)])
        g.removeAll()
        #expect(g.isEmpty && g.bytes == 0 && g.spender(of: Self.out(a, 0)) == nil)
    }

    @Test("confirm leaves the children with a confirmed parent")
    func confirmUnlinksChildren() {
        var g = PoolGraph()
        let a = Self.entry([Self.coin(1)], tag: 1)
        let b = Self.entry([Self.out(a, 0)], tag: 2)
        g.insert(a)
        g.insert(b)
        g.confirm(a.txid)
        #expect(g[a.txid]?.children.isEmpty == true)
        #expect(g[b.txid]?.parents.isEmpty == true)
        // removing the confirmed one now leaves b alone
        g.remove(a.txid)
        #expect(g[b.txid]?.parents.isEmpty == true && g.count == 1)
    }

    @Test("ancestors and descendants walk the whole family, each once")
    func walks() {
        var g = PoolGraph()
        let a = Self.entry([Self.coin(1)], tag: 1)
        let b = Self.entry([Self.out(a, 0)], tag: 2)
        let c = Self.entry([Self.out(a, 1)], tag: 3)
        let d = Self.entry([Self.out(b, 0), Self.out(c, 0)], tag: 4)   // a diamond
        for e in [a, b, c, d] { g.insert(e) }
        let down = g.descendants(of: a.txid)
        #expect(down.first == a.txid && down.count == 4 && Set(down) == [a.txid, b.txid, c.txid, d.txid])
        #expect(g.descendants(of: d.txid) == [d.txid])
        #expect(g.ancestors(of: [b.txid, c.txid]) == [a.txid, b.txid, c.txid])
        #expect(g.ancestorCount(of: g[d.txid]!.parents) == 3)
        #expect(g.ancestorCount(of: []) == 0)
    }

    @Test("conflicts are the direct spenders of the same coins, in input order, each once")
    func conflicts() {
        var g = PoolGraph()
        let a = Self.entry([Self.coin(1), Self.coin(2)], tag: 1)
        let b = Self.entry([Self.coin(3)], tag: 2)
        g.insert(a)
        g.insert(b)
        let rival = Self.entry([Self.coin(3), Self.coin(2), Self.coin(1), Self.coin(9)], tag: 7)
        #expect(g.conflicts(of: rival.tx) == [b.txid, a.txid])
        #expect(g.conflicts(of: Self.entry([Self.coin(9)], tag: 8).tx).isEmpty)
    }

    @Test("fee-rate order: highest first; the lowest, leaving some out")
    func feeRateOrder() {
        var g = PoolGraph()
        let low = Self.entry([Self.coin(1)], fee: 100, size: 100, time: 3, tag: 1)     // 1/byte
        let mid = Self.entry([Self.coin(2)], fee: 500, size: 100, time: 1, tag: 2)     // 5/byte
        let high = Self.entry([Self.coin(3)], fee: 2_000, size: 200, time: 2, tag: 3)  // 10/byte
        for e in [low, mid, high] { g.insert(e) }
        #expect(g.byFeeRate().map(\.txid) == [high.txid, mid.txid, low.txid])
        #expect(g.byTime().map(\.txid) == [mid.txid, high.txid, low.txid])
        #expect(g.lowestFeeRate()?.txid == low.txid)
        #expect(g.lowestFeeRate(excluding: [low.txid])?.txid == mid.txid)
        #expect(g.lowestFeeRate(excluding: [low.txid, mid.txid, high.txid]) == nil)
    }

    @Test("the consistency check names a broken link")
    func consistencyFindsBrokenLinks() {
        var g = PoolGraph()
        let a = Self.entry([Self.coin(1)], tag: 1)
        // b claims a parent that does not list it (inserted before its parent: the link is dropped,
        // then the parent arrives without learning of its child)
        let b = Self.entry([Self.out(a, 0)], tag: 2)
        g.insert(b)
        g.insert(a)
        let problems = g.consistency().problems
        #expect(problems.contains { $0.contains("parent \(a.txid.hex) not linked") })
    }
}
