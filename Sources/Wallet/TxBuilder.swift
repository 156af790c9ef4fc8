import ChainCore
import Crypto
import Foundation

/// A coin a wallet can spend (the CLI wallet's, from the edge's `/utxo`; the edge's regtest faucet's).
public struct Spendable: Equatable, Sendable {
    public var outpoint: OutPoint
    public var value: Amount
    public var confirmed: Bool = true
    /// Block height when confirmed.
    public var height: Int? = nil

    public init(outpoint: OutPoint, value: Amount, confirmed: Bool = true, height: Int? = nil) {
        self.outpoint = outpoint; self.value = value; self.confirmed = confirmed; self.height = height
    }
}

public enum SendError: Error, CustomStringConvertible, Equatable {
    case dust(amount: Amount, limit: Amount)
    case insufficientFunds(available: Amount, needed: Amount)
    case noCoins
    case tooManyInputs(Int)

    public var code: String {
        switch self {
        case .dust: return "dust"
        case .insufficientFunds, .noCoins: return "insufficient-funds"
        case .tooManyInputs: return "tx-size"
        }
    }

    public var description: String {
        switch self {
        case .dust(let a, let l):
            return "dust: \(Units.format(a)) CRN is below the dust limit of \(Units.format(l)) CRN; nodes refuse such outputs"
        case .insufficientFunds(let a, let n):
            return "insufficient funds: need \(Units.format(n)) CRN (amount + fee), spendable \(Units.format(a)) CRN"
        case .noCoins:
            return "insufficient funds: this wallet has no spendable coins"
        case .tooManyInputs(let n):
            return "the payment would need \(n) inputs, more than fits in one transaction: send a smaller amount"
        }
    }
}

/// A payment before signing: the chosen coins, the outputs, the fee.
public struct PaymentPlan: Equatable, Sendable {
    public var inputs: [Spendable]
    public var outputs: [TxOutput]
    public var fee: Amount
    public var change: Amount?
    /// Exact encoded size of the signed transaction.
    public var size: Int

    public init(inputs: [Spendable], outputs: [TxOutput], fee: Amount, change: Amount?, size: Int) {
        self.inputs = inputs; self.outputs = outputs; self.fee = fee; self.change = change; self.size = size
    }
}

public enum TxBuilder {
    /// Outputs below this are refused by the mempool's policy (`dust`).
    public static let dustLimit: Amount = 1_000
    public static let defaultFeeRate: Double = 2
    /// Most inputs one payment uses (keeps the transaction under the mempool's 100 kB).
    public static let maxInputs = 900

    /// The exact encoded size of a signed transaction with `inputs` inputs and
    /// `outputs` outputs: version, counts, 36-byte outpoint + compact size (1) +
    /// 64-byte signature per input, 8-byte value + 32-byte key per output.
    public static func signedSize(inputs: Int, outputs: Int) -> Int {
        4 + ByteWriter.compactSizeLength(inputs) + inputs * (36 + ByteWriter.compactSizeLength(Limits.signatureSize) + Limits.signatureSize)
            + ByteWriter.compactSizeLength(outputs) + outputs * (8 + Limits.publicKeySize)
    }

    public static func fee(size: Int, rate: Double) -> Amount {
        Amount((Double(size) * rate).rounded(.up))
    }

    /// Largest coins first, until they cover amount + fee. A change output goes
    /// back to `change` unless it would be dust, in which case it is left to the fee.
    public static func plan(coins: [Spendable], to recipient: [UInt8], amount: Amount, change: [UInt8],
                     feeRate: Double = defaultFeeRate) throws(SendError) -> PaymentPlan {
        guard amount >= dustLimit else { throw .dust(amount: amount, limit: dustLimit) }
        guard !coins.isEmpty else { throw .noCoins }
        // Largest first; among equal values, confirmed and older first (a young coinbase may not be mature yet).
        let sorted = coins.sorted { a, b in
            if a.value != b.value { return a.value > b.value }
            if a.confirmed != b.confirmed { return a.confirmed }
            return (a.height ?? .max) < (b.height ?? .max)
        }
        var chosen = [Spendable]()
        var total: Amount = 0
        var lastNeeded: Amount = amount
        for coin in sorted {
            chosen.append(coin)
            total += coin.value
            if chosen.count > maxInputs { throw .tooManyInputs(chosen.count) }
            let sizeWithChange = signedSize(inputs: chosen.count, outputs: 2)
            let feeWithChange = fee(size: sizeWithChange, rate: feeRate)
            if total >= amount + feeWithChange, total - amount - feeWithChange >= dustLimit {
                let c = total - amount - feeWithChange
                return PaymentPlan(inputs: chosen,
                                   outputs: [TxOutput(value: amount, publicKey: recipient), TxOutput(value: c, publicKey: change)],
                                   fee: feeWithChange, change: c, size: sizeWithChange)
            }
            let sizeAlone = signedSize(inputs: chosen.count, outputs: 1)
            let feeAlone = fee(size: sizeAlone, rate: feeRate)
            if total >= amount + feeAlone {
                // What is left over is below the dust limit: it goes to the fee.
                return PaymentPlan(inputs: chosen, outputs: [TxOutput(value: amount, publicKey: recipient)],
                                   fee: total - amount, change: nil, size: sizeAlone)
            }
            lastNeeded = amount + feeAlone
        }
        throw .insufficientFunds(available: total, needed: lastNeeded)
    }

