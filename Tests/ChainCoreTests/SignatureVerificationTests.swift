import Crypto
import Foundation
import Testing
@testable import ChainCore

/// Signatures verified apart from the rest of a block's checks: `connectDeferringSignatures` and
/// `SignatureVerification` give the verdict `connect` and `SignatureBatch.firstFailure` give.
@Suite struct SignatureVerificationTests {
    let params = ChainParams.regtest

    /// `count` checks signed by one key over distinct messages; those at `bad` carry a flipped bit.
    func checks(_ count: Int, bad: Set<Int> = []) -> [SignatureCheck] {
        let key = Curve25519.Signing.PrivateKey()
        let pub = Array(key.publicKey.rawRepresentation)
        return (0..<count).map { i in
            let message = Hash256.sha256d(Array("message \(i)".utf8))
            var sig = Array(try! key.signature(for: message.bytes))
            if bad.contains(i) { sig[7] ^= 1 }
            return SignatureCheck(publicKey: pub, message: message, signature: sig, txIndex: i + 1, inputIndex: 0)
        }
    }

    @Test func theVerdictIsTheLowestFailingPosition() async {
        let all = checks(300, bad: [171, 250, 299])
        let expected = await SignatureBatch.firstFailure(all)
        #expect(expected?.txIndex == 172)
        for parallelism in [1, 2, 5] {
            let v = SignatureVerification(all, parallelism: parallelism)
            #expect(await v.result() == 171)
            #expect(v.checks[171].txIndex == expected?.txIndex)
        }
        // the blocking form, from a thread that is not the cooperative pool's
        let v = SignatureVerification(all)
        let verdict = await withCheckedContinuation { c in
            Thread.detachNewThread { c.resume(returning: v.wait()) }
        }
        #expect(verdict == 171)
    }

    /// A verification no longer needed (its block's store failed) stops handing out chunks: its
    /// workers finish the chunks under way and the wait ends; a verdict it still gives names a
    /// check that fails, never a good one.
    @Test func aCancelledVerificationEnds() async {
        let all = checks(5_000, bad: [4_999])
        let v = SignatureVerification(all, parallelism: 2)
        v.cancel()
        let verdict = await v.result()
        #expect(verdict == nil || verdict == 4_999)
        let blocking = SignatureVerification(all, parallelism: 2)
        blocking.cancel()
        let waited = await withCheckedContinuation { c in
            Thread.detachNewThread { c.resume(returning: blocking.wait()) }
        }
        #expect(waited == nil || waited == 4_999)
    }

    @Test func allGoodOrNoneIsNoFailure() async {
        #expect(await SignatureVerification(checks(130)).result() == nil)
        #expect(await SignatureVerification([]).result() == nil)
        #expect(await SignatureVerification(checks(3, bad: [0])).result() == 0)
    }

