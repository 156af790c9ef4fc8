/// Why a block or transaction was refused. The raw values are the codes the
/// services and the HTTP edge report, named after Bitcoin Core's where one exists.
public enum RejectReason: String, Sendable, CaseIterable, Codable {
    // Encoding
    case malformed = "bad-encoding"
    // Headers
    case badVersion = "bad-version"
    case badDiffBits = "bad-diffbits"
    case highHash = "high-hash"
    case timeTooOld = "time-too-old"
    case timeTooNew = "time-too-new"
    case badPrevBlock = "bad-prevblk"
    // Block structure
    case badBlockLength = "bad-blk-length"
    case badMerkleRoot = "bad-txnmrklroot"
    case duplicateTransaction = "bad-txns-duplicate"
    case coinbaseMissing = "bad-cb-missing"
    case coinbaseMultiple = "bad-cb-multiple"
    case coinbaseLength = "bad-cb-length"
    case coinbaseHeight = "bad-cb-height"
    case coinbaseAmount = "bad-cb-amount"
    case blockInputsDuplicate = "bad-blk-inputs-duplicate"
    // Transactions, context-free
    case txVersion = "bad-txns-version"
    case inputsEmpty = "bad-txns-vin-empty"
    case outputsEmpty = "bad-txns-vout-empty"
    case outputTooLarge = "bad-txns-vout-toolarge"
    case outputTotalTooLarge = "bad-txns-txouttotal-toolarge"
    case inputsDuplicate = "bad-txns-inputs-duplicate"
    case prevoutNull = "bad-txns-prevout-null"
    case signatureLength = "bad-txns-sig-length"
    case txOversize = "bad-txns-oversize"
    // Transactions, against the UTXO set
    case inputsMissingOrSpent = "bad-txns-inputs-missingorspent"
    case prematureCoinbaseSpend = "bad-txns-premature-spend-of-coinbase"
    case inputValuesOutOfRange = "bad-txns-inputvalues-outofrange"
    case inBelowOut = "bad-txns-in-belowout"
    case feeOutOfRange = "bad-txns-fee-outofrange"
    case badSignature = "bad-txns-signature"
}

public struct ValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: RejectReason
    public let detail: String

    public init(_ reason: RejectReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}
