/// Bitcoin's 80-byte block header: version, previous hash, merkle root, time,
/// bits, nonce, all little-endian. Its hash is SHA-256d of those 80 bytes.
public struct BlockHeader: Hashable, Sendable {
    public static let size = 80

    public var version: Int32
    public var previousHash: Hash256
    public var merkleRoot: Hash256
    public var time: UInt32
    public var bits: UInt32
    public var nonce: UInt32

    public init(version: Int32, previousHash: Hash256, merkleRoot: Hash256, time: UInt32, bits: UInt32, nonce: UInt32) {
        self.version = version
        self.previousHash = previousHash
        self.merkleRoot = merkleRoot
        self.time = time
        self.bits = bits
        self.nonce = nonce
    }

    public func encode(into w: inout ByteWriter) {
        w.write(version)
        w.write(previousHash)
        w.write(merkleRoot)
        w.write(time)
        w.write(bits)
        w.write(nonce)
    }

    public var encoded: [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        encode(into: &w)
        return w.bytes
    }

    public init(from r: inout ByteReader) throws(DecodingError) {
        version = try r.readInt32("header.version")
        previousHash = try r.readHash("header.previousHash")
        merkleRoot = try r.readHash("header.merkleRoot")
        time = try r.readUInt32("header.time")
        bits = try r.readUInt32("header.bits")
        nonce = try r.readUInt32("header.nonce")
    }

    /// Decodes exactly 80 bytes.
    public init(bytes: [UInt8]) throws(DecodingError) {
        var r = ByteReader(bytes)
        try self.init(from: &r)
        try r.expectEnd()
    }

    public var hash: Hash256 { Hash256.sha256d(encoded) }
}
