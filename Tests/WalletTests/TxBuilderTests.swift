import ChainCore
import Crypto
import Foundation
import Testing
@testable import Wallet

@Suite("Coin selection, fees and signing") struct TxBuilderTests {
    let me = Curve25519.Signing.PrivateKey()
    let them = Curve25519.Signing.PrivateKey()
    var myKey: [UInt8] { Array(me.publicKey.rawRepresentation) }
    var theirKey: [UInt8] { Array(them.publicKey.rawRepresentation) }

    func coin(_ value: Amount, _ n: UInt8) -> Spendable {
        Spendable(outpoint: OutPoint(txid: Hash256(bytes: [UInt8](repeating: n, count: 32)), index: UInt32(n)), value: value)
    }

    @Test(arguments: [(1, 1), (1, 2), (2, 2), (3, 1), (252, 2), (253, 2), (300, 1)])
    func signedSizeIsExact(inputs: Int, outputs: Int) throws {
        let coins = (0..<inputs).map { coin(Amount(10_000 + $0), UInt8($0 % 256)) }
            .enumerated().map { i, c in
                Spendable(outpoint: OutPoint(txid: Hash256(bytes: [UInt8](repeating: UInt8(i % 256), count: 31) + [UInt8(i / 256)]), index: 0), value: c.value)
            }
        let outs = (0..<outputs).map { _ in TxOutput(value: 1_000, publicKey: theirKey) }
        let plan = PaymentPlan(inputs: coins, outputs: outs, fee: 0, change: nil, size: TxBuilder.signedSize(inputs: inputs, outputs: outputs))
        let tx = try TxBuilder.sign(plan, key: me, params: .regtest)
        #expect(tx.encoded.count == plan.size)
        #expect(tx.encodedSize == plan.size)
    }

    @Test func largestFirstWithChange() throws {
        let coins = [coin(50_000, 1), coin(200_000, 2), coin(120_000, 3)]
        let plan = try TxBuilder.plan(coins: coins, to: theirKey, amount: 150_000, change: myKey, feeRate: 2)
        #expect(plan.inputs.map(\.value) == [200_000])
        #expect(plan.size == TxBuilder.signedSize(inputs: 1, outputs: 2))
        #expect(plan.fee == Amount(plan.size * 2))
        #expect(plan.outputs == [TxOutput(value: 150_000, publicKey: theirKey), TxOutput(value: 200_000 - 150_000 - plan.fee, publicKey: myKey)])
        let tx = try TxBuilder.sign(plan, key: me, params: .regtest)
        #expect(tx.encoded.count == plan.size)
        #expect(plan.inputs.reduce(0) { $0 + $1.value } == plan.outputs.reduce(0) { $0 + $1.value } + plan.fee)
    }

    @Test func takesMoreCoinsWhenNeeded() throws {
        let coins = [coin(50_000, 1), coin(100_000, 2), coin(120_000, 3)]
        let plan = try TxBuilder.plan(coins: coins, to: theirKey, amount: 200_000, change: myKey, feeRate: 2)
        #expect(plan.inputs.map(\.value) == [120_000, 100_000])
        #expect(plan.fee == Amount(TxBuilder.signedSize(inputs: 2, outputs: 2) * 2))
        #expect(plan.change == 220_000 - 200_000 - plan.fee)
    }

    @Test func changeBelowDustGoesToTheFee() throws {
        let feeAlone = TxBuilder.fee(size: TxBuilder.signedSize(inputs: 1, outputs: 1), rate: 2)
        // Leftover after a 2-output fee would be under 1,000 units: no change output.
        let value: Amount = 100_000 + feeAlone + 500
        let plan = try TxBuilder.plan(coins: [coin(value, 1)], to: theirKey, amount: 100_000, change: myKey, feeRate: 2)
        #expect(plan.outputs.count == 1)
        #expect(plan.change == nil)
        #expect(plan.fee == value - 100_000)
        #expect(plan.size == TxBuilder.signedSize(inputs: 1, outputs: 1))
        #expect(try TxBuilder.sign(plan, key: me, params: .regtest).encoded.count == plan.size)
    }

    @Test func refusesDustAndShortfalls() {
        #expect(throws: SendError.dust(amount: 999, limit: 1_000)) {
            try TxBuilder.plan(coins: [coin(1_000_000, 1)], to: theirKey, amount: 999, change: myKey)
        }
        #expect(throws: SendError.noCoins) {
            try TxBuilder.plan(coins: [], to: theirKey, amount: 5_000, change: myKey)
        }
        let needed = 100_000 + TxBuilder.fee(size: TxBuilder.signedSize(inputs: 2, outputs: 1), rate: 2)
        #expect(throws: SendError.insufficientFunds(available: 100_000, needed: needed)) {
            try TxBuilder.plan(coins: [coin(60_000, 1), coin(40_000, 2)], to: theirKey, amount: 100_000, change: myKey)
        }
        #expect(SendError.insufficientFunds(available: 1, needed: 2).description.contains("insufficient funds"))
    }

    @Test func feeRateScalesTheFee() throws {
        let a = try TxBuilder.plan(coins: [coin(1_000_000, 1)], to: theirKey, amount: 10_000, change: myKey, feeRate: 1)
        let b = try TxBuilder.plan(coins: [coin(1_000_000, 1)], to: theirKey, amount: 10_000, change: myKey, feeRate: 10)
        #expect(a.fee == Amount(a.size))
        #expect(b.fee == Amount(b.size * 10))
        let c = try TxBuilder.plan(coins: [coin(1_000_000, 1)], to: theirKey, amount: 10_000, change: myKey, feeRate: 1.5)
        #expect(c.fee == Amount((Double(c.size) * 1.5).rounded(.up)))
    }

    /// The CLI's transaction passes the consensus rules, signatures included.
    @Test func signedTransactionValidates() async throws {
        let params = ChainParams.regtest
        var view = MemoryCoinView()
        let coins = [coin(70_000, 1), coin(90_000, 2), coin(30_000, 3)]
        for c in coins {
            view.coins[c.outpoint] = Coin(output: TxOutput(value: c.value, publicKey: myKey), height: 1, isCoinbase: false)
        }
        let plan = try TxBuilder.plan(coins: coins, to: theirKey, amount: 150_000, change: myKey, feeRate: 2)
        let tx = try TxBuilder.sign(plan, key: me, params: params)
        let fee = try await TransactionRules.validate(tx, view: view, spendHeight: 2, params: params)
        #expect(fee == plan.fee)
        #expect(tx.encoded.count == plan.size)

        // Round trip through the hex the CLI posts.
        let decoded = try Transaction(bytes: Hex.decode(Hex.encode(tx.encoded))!)
        #expect(decoded == tx)

        // Signed for another network: refused.
        let wrong = try TxBuilder.sign(plan, key: me, params: .testnet)
        await #expect(throws: ValidationError.self) {
            _ = try await TransactionRules.validate(wrong, view: view, spendHeight: 2, params: params)
        }
        // Another key: refused.
        let forged = try TxBuilder.sign(plan, key: them, params: params)
        await #expect(throws: ValidationError.self) {
            _ = try await TransactionRules.validate(forged, view: view, spendHeight: 2, params: params)
        }
    }
}
