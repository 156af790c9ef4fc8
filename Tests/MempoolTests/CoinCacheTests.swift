import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport
@testable import Mempool

/// The mempool's coin view: alone against an in-memory UTXO set, then in the pool.
@Suite("Coin cache (the coin view)")
struct CoinCacheTests {
    @Test("disabled, it answers nothing and keeps nothing")
    func disabled() {
        var v = CoinCache()
        let op = PoolGraphTests.coin(1)
        v.remember([op: Coin(output: TxOutput(value: 5, publicKey: [1]), height: 1, isCoinbase: false)])
        #expect(v.count == 0)
        let (found, missing) = v.lookup([op])
        #expect(found.isEmpty && missing == [op])
    }

    @Test("it follows connected and disconnected blocks as the chain's UTXO set does")
    func followsBlocks() async throws {
        let wallet = TestWallet()
        let (blocks, start) = try await ChainFixtures.chain(ChainParams.regtest.coinbaseMaturity + 3, paying: wallet)
        var chain = start
        var v = CoinCache()
        v.enable()
        // what the chain store answered for two coinbases
        let a = OutPoint(txid: blocks[1].transactions[0].txid, index: 0), b = OutPoint(txid: blocks[2].transactions[0].txid, index: 0)
        v.remember([a: chain.coin(a)!, b: chain.coin(b)!])
        // a block spending `a`, and in it a child spending its parent's change
        let pay = wallet.spend([(a, chain.coin(a)!.output)], to: [wallet.output(Units.perCoin), wallet.output(chain.coin(a)!.output.value - Units.perCoin - 1_000)])
        let child = wallet.spend([(OutPoint(txid: pay.txid, index: 1), pay.outputs[1])], to: [wallet.output(pay.outputs[1].value - 1_000)])
        let height = blocks.count
        let block = ChainFixtures.next(after: blocks.last!.header, height: height, paying: wallet, transactions: [pay, child], fees: 2_000)
        let connection = try await BlockRules.connect(block, height: height, view: chain, params: .regtest)
        chain.apply(connection)
        v.connected(block, height: height)
        func agrees() -> Bool { v.coins.allSatisfy { chain.coin($0.key) == $0.value } }
        #expect(agrees())
        #expect(v.lookup([a]).missing == [a])                                   // spent by the block
        #expect(v.lookup([OutPoint(txid: pay.txid, index: 1)]).missing.count == 1)   // created and spent in it
        #expect(v.lookup([OutPoint(txid: pay.txid, index: 0), OutPoint(txid: child.txid, index: 0), b]).missing.isEmpty)
        #expect(v.coins[OutPoint(txid: block.transactions[0].txid, index: 0)]?.isCoinbase == true)
        // the block leaves the chain: what it created goes; what it spent is asked again
        chain.undo(connection)
        v.disconnected(block)
        #expect(agrees())
        #expect(v.lookup([OutPoint(txid: pay.txid, index: 0), a]).missing.count == 2)
        #expect(v.lookup([b]).found[b] == chain.coin(b))
        v.clear()
        #expect(v.count == 0 && v.enabled)
    }

    @Test("an answer asked before a block event or a clearing is not kept")
    func generation() {
        var v = CoinCache()
        v.enable()
        let coin = Coin(output: TxOutput(value: 5, publicKey: [1]), height: 1, isCoinbase: false)
        let asked = v.generation
        v.remember([PoolGraphTests.coin(1): coin], ifGeneration: asked)
        #expect(v.count == 1)
        v.clear()
        v.remember([PoolGraphTests.coin(2): coin], ifGeneration: asked)
        #expect(v.count == 0)
        let block = Block(header: BlockHeader(version: 1, previousHash: .zero, merkleRoot: .zero, time: 0, bits: 0, nonce: 0), transactions: [])
        let before = v.generation
        v.disconnected(block)
        v.remember([PoolGraphTests.coin(3): coin], ifGeneration: before)
        #expect(v.count == 0 && v.generation != before)
        v.remember([PoolGraphTests.coin(3): coin], ifGeneration: v.generation)
        #expect(v.count == 1)
    }

