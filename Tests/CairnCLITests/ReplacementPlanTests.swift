import ChainCore
import Foundation
import NodeKit
import Testing
import Wallet

/// `cairn wallet bump`'s plan (TxBuilder.replacement): what the mempool's replacement rules accept.
@Suite("Fee bump and cancel plans") struct ReplacementPlanTests {
    let me: [UInt8] = Array(repeating: 1, count: 32)
    let them: [UInt8] = Array(repeating: 2, count: 32)
    let coin = Spendable(outpoint: OutPoint(txid: Hash256.sha256d([1]), index: 0), value: 10 * Units.perCoin, confirmed: false)

    /// The mempool's rules 3, 4 and 6 for a replacement of a transaction without descendants.
    func accepted(_ p: PaymentPlan, oldFee: Amount, oldSize: Int) -> Bool {
        Double(p.fee) / Double(p.size) > Double(oldFee) / Double(oldSize)
            && p.fee >= oldFee + TxBuilder.fee(size: p.size, rate: TxBuilder.incrementalFeeRate)
    }

    @Test func aBumpKeepsThePaymentAndTakesTheFeeFromTheChange() throws {
        let size = TxBuilder.signedSize(inputs: 1, outputs: 2)
        let oldFee = Amount(size)
        let p = try TxBuilder.replacement(inputs: [coin], payments: [TxOutput(value: Units.perCoin, publicKey: them)], change: me,
                                          oldFee: oldFee, oldSize: size, feeRate: 5)
        #expect(p.inputs == [coin])
        #expect(p.outputs[0] == TxOutput(value: Units.perCoin, publicKey: them))
        #expect(p.fee == 5 * Amount(size) && p.size == size)
        #expect(p.outputs[1] == TxOutput(value: coin.value - Units.perCoin - p.fee, publicKey: me))
        #expect(accepted(p, oldFee: oldFee, oldSize: size))
    }

    @Test func aLowRateIsRaisedToTheReplacementMinimum() throws {
        let size = TxBuilder.signedSize(inputs: 1, outputs: 2)
        let oldFee = 3 * Amount(size)
        for rate in [0.0, 1, 3] {
            let p = try TxBuilder.replacement(inputs: [coin], payments: [TxOutput(value: Units.perCoin, publicKey: them)], change: me,
                                              oldFee: oldFee, oldSize: size, feeRate: rate)
            #expect(p.fee == oldFee + Amount(size))
            #expect(accepted(p, oldFee: oldFee, oldSize: size))
        }
    }

    @Test func aCancelPaysEverythingBackAboveTheOldRate() throws {
        // the cancel is smaller (one output): old fee + size alone could fall to the old rate
        let oldSize = TxBuilder.signedSize(inputs: 1, outputs: 2)
        let oldFee = 50 * Amount(oldSize)
        let p = try TxBuilder.replacement(inputs: [coin], payments: [], change: me, oldFee: oldFee, oldSize: oldSize, feeRate: 1)
        #expect(p.outputs == [TxOutput(value: coin.value - p.fee, publicKey: me)])
        #expect(p.size == TxBuilder.signedSize(inputs: 1, outputs: 1))
        #expect(accepted(p, oldFee: oldFee, oldSize: oldSize))
        #expect(TxBuilder.minReplacementFee(oldFee: 10_000, oldSize: 100, size: 50) > 10_000 / 2 + 50)
    }

    @Test func tooLittleChangeIsRefused() {
        let size = TxBuilder.signedSize(inputs: 1, outputs: 1)
        let small = Spendable(outpoint: coin.outpoint, value: Units.perCoin + 2 * Amount(size), confirmed: false)
        #expect(throws: SendError.self) {
            try TxBuilder.replacement(inputs: [small], payments: [TxOutput(value: Units.perCoin, publicKey: them)], change: me,
                                      oldFee: 2 * Amount(size), oldSize: size, feeRate: 2)
        }
    }
}
