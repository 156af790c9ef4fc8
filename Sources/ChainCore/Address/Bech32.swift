/// bech32 (BIP-173) and bech32m (BIP-350) strings: a human-readable part, the
/// separator "1", 5-bit data and a 6-character checksum. Written here because
/// no package on this machine provides it; tested against the BIPs' vectors.
public enum Bech32 {
    public enum Variant: Sendable, Equatable {
        case bech32, bech32m

        var constant: UInt32 { self == .bech32 ? 1 : 0x2bc8_30a3 }
    }

    public enum Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        case tooLong(length: Int, limit: Int)
        case mixedCase
        case noSeparator
        case emptyPrefix
        case prefixCharacterOutOfRange
        case invalidDataCharacter(Character)
        case checksumTooShort
        case invalidChecksum
        case invalidPadding
        case invalidFiveBitValue

        public var description: String {
            switch self {
            case .tooLong(let n, let limit): return "string is \(n) characters long; at most \(limit) are allowed"
            case .mixedCase: return "string mixes upper and lower case"
            case .noSeparator: return "no '1' separator"
            case .emptyPrefix: return "empty human-readable prefix"
            case .prefixCharacterOutOfRange: return "prefix character outside ASCII 33-126"
            case .invalidDataCharacter(let c): return "'\(c)' is not a bech32 data character"
            case .checksumTooShort: return "data part is shorter than the 6-character checksum"
            case .invalidChecksum: return "checksum does not match"
            case .invalidPadding: return "invalid padding in the data part"
            case .invalidFiveBitValue: return "data value outside 0-31"
            }
        }
    }

    static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (i, c) in charset.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    static func polymod(_ values: [UInt8]) -> UInt32 {
        let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
        var chk: UInt32 = 1
        for v in values {
            let top = chk >> 25
            chk = (chk & 0x1ff_ffff) << 5 ^ UInt32(v)
            for i in 0..<5 where (top >> UInt32(i)) & 1 == 1 { chk ^= generator[i] }
        }
        return chk
    }

    static func expandPrefix(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    /// Encodes 5-bit values under a (lower-cased) prefix.
    public static func encode(prefix: String, data: [UInt8], variant: Variant) throws(Error) -> String {
        let hrp = Array(prefix.lowercased().utf8)
        guard !hrp.isEmpty else { throw .emptyPrefix }
        guard hrp.allSatisfy({ (33...126).contains($0) }) else { throw .prefixCharacterOutOfRange }
        guard data.allSatisfy({ $0 < 32 }) else { throw .invalidFiveBitValue }
        let mod = polymod(expandPrefix(hrp) + data + [0, 0, 0, 0, 0, 0]) ^ variant.constant
        let checksum = (0..<6).map { UInt8((mod >> UInt32(5 * (5 - $0))) & 31) }
        return String(decoding: hrp + [UInt8(ascii: "1")] + (data + checksum).map { charset[Int($0)] }, as: UTF8.self)
    }

    /// Decodes a string, telling which checksum variant it carries.
    public static func decode(_ string: String, limit: Int = 90) throws(Error) -> (prefix: String, data: [UInt8], variant: Variant) {
        let bytes = Array(string.utf8)
        guard bytes.count <= limit else { throw .tooLong(length: bytes.count, limit: limit) }
        guard bytes.allSatisfy({ (33...126).contains($0) }) else {
            // Locate whether the bad character is in the prefix or the data part.
            if let sep = bytes.lastIndex(of: UInt8(ascii: "1")),
               bytes[..<sep].allSatisfy({ (33...126).contains($0) }),
               let bad = bytes[(sep + 1)...].first(where: { !(33...126).contains($0) }) {
                throw .invalidDataCharacter(Character(Unicode.Scalar(bad)))
            }
            throw .prefixCharacterOutOfRange
        }
        let hasLower = bytes.contains { (97...122).contains($0) }
        let hasUpper = bytes.contains { (65...90).contains($0) }
        guard !(hasLower && hasUpper) else { throw .mixedCase }
        let lower = bytes.map { (65...90).contains($0) ? $0 + 32 : $0 }
        guard let sep = lower.lastIndex(of: UInt8(ascii: "1")) else { throw .noSeparator }
        guard sep > 0 else { throw .emptyPrefix }
        let hrp = Array(lower[..<sep])
        var data = [UInt8]()
        for c in lower[(sep + 1)...] {
            let v = reverse[Int(c)]
            guard v >= 0 else { throw .invalidDataCharacter(Character(Unicode.Scalar(c))) }
            data.append(UInt8(v))
        }
        guard data.count >= 6 else { throw .checksumTooShort }
        let mod = polymod(expandPrefix(hrp) + data)
        let variant: Variant
        switch mod {
        case Variant.bech32.constant: variant = .bech32
        case Variant.bech32m.constant: variant = .bech32m
        default: throw .invalidChecksum
        }
        return (String(decoding: hrp, as: UTF8.self), Array(data.dropLast(6)), variant)
    }

    /// Regroups bits (8→5 with padding when encoding; 5→8 without, where
    /// leftover bits must be fewer than `from` and zero).
    public static func convertBits(_ data: [UInt8], from: Int, to: Int, pad: Bool) throws(Error) -> [UInt8] {
        var acc: UInt32 = 0
        var bits = 0
        var out = [UInt8]()
        let maxv: UInt32 = (1 << UInt32(to)) - 1
        for value in data {
            guard UInt32(value) >> UInt32(from) == 0 else { throw .invalidFiveBitValue }
            acc = (acc << UInt32(from)) | UInt32(value)
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8((acc >> UInt32(bits)) & maxv))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8((acc << UInt32(to - bits)) & maxv)) }
        } else if bits >= from || (acc << UInt32(to - bits)) & maxv != 0 {
            throw .invalidPadding
        }
        return out
    }
}