    @Test("bounded: past its capacity it empties and fills again")
    func bounded() {
        var v = CoinCache()
        v.enable()
        v.capacity = 2
        let coin = Coin(output: TxOutput(value: 5, publicKey: [1]), height: 1, isCoinbase: false)
        v.remember([PoolGraphTests.coin(1): coin, PoolGraphTests.coin(2): coin])
        #expect(v.count == 2)
        v.remember([PoolGraphTests.coin(3): coin])
        #expect(v.count == 1 && v.lookup([PoolGraphTests.coin(3)]).missing.isEmpty)
    }

    @Test("in the pool: a coin it knows needs no chain store call, a block's spends leave it, and checkmempool compares it with the chain")
    func inThePool() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        await pool.enableCoinView()
        let pay = h.pay(h.spendable[0])
        _ = try await pool.submit(hex: Hex.encode(pay.encoded), receivedAt: nil)
        #expect(h.chain.coinCalls.load(ordering: .relaxed) == 1)
        #expect(await pool.coinView.count == 1)
        // the chain connects a block holding it; the pool hears of it
        let height = h.blocks.count
        let block = ChainFixtures.next(after: h.blocks.last!.header, height: height, paying: h.wallet, transactions: [pay], fees: 1_000)
        let connection = try await BlockRules.connect(block, height: height, view: h.chain.view.withLock { $0 }, params: .regtest)
        h.chain.view.withLock { $0.apply(connection) }
        h.chain.tipValue.withLock { $0 = ChainTip(height: height, hash: block.hash.hex, time: block.header.time, nextBits: $0.nextBits,
                                                 medianTimePast: $0.medianTimePast) }
        await pool.blockConnected(block, height: height)
        #expect(await pool.entries.isEmpty)
        // its change, created by the block, is known: admitted without asking the chain store
        let calls = h.chain.coinCalls.load(ordering: .relaxed)
        let spend = h.wallet.spend([(OutPoint(txid: pay.txid, index: 1), pay.outputs[1])], to: [h.wallet.output(pay.outputs[1].value - 1_000)])
        _ = try await pool.submit(hex: Hex.encode(spend.encoded), receivedAt: nil)
        #expect(h.chain.coinCalls.load(ordering: .relaxed) == calls)
        // the coin the block spent is not served from the view: asked, and refused
        #expect(await refusal(pool, h.pay(h.spendable[0], fee: 2_000)) == "bad-txns-inputs-missingorspent")
        #expect(h.chain.coinCalls.load(ordering: .relaxed) == calls + 1)
        var check = await pool.check()
        #expect(check.ok, "\(check.problems)")
        // a view that disagrees with the chain is reported
        let paid = OutPoint(txid: pay.txid, index: 0)
        let held = h.chain.view.withLock { $0.coins.removeValue(forKey: paid) }
        check = await pool.check()
        #expect(!check.ok && check.problems.contains { $0.contains("the coin view holds \(paid)") })
        h.chain.view.withLock { $0.coins[paid] = held }
        // the block leaves the chain: the coins it created leave the view (they all came from it)
        h.chain.view.withLock { $0.undo(connection) }
        h.chain.tipValue.withLock { $0 = ChainTip(height: height - 1, hash: h.blocks.last!.hash.hex, time: h.blocks.last!.header.time,
                                                 nextBits: $0.nextBits, medianTimePast: $0.medianTimePast) }
        await pool.blockDisconnected(block)
        #expect(await pool.coinView.coins[paid] == nil)
        #expect(await pool.coinView.count == 0)
        // the revalidation the disconnection schedules empties it and asks again: `pay` comes back,
        // and only the coin it spends is known (its child finds its parent in the pool)
        try await waitUntil("the disconnected block's transaction back in the pool", every: 0.05) {
            await pool.entries[pay.txid] != nil
        }
        check = await pool.check()   // through the gate: after the revalidation is done
        #expect(check.ok, "\(check.problems)")
        #expect(await pool.entries.count == 2)
        #expect(Set(await pool.coinView.coins.keys) == [h.spendable[0].0])
        // a gap in the chain's publications: forgotten at once, before the revalidation's turn
        await pool.forgetCoins()
        #expect(await pool.coinView.count == 0)
    }
}
