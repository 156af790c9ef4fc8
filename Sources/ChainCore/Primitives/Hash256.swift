import Crypto

/// A 32-byte hash in internal byte order (the order SHA-256 produces).
///
/// Bitcoin-style displays show hashes byte-reversed: `hex` gives that display
/// form and `init?(hex:)` parses it. Stored as four words so it is cheap to
/// copy, compare and use as a dictionary key.
public struct Hash256: Hashable, Sendable, Comparable, CustomStringConvertible {
    // Little-endian loads of bytes 0..<8, 8..<16, 16..<24, 24..<32.
    public let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public static let zero = Hash256(w0: 0, w1: 0, w2: 0, w3: 0)

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// From 32 bytes in internal order. Precondition: exactly 32 bytes.
    ///
    /// Inlinable, so other modules specialize it for their collection: unspecialized, the loop
    /// below paid a witness call per byte, and the chain store's `Hash256(bytes: body.reversed())`
    /// of every `hashtx` it follows (SignatureCache.swift) was 2.5% of its CPU under a flood.
    @inlinable
    public init<C: Collection>(bytes: C) where C.Element == UInt8 {
        precondition(bytes.count == 32, "Hash256 needs 32 bytes")
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { raw in
            // Contiguous bytes (an array, a slice, Data) in one copy; others (a reversed view) byte by byte.
            if bytes.withContiguousStorageIfAvailable({ raw.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
                var i = 0
                for b in bytes { raw[i] = b; i += 1 }
            }
        }
        self.init(w0: UInt64(littleEndian: words.0), w1: UInt64(littleEndian: words.1),
                  w2: UInt64(littleEndian: words.2), w3: UInt64(littleEndian: words.3))
    }

    /// The 32 bytes in internal order.
    public var bytes: [UInt8] {
        var words = (w0.littleEndian, w1.littleEndian, w2.littleEndian, w3.littleEndian)
        return withUnsafeBytes(of: &words) { Array($0) }
    }

    /// Display form: byte-reversed hex, as explorers and RPC show it.
    public var hex: String {
        var words = (w0.littleEndian, w1.littleEndian, w2.littleEndian, w3.littleEndian)
        return withUnsafeBytes(of: &words) { Hex.encode(raw: $0, reversed: true) }
    }

    /// Internal-order hex.
    public var internalHex: String {
        var words = (w0.littleEndian, w1.littleEndian, w2.littleEndian, w3.littleEndian)
        return withUnsafeBytes(of: &words) { Hex.encode(raw: $0, reversed: false) }
    }

    public var description: String { hex }

    /// Parses the display form (byte-reversed, 64 hex digits).
    public init?(hex: String) {
        guard hex.utf8.count == 64, let raw = Hex.decode(hex) else { return nil }
        self.init(bytes: raw.reversed())
    }

    public var isZero: Bool { self == .zero }

    /// Orders as 256-bit little-endian numbers (how a hash is compared with a target).
    public static func < (a: Hash256, b: Hash256) -> Bool {
        if a.w3 != b.w3 { return a.w3 < b.w3 }
        if a.w2 != b.w2 { return a.w2 < b.w2 }
        if a.w1 != b.w1 { return a.w1 < b.w1 }
        return a.w0 < b.w0
    }

    /// SHA-256 applied twice (swift-crypto).
    public static func sha256d(_ bytes: [UInt8]) -> Hash256 {
        bytes.withUnsafeBytes { sha256d(raw: $0) }
    }

    public static func sha256d(raw: UnsafeRawBufferPointer) -> Hash256 {
        var first = SHA256()
        first.update(bufferPointer: raw)
        var second = SHA256()
        first.finalize().withUnsafeBytes { second.update(bufferPointer: $0) }
        return second.finalize().withUnsafeBytes { Hash256(bytes: $0) }
    }

    /// Single SHA-256.
    public static func sha256(_ bytes: [UInt8]) -> Hash256 {
        var h = SHA256()
        bytes.withUnsafeBytes { h.update(bufferPointer: $0) }
        return h.finalize().withUnsafeBytes { Hash256(bytes: $0) }
    }
}

public enum Hex {
    /// Lower-case hex. Contiguous bytes (an array, a slice, Data) are encoded straight from their
    /// storage: called from another module this generic is not specialized, and iterating the
    /// sequence paid a witness call per byte (the miner's profile under a flood: most of its
    /// `submitblock` encoding).
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        if let text = bytes.withContiguousStorageIfAvailable({ encode(raw: UnsafeRawBufferPointer($0), reversed: false) }) {
            return text
        }
        return Array(bytes).withUnsafeBytes { encode(raw: $0, reversed: false) }
    }

    /// `raw`'s bytes as lower-case hex, last byte first when `reversed`.
    public static func encode(raw: UnsafeRawBufferPointer, reversed: Bool) -> String {
        let n = raw.count
        return String(unsafeUninitializedCapacity: n * 2) { out in
            let digits: StaticString = "0123456789abcdef"
            let d = digits.utf8Start
            for i in 0..<n {
                let b = raw[reversed ? n - 1 - i : i]
                out[2 * i] = d[Int(b >> 4)]
                out[2 * i + 1] = d[Int(b & 0x0f)]
            }
            return n * 2
        }
    }

    /// Decodes lower- or upper-case hex; nil on odd length or a non-hex digit.
    public static func decode(_ string: String) -> [UInt8]? {
        let utf8 = Array(string.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
