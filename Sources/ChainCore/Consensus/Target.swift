import BigInt

/// Bitcoin's compact "bits" encoding of a 256-bit target, and the chain work a
/// target stands for.
public enum CompactTarget {
    public struct Decoded: Equatable, Sendable {
        public let target: BigUInt
        public let isNegative: Bool
        public let isOverflow: Bool
    }

    /// Bitcoin's `SetCompact`: a 3-byte mantissa and a 1-byte size in bytes.
    public static func decode(_ bits: UInt32) -> Decoded {
        let size = Int(bits >> 24)
        var word = bits & 0x007f_ffff
        let target: BigUInt
        if size <= 3 {
            word >>= UInt32(8 * (3 - size))
            target = BigUInt(word)
        } else {
            target = BigUInt(word) << (8 * (size - 3))
        }
        let negative = word != 0 && (bits & 0x0080_0000) != 0
        let overflow = word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32))
        return Decoded(target: overflow ? 0 : target, isNegative: negative, isOverflow: overflow)
    }

    /// Bitcoin's `GetCompact` for a non-negative target.
    public static func encode(_ target: BigUInt) -> UInt32 {
        var size = (significantBits(target) + 7) / 8
        var compact: UInt64
        if size <= 3 {
            compact = low64(target) << UInt64(8 * (3 - size))
        } else {
            compact = low64(target >> (8 * (size - 3)))
        }
        // The mantissa's top bit is a sign bit: move to a larger size instead.
        if compact & 0x0080_0000 != 0 {
            compact >>= 8
            size += 1
        }
        return UInt32(compact) | UInt32(size) << 24
    }

    /// The target for valid `bits`, or nil when `bits` is negative, overflows,
    /// is zero, or is easier than `limit`.
    public static func target(bits: UInt32, limit: BigUInt) -> BigUInt? {
        let d = decode(bits)
        guard !d.isNegative, !d.isOverflow, d.target != 0, d.target <= limit else { return nil }
        return d.target
    }

    /// Expected number of hashes to meet a target: 2^256 / (target + 1).
    public static func work(target: BigUInt) -> BigUInt {
        (BigUInt(1) << 256) / (target + 1)
    }

    /// Work for `bits`, zero for invalid bits.
    public static func work(bits: UInt32) -> BigUInt {
        let d = decode(bits)
        guard !d.isNegative, !d.isOverflow, d.target != 0 else { return 0 }
        return work(target: d.target)
    }

    /// A target as a `Hash256` (256-bit little-endian), for comparing with a block hash.
    public static func hashValue(_ target: BigUInt) -> Hash256 {
        var w = [UInt64](repeating: 0, count: 4)
        for (i, word) in target.words.prefix(4).enumerated() { w[i] = UInt64(word) }
        return Hash256(w0: w[0], w1: w[1], w2: w[2], w3: w[3])
    }

    /// A hash read as a 256-bit little-endian number.
    public static func number(_ hash: Hash256) -> BigUInt {
        BigUInt(words: [UInt(hash.w0), UInt(hash.w1), UInt(hash.w2), UInt(hash.w3)])
    }

    /// Chain work as 32 big-endian bytes (sortable, for storage), and back.
    public static func workBytes(_ work: BigUInt) -> [UInt8] {
        let h = hashValue(work)
        return Array(h.bytes.reversed())
    }

    public static func work(fromBytes bytes: [UInt8]) -> BigUInt {
        number(Hash256(bytes: bytes.reversed()))
    }

    static func significantBits(_ n: BigUInt) -> Int {
        let words = Array(n.words)
        for i in stride(from: words.count - 1, through: 0, by: -1) where words[i] != 0 {
            return i * UInt.bitWidth + (UInt.bitWidth - words[i].leadingZeroBitCount)
        }
        return 0
    }

    static func low64(_ n: BigUInt) -> UInt64 { UInt64(n.words.first ?? 0) }
}
