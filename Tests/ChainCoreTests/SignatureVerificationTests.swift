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
}
