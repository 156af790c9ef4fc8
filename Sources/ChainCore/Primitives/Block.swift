public struct Block: Hashable, Sendable {
    public var header: BlockHeader
    public var transactions: [Transaction]

    public init(header: BlockHeader, transactions: [Transaction]) {
        self.header = header
        self.transactions = transactions
    }

    public var hash: Hash256 { header.hash }

    public func encode(into w: inout ByteWriter) {
        header.encode(into: &w)
        w.writeCompactSize(UInt64(transactions.count))
        for tx in transactions { tx.encode(into: &w) }
    }

    public var encoded: [UInt8] {
        var w = ByteWriter(capacity: encodedSize)
        encode(into: &w)
        return w.bytes
    }

    public var encodedSize: Int {
        transactions.reduce(BlockHeader.size + ByteWriter.compactSizeLength(transactions.count)) { $0 + $1.encodedSize }
    }

    /// Decodes one whole block; inputs over the block size limit are refused
    /// before any parsing, trailing bytes are an error.
    public init(bytes: [UInt8]) throws(DecodingError) {
        guard bytes.count <= Limits.maxBlockSize else {
            throw .tooLarge(what: "block size", value: UInt64(bytes.count), limit: Limits.maxBlockSize)
        }
        var r = ByteReader(bytes)
        header = try BlockHeader(from: &r)
        let n = try r.readCount("block.transactions", limit: Limits.maxBlockSize / Limits.minTransactionSize,
                                minItemSize: Limits.minTransactionSize)
        var txs = [Transaction]()
        txs.reserveCapacity(n)
        for _ in 0..<n { txs.append(try Transaction(from: &r)) }
        transactions = txs
        try r.expectEnd()
    }

    public var txids: [Hash256] { transactions.map(\.txid) }
}

/// Hard limits of the encoding, the same on every network.
public enum Limits {
    /// Largest serialized block (and so transaction), in bytes.
    public static let maxBlockSize = 1_000_000
    public static let publicKeySize = 32
    public static let signatureSize = 64
    /// Largest input payload: a signature (64) or coinbase data (up to 100).
    public static let maxPayloadSize = 100
    public static let minCoinbasePayload = 4
    public static let outputSize = 8 + publicKeySize
    /// txid + index + one byte of payload length.
    public static let minInputSize = 32 + 4 + 1
    /// version + one input count byte + one input + one output count byte + one output.
    public static let minTransactionSize = 4 + 1 + minInputSize + 1 + outputSize
    public static let maxInputs = maxBlockSize / minInputSize
    public static let maxOutputs = maxBlockSize / outputSize
}
