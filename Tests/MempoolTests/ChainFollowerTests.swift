import ChainCore
import NodeKit
import Testing
import TestSupport
@testable import Mempool

/// The chain follower's own decisions and bookkeeping, without a pool or a chain.
@Suite("Chain follower")
struct ChainFollowerTests {
    typealias G = PoolGraphTests

    static func block(_ txs: [Transaction]) -> Block {
        let coinbase = ChainFixtures.coinbase(height: 1, outputs: [TestWallet().output(5_000)])
        return ChainFixtures.block(parent: ChainParams.regtest.genesis.header, transactions: [coinbase] + txs, mine: false)
    }

    @Test("a connected block: what it includes, and what spends the coins its transactions spend")
    func effectsOfABlock() {
        var g = PoolGraph()
        let mine = G.entry([G.coin(1)], tag: 1)
        let child = G.entry([G.out(mine, 0)], tag: 2)
        let rival = G.entry([G.coin(2)], tag: 3)
        let bystander = G.entry([G.coin(3)], tag: 4)
        for e in [mine, child, rival, bystander] { g.insert(e) }
        // the block holds `mine` and another spend of coin 2
        let other = G.entry([G.coin(2)], tag: 9)
        let (included, conflicts) = ChainFollower.effects(of: Self.block([mine.tx, other.tx]), on: g)
        #expect(included == [mine.txid])
        #expect(conflicts == [rival.txid])
        #expect(ChainFollower.effects(of: Self.block([]), on: g) == ([], []))
    }

    @Test("a refusal during re-admission: wait, try later in the pass, kept, mined or invalid")
    func outcomes() {
        func of(_ code: String) -> ChainFollower.Outcome { ChainFollower.outcome(of: Pool.Refusal(code: code, message: "")) }
        #expect(of("chain-unavailable") == .unchecked)
        #expect(of("bad-txns-inputs-missingorspent") == .laterInPass)
        #expect(of("txn-already-in-mempool") == .alreadyHere)
        #expect(of("txn-already-known") == .mined)
        #expect(of("txn-mempool-conflict") == .invalid)
        #expect(of("bad-txns-signature") == .invalid)
    }

    @Test("disconnected blocks return oldest first; deferred reloads oldest first; both count as waiting")
    func bookkeeping() {
        var f = ChainFollower()
        let a = G.entry([G.coin(1)], tag: 1), b = G.entry([G.coin(2)], tag: 2)
        // a reorg disconnects the newest block first
        f.disconnected(Self.block([b.tx]))
        f.disconnected(Self.block([a.tx]))
        let late = G.entry([G.coin(3)], time: 9, tag: 3), early = G.entry([G.coin(4)], time: 2, tag: 4)
        f.deferred = [late.txid: late, early.txid: early]
        #expect(f.waiting == [a.txid, b.txid, late.txid, early.txid])
        let back = f.takeReturning(now: 7)
        #expect(back.map(\.txid) == [a.txid, b.txid])
        #expect(back.allSatisfy { $0.time == 7 && $0.raw == $0.tx.encoded })
        #expect(f.returning.isEmpty)
        #expect(f.takeDeferred().map(\.txid) == [early.txid, late.txid])
        #expect(f.waiting.isEmpty)
    }

    @Test("a reorg's revalidation waits until the pool has followed the stream to the chain store's tip, a bounded number of times")
    func revalidationWaitsForTheStream() {
        var f = ChainFollower()
        let a = Hash256(bytes: [UInt8](repeating: 1, count: 32)), b = Hash256(bytes: [UInt8](repeating: 2, count: 32))
        func tip(_ h: Hash256) -> ChainTip { ChainTip(height: 5, hash: h.hex, time: 0, nextBits: 0, medianTimePast: 0) }
        // nothing followed yet (a fresh start): nothing to wait for
        var waits = f.shouldWaitForStream(tip: tip(a))
        #expect(!waits)
        f.followed = a
        waits = f.shouldWaitForStream(tip: tip(a))
        #expect(!waits)
        // the chain store is ahead of what the pool followed: wait, at most maxStreamWaits times
        var count = 0
        while f.shouldWaitForStream(tip: tip(b)) && count <= ChainFollower.maxStreamWaits { count += 1 }
        #expect(count == ChainFollower.maxStreamWaits)
        // and the count starts again for the next reorg
        waits = f.shouldWaitForStream(tip: tip(b))
        #expect(waits)
    }

    @Test("a submission touching a transaction that is coming back from a disconnected block: it, its child, a rival spend")
    func submissionsTouchingTheReturning() {
        var f = ChainFollower()
        let back = G.entry([G.coin(1)], tag: 1)
        let child = G.entry([G.out(back, 0)], tag: 2)
        let rival = G.entry([G.coin(1)], tag: 3)
        let bystander = G.entry([G.coin(2)], tag: 4)
        #expect(!f.touchesReturning(rival.tx, txid: rival.txid))
        f.disconnected(Self.block([back.tx]))
        #expect(f.touchesReturning(back.tx, txid: back.txid))
        #expect(f.touchesReturning(child.tx, txid: child.txid))
        #expect(f.touchesReturning(rival.tx, txid: rival.txid))
        #expect(!f.touchesReturning(bystander.tx, txid: bystander.txid))
        _ = f.takeReturning(now: 0)
        #expect(!f.touchesReturning(rival.tx, txid: rival.txid))
    }
}
