/// Amounts are integer base units: 1 CRN = 100,000,000 units.
public typealias Amount = UInt64

public enum Units {
    public static let perCoin: Amount = 100_000_000

    /// Formats base units as CRN with 8 decimal places ("12.50000000").
    public static func format(_ amount: Amount) -> String {
        let whole = amount / perCoin
        let frac = String(amount % perCoin)
        return "\(whole)." + String(repeating: "0", count: 8 - frac.count) + frac
    }

    /// Parses a decimal CRN amount with at most 8 decimal places.
    public static func parse(_ text: String) -> Amount? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let wholePart = parts.first, !wholePart.isEmpty,
              wholePart.allSatisfy({ $0.isASCII && $0.isNumber }),
              let whole = UInt64(wholePart) else { return nil }
        var frac: UInt64 = 0
        if parts.count == 2 {
            let f = parts[1]
            guard !f.isEmpty, f.count <= 8, f.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let v = UInt64(f) else { return nil }
            frac = v * pow10(8 - f.count)
        }
        let (scaled, o1) = whole.multipliedReportingOverflow(by: perCoin)
        let (total, o2) = scaled.addingReportingOverflow(frac)
        return o1 || o2 ? nil : total
    }

    private static func pow10(_ n: Int) -> UInt64 { (0..<n).reduce(1) { r, _ in r * 10 } }
}

/// Names one output of an earlier transaction.
public struct OutPoint: Hashable, Sendable, CustomStringConvertible {
    public var txid: Hash256
    public var index: UInt32

    public init(txid: Hash256, index: UInt32) {
        self.txid = txid
        self.index = index
    }

    /// The outpoint a coinbase input names: zero txid, index 0xffffffff.
    public static let null = OutPoint(txid: .zero, index: .max)
    public var isNull: Bool { self == .null }
    public var description: String { "\(txid.hex):\(index)" }
}

/// Spends an outpoint. `payload` is the 64-byte Ed25519 signature for an
/// ordinary input, or the coinbase data (height, extranonce, free bytes) for a
/// coinbase input.
public struct TxInput: Hashable, Sendable {
    public var previousOutput: OutPoint
    public var payload: [UInt8]

    public init(previousOutput: OutPoint, payload: [UInt8]) {
        self.previousOutput = previousOutput
        self.payload = payload
    }
}

/// Pays `value` base units to the holder of a 32-byte Ed25519 public key.
public struct TxOutput: Hashable, Sendable {
    public var value: Amount
    public var publicKey: [UInt8]

    public init(value: Amount, publicKey: [UInt8]) {
        self.value = value
        self.publicKey = publicKey
    }
}

public struct Transaction: Hashable, Sendable {
    public static let currentVersion: UInt32 = 1

    public var version: UInt32
    public var inputs: [TxInput]
    public var outputs: [TxOutput]

    public init(version: UInt32 = Transaction.currentVersion, inputs: [TxInput], outputs: [TxOutput]) {
        self.version = version
        self.inputs = inputs
        self.outputs = outputs
    }

    public var isCoinbase: Bool { inputs.count == 1 && inputs[0].previousOutput.isNull }

    // MARK: Encoding

    public func encode(into w: inout ByteWriter, blankingPayloads: Bool = false) {
        w.write(version)
        w.writeCompactSize(UInt64(inputs.count))
        for input in inputs {
            w.write(input.previousOutput.txid)
            w.write(input.previousOutput.index)
            w.writeVarBytes(blankingPayloads ? [] : input.payload)
        }
        w.writeCompactSize(UInt64(outputs.count))
        for output in outputs {
            w.write(output.value)
            w.write(raw: output.publicKey)
        }
    }

    public var encoded: [UInt8] {
        var w = ByteWriter(capacity: encodedSize)
        encode(into: &w)
        return w.bytes
    }

    public var encodedSize: Int {
        var n = 4 + ByteWriter.compactSizeLength(inputs.count) + ByteWriter.compactSizeLength(outputs.count)
        for input in inputs { n += 36 + ByteWriter.compactSizeLength(input.payload.count) + input.payload.count }
        n += outputs.count * (8 + Limits.publicKeySize)
        return n
    }

    public init(from r: inout ByteReader) throws(DecodingError) {
        version = try r.readUInt32("tx.version")
        let nIn = try r.readCount("tx.inputs", limit: Limits.maxInputs, minItemSize: Limits.minInputSize)
        var ins = [TxInput]()
        ins.reserveCapacity(nIn)
        for _ in 0..<nIn {
            let txid = try r.readHash("input.txid")
            let index = try r.readUInt32("input.index")
            let payload = try r.readVarBytes("input.payload", limit: Limits.maxPayloadSize)
            ins.append(TxInput(previousOutput: OutPoint(txid: txid, index: index), payload: payload))
        }
        let nOut = try r.readCount("tx.outputs", limit: Limits.maxOutputs, minItemSize: Limits.outputSize)
        var outs = [TxOutput]()
        outs.reserveCapacity(nOut)
        for _ in 0..<nOut {
            let value = try r.readUInt64("output.value")
            let key = try r.readBytes(Limits.publicKeySize, "output.publicKey")
            outs.append(TxOutput(value: value, publicKey: key))
        }
        inputs = ins
        outputs = outs
    }

    /// Decodes one whole transaction; trailing bytes are an error.
    public init(bytes: [UInt8]) throws(DecodingError) {
        guard bytes.count <= Limits.maxBlockSize else {
            throw .tooLarge(what: "transaction size", value: UInt64(bytes.count), limit: Limits.maxBlockSize)
        }
        var r = ByteReader(bytes)
        try self.init(from: &r)
        try r.expectEnd()
    }

    /// SHA-256d of the full encoding, signatures included.
    public var txid: Hash256 { Hash256.sha256d(encoded) }
}