    @Test func deferringTheSignaturesGivesTheSameConnection() async throws {
        let wallet = Wallet()
        let (blocks, view) = try await Fixtures.chain(params.coinbaseMaturity + 1, paying: wallet)
        let cb = blocks[1].transactions[0]
        let first = wallet.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])], to: [wallet.output(cb.outputs[0].value - 100)])
        let second = wallet.spend([(OutPoint(txid: first.txid, index: 0), first.outputs[0])], to: [wallet.output(first.outputs[0].value - 100)])
        let coinbase = Fixtures.coinbase(height: blocks.count, outputs: [wallet.output(params.subsidy(height: blocks.count) + 200)])
        let block = Fixtures.block(parent: blocks.last!.header, transactions: [coinbase, first, second])
        let whole = try await BlockRules.connect(block, height: blocks.count, view: view, params: params)
        let pending = try BlockRules.connectDeferringSignatures(block, height: blocks.count, view: view, params: params, txids: block.txids)
        #expect(pending.connection == whole)
        #expect(pending.checks.map(\.txIndex) == [1, 2])
        #expect(await SignatureBatch.firstFailure(pending.checks) == nil)
        // the coin created and spent in the block is neither spent from the view nor created
        #expect(whole.spent.map(\.outpoint) == [OutPoint(txid: cb.txid, index: 0)])
        #expect(Set(whole.created.map(\.outpoint)) == [OutPoint(txid: coinbase.txid, index: 0), OutPoint(txid: second.txid, index: 0)])
        #expect(whole.fees == 200)
        let error = BlockRules.signatureError(pending.checks[1])
        #expect(error.reason == .badSignature && error.detail == "transaction 2 input 0 signature does not verify")
    }

    // MARK: a block's signatures from its transactions and coins (BlockSignatureVerification)

    /// A block on `maturity + 2` blocks: a fan-out spending block 1's coinbase (a coin of the view),
    /// then `spends` transactions each spending one of its outputs within the block. Those listed
    /// in `bad` (by their position in the block) carry a flipped bit.
    func fanBlock(spends: Int, bad: Set<Int> = []) async throws -> (block: Block, coins: [OutPoint: Coin], height: Int) {
        let wallet = Wallet()
        let (blocks, view) = try await Fixtures.chain(params.coinbaseMaturity + 1, paying: wallet)
        let cb = blocks[1].transactions[0]
        var fan = wallet.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])],
                               to: (0..<spends).map { _ in wallet.output(cb.outputs[0].value / UInt64(spends + 1)) })
        // A signature is part of its transaction's txid: the fan-out's is spoilt before it is spent.
        if bad.contains(1) { fan.inputs[0].payload[5] ^= 1 }
        var txs = [fan] + (0..<spends).map { i in
            wallet.spend([(OutPoint(txid: fan.txid, index: UInt32(i)), fan.outputs[i])], to: [wallet.output(fan.outputs[i].value - 100)])
        }
        for position in bad where position > 1 { txs[position - 1].inputs[0].payload[5] ^= 1 }
        let height = blocks.count
        let coinbase = Fixtures.coinbase(height: height, outputs: [wallet.output(params.subsidy(height: height))])
        return (Fixtures.block(parent: blocks.last!.header, transactions: [coinbase] + txs), view.coins, height)
    }

    func verdict(_ v: BlockSignatureVerification) async -> SignatureCheck? {
        await withCheckedContinuation { c in Thread.detachNewThread { c.resume(returning: v.wait()) } }
    }

    @Test func aBlocksSignaturesVerifiedFromItsCoinsGiveTheChecksVerdict() async throws {
        let good = try await fanBlock(spends: 70)
        let checks = try BlockRules.connectDeferringSignatures(good.block, height: good.height, view: MemoryCoinView(good.coins),
                                                               params: params).checks
        #expect(checks.count == 71)
        for parallelism in [1, 2, 5] {
            let v = BlockSignatureVerification(good.block, txids: good.block.txids, coins: good.coins, skip: nil, params: params,
                                               parallelism: parallelism)
            #expect(await verdict(v) == nil)
        }
        // Two bad ones (in different runs of 32 transactions): the lowest is the verdict, the very
        // check `connectDeferringSignatures` makes for it; the fan-out (a coin of the view) too.
        for bad: Set<Int> in [[50, 24], [1, 60]] {
            let b = try await fanBlock(spends: 70, bad: bad)
            let expected = await SignatureBatch.firstFailure(
                try BlockRules.connectDeferringSignatures(b.block, height: b.height, view: MemoryCoinView(b.coins), params: params).checks)
            #expect(expected?.txIndex == bad.min())
            for parallelism in [1, 2, 5] {
                let v = BlockSignatureVerification(b.block, txids: b.block.txids, coins: b.coins, skip: nil, params: params,
                                                   parallelism: parallelism)
                let found = await verdict(v)
                #expect(found?.txIndex == expected?.txIndex && found?.inputIndex == expected?.inputIndex)
                #expect(found?.publicKey == expected?.publicKey && found?.message == expected?.message
                        && found?.signature == expected?.signature)
                #expect(found.map { BlockRules.signatureError($0).detail } == "transaction \(bad.min()!) input 0 signature does not verify")
            }
        }
    }

    /// Transactions the signature cache holds are not verified; one with a coin found nowhere is
    /// left to the rules, which refuse the block for it.
    @Test func skippedAndUnresolvedTransactionsAreNotVerified() async throws {
        let b = try await fanBlock(spends: 40, bad: [24, 30])
        var skip = [Bool](repeating: false, count: b.block.transactions.count)
        skip[24] = true
        let v = BlockSignatureVerification(b.block, txids: b.block.txids, coins: b.coins, skip: skip, params: params)
        #expect(await verdict(v)?.txIndex == 30)
        // Without the view's coin, the fan-out is skipped; so is a spend of it placed before it
        // (the block's own output counts only from an earlier transaction).
        let good = try await fanBlock(spends: 40)
        #expect(await verdict(BlockSignatureVerification(good.block, txids: good.block.txids, coins: [:], skip: nil, params: params)) == nil)
        var txs = good.block.transactions
        txs.swapAt(1, 2)
        txs[1].inputs[0].payload[5] ^= 1   // the spend, now before the fan-out it spends
        let reordered = Fixtures.block(parent: good.block.header, transactions: txs)
        #expect(await verdict(BlockSignatureVerification(reordered, txids: reordered.txids, coins: good.coins, skip: nil,
                                                         params: params)) == nil)
        #expect(throws: ValidationError.self) {
            try BlockRules.connectDeferringSignatures(reordered, height: good.height, view: MemoryCoinView(good.coins), params: params)
        }
    }

    /// Cancelled (its block's rules failed), it stops handing out transactions and the wait ends; a
    /// verdict it still gives names a check that fails.
    @Test func aCancelledBlockVerificationEnds() async throws {
        let b = try await fanBlock(spends: 200, bad: [199])
        let v = BlockSignatureVerification(b.block, txids: b.block.txids, coins: b.coins, skip: nil, params: params, parallelism: 2)
        v.cancel()
        let found = await verdict(v)
        #expect(found == nil || found?.txIndex == 199)
    }
}