    /// What a replacement pays per byte on top of what it replaces (the mempool's `Policy.incrementalFeeRate`).
    public static let incrementalFeeRate: Double = 1

    /// The smallest fee the mempool accepts from a replacement of `size` bytes for one that paid
    /// `oldFee` for `oldSize` bytes (and has no descendants): the old fee plus the incremental rate
    /// × size (BIP-125 rules 3 and 4), and a fee rate strictly above the old one (rule 6).
    public static func minReplacementFee(oldFee: Amount, oldSize: Int, size: Int) -> Amount {
        var fee = oldFee + fee(size: size, rate: incrementalFeeRate)
        if fee * Amount(oldSize) <= oldFee * Amount(size) { fee = oldFee * Amount(size) / Amount(max(oldSize, 1)) + 1 }
        return fee
    }

    /// A fee bump or a cancel of a pending transaction that spent `inputs` (all this wallet's) and
    /// paid `fee` for `size` bytes: the same coins (no new unconfirmed input, BIP-125 rule 2), at
    /// `feeRate` or the mempool's minimum for a replacement, whichever is higher. A bump keeps
    /// `payments` and takes the fee from the change (dust change goes to the fee); a cancel (no
    /// payments) pays everything back to `change`. The browser wallet's js/lib/replace.js is the same.
    public static func replacement(inputs: [Spendable], payments: [TxOutput], change: [UInt8], oldFee: Amount, oldSize: Int,
                                   feeRate: Double) throws(SendError) -> PaymentPlan {
        guard !inputs.isEmpty else { throw .noCoins }
        let total = inputs.reduce(Amount(0)) { $0 + $1.value }
        let paid = payments.reduce(Amount(0)) { $0 + $1.value }
        func feeAt(_ size: Int) -> Amount { max(fee(size: size, rate: feeRate), minReplacementFee(oldFee: oldFee, oldSize: oldSize, size: size)) }
        let size2 = signedSize(inputs: inputs.count, outputs: payments.count + 1)
        let fee2 = feeAt(size2)
        if total >= paid + fee2, total - paid - fee2 >= dustLimit {
            let c = total - paid - fee2
            return PaymentPlan(inputs: inputs, outputs: payments + [TxOutput(value: c, publicKey: change)], fee: fee2, change: c, size: size2)
        }
        let size1 = signedSize(inputs: inputs.count, outputs: payments.count)
        if !payments.isEmpty, total >= paid + feeAt(size1) {
            return PaymentPlan(inputs: inputs, outputs: payments, fee: total - paid, change: nil, size: size1)
        }
        throw .insufficientFunds(available: total, needed: paid + (payments.isEmpty ? fee2 + dustLimit : feeAt(size1)))
    }

    /// Builds the transaction and signs every input (all spend `key`'s outputs).
    public static func sign(_ plan: PaymentPlan, key: Curve25519.Signing.PrivateKey, params: ChainParams) throws -> Transaction {
        let publicKey = Array(key.publicKey.rawRepresentation)
        var tx = Transaction(inputs: plan.inputs.map { TxInput(previousOutput: $0.outpoint, payload: []) }, outputs: plan.outputs)
        let spent = plan.inputs.map { TxOutput(value: $0.value, publicKey: publicKey) }
        let message = Sighash.compute(tx, spent: spent, params: params)
        let signature = Array(try key.signature(for: message.bytes))
        for i in tx.inputs.indices { tx.inputs[i].payload = signature }
        return tx
    }
}
