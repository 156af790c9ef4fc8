/// Why bytes could not be decoded. Every malformed input maps to one of these;
/// decoding never traps.
public enum DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended before the structure did.
    case truncated(what: String)
    /// Bytes were left over after a complete structure.
    case trailingBytes(count: Int)
    /// A CompactSize used more bytes than its value needs.
    case nonCanonicalCompactSize
    /// A count or length is above the limit for its field (checked before allocating).
    case tooLarge(what: String, value: UInt64, limit: Int)
    /// A field has a value the format does not allow.
    case invalid(what: String)

    public var description: String {
        switch self {
        case .truncated(let what): return "truncated input reading \(what)"
        case .trailingBytes(let n): return "\(n) trailing byte(s) after the end"
        case .nonCanonicalCompactSize: return "non-minimal CompactSize encoding"
        case .tooLarge(let what, let value, let limit): return "\(what) \(value) exceeds the limit \(limit)"
        case .invalid(let what): return "invalid \(what)"
        }
    }
}

/// Appends little-endian integers, CompactSize counts and raw bytes.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ v: UInt8) { bytes.append(v) }
    public mutating func write(_ v: UInt16) { writeLE(v) }
    public mutating func write(_ v: UInt32) { writeLE(v) }
    public mutating func write(_ v: Int32) { writeLE(UInt32(bitPattern: v)) }
    public mutating func write(_ v: UInt64) { writeLE(v) }
    public mutating func write(_ h: Hash256) {
        write(h.w0); write(h.w1); write(h.w2); write(h.w3)
    }
    public mutating func write<C: Collection>(raw: C) where C.Element == UInt8 { bytes.append(contentsOf: raw) }

    /// Bitcoin's CompactSize: 1, 3, 5 or 9 bytes, always the shortest form.
    public mutating func writeCompactSize(_ n: UInt64) {
        switch n {
        case 0..<0xfd: write(UInt8(n))
        case 0xfd...0xffff: write(UInt8(0xfd)); write(UInt16(n))
        case 0x1_0000...0xffff_ffff: write(UInt8(0xfe)); write(UInt32(n))
        default: write(UInt8(0xff)); write(n)
        }
    }

    public mutating func writeVarBytes(_ b: [UInt8]) {
        writeCompactSize(UInt64(b.count))
        write(raw: b)
    }

    private mutating func writeLE<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public static func compactSizeLength(_ n: Int) -> Int {
        switch n {
        case 0..<0xfd: return 1
        case 0xfd...0xffff: return 3
        case 0x1_0000...0xffff_ffff: return 5
        default: return 9
        }
    }
}

/// Reads what `ByteWriter` writes, with bounds checks on every read.
public struct ByteReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        offset = 0
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func readUInt8(_ what: String) throws(DecodingError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated(what: what) }
        defer { offset += 1 }
        return bytes[offset]
    }
    public mutating func readUInt16(_ what: String) throws(DecodingError) -> UInt16 { try readLE(what) }
    public mutating func readUInt32(_ what: String) throws(DecodingError) -> UInt32 { try readLE(what) }
    public mutating func readInt32(_ what: String) throws(DecodingError) -> Int32 {
        Int32(bitPattern: try readLE(what) as UInt32)
    }
    public mutating func readUInt64(_ what: String) throws(DecodingError) -> UInt64 { try readLE(what) }

    public mutating func readHash(_ what: String) throws(DecodingError) -> Hash256 {
        guard remaining >= 32 else { throw .truncated(what: what) }
        let h = Hash256(bytes: bytes[offset..<offset + 32])
        offset += 32
        return h
    }

    public mutating func readBytes(_ n: Int, _ what: String) throws(DecodingError) -> [UInt8] {
        guard n >= 0, remaining >= n else { throw .truncated(what: what) }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    /// A CompactSize, rejected if non-minimal or above `limit`.
    public mutating func readCompactSize(_ what: String, limit: Int) throws(DecodingError) -> Int {
        let first = try readUInt8(what)
        let value: UInt64
        switch first {
        case 0xfd:
            let v = try readUInt16(what)
            guard v >= 0xfd else { throw .nonCanonicalCompactSize }
            value = UInt64(v)
        case 0xfe:
            let v = try readUInt32(what)
            guard v > 0xffff else { throw .nonCanonicalCompactSize }
            value = UInt64(v)
        case 0xff:
            let v = try readUInt64(what)
            guard v > 0xffff_ffff else { throw .nonCanonicalCompactSize }
            value = v
        default:
            value = UInt64(first)
        }
        guard value <= UInt64(limit) else { throw .tooLarge(what: what, value: value, limit: limit) }
        return Int(value)
    }

    /// A count of items each at least `minItemSize` bytes long: rejected before
    /// anything is allocated when the rest of the input could not hold them.
    public mutating func readCount(_ what: String, limit: Int, minItemSize: Int) throws(DecodingError) -> Int {
        let n = try readCompactSize(what, limit: limit)
        guard n <= remaining / max(minItemSize, 1) else { throw .truncated(what: what) }
        return n
    }

    public mutating func readVarBytes(_ what: String, limit: Int) throws(DecodingError) -> [UInt8] {
        let n = try readCompactSize(what, limit: limit)
        return try readBytes(n, what)
    }

    public func expectEnd() throws(DecodingError) {
        guard isAtEnd else { throw .trailingBytes(count: remaining) }
    }

    private mutating func readLE<T: FixedWidthInteger>(_ what: String) throws(DecodingError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncated(what: what) }
        var v: T = 0
        for i in 0..<size { v |= T(bytes[offset + i]) << (8 * i) }
        offset += size
        return v
    }
}
