import Testing
@testable import ChainCore

@Suite struct Bech32mVectors {
    /// BIP-350: valid bech32m strings.
    static let validBech32m = [
        "A1LQFN3A",
        "a1lqfn3a",
        "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
        "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
        "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
        "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
        "?1v759aa",
    ]

    /// BIP-350: invalid bech32m strings, each with the error we give.
    static let invalidBech32m: [(String, Bech32.Error)] = [
        ("\u{20}1xj0phk", .prefixCharacterOutOfRange),
        ("\u{7f}1g6xzxy", .prefixCharacterOutOfRange),
        ("\u{80}1vctc34", .prefixCharacterOutOfRange),
        ("an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4", .tooLong(length: 91, limit: 90)),
        ("qyrz8wqd2c9m", .noSeparator),
        ("1qyrz8wqd2c9m", .emptyPrefix),
        ("y1b0jsk6g", .invalidDataCharacter("b")),
        ("lt1igcx5c0", .invalidDataCharacter("i")),
        ("in1muywd", .checksumTooShort),
        ("mm1crxm3i", .invalidDataCharacter("i")),
        ("au1s5cgom", .invalidDataCharacter("o")),
        ("M1VUXWEZ", .invalidChecksum),
        ("16plkw9", .emptyPrefix),
        ("1p2gdwpf", .emptyPrefix),
    ]

    @Test(arguments: validBech32m)
    func validStringsDecodeAsBech32mAndReencode(_ s: String) throws {
        let d = try Bech32.decode(s)
        #expect(d.variant == .bech32m)
        #expect(try Bech32.encode(prefix: d.prefix, data: d.data, variant: .bech32m) == s.lowercased())
    }

    @Test(arguments: invalidBech32m)
    func invalidStringsAreRefused(_ s: String, _ error: Bech32.Error) {
        // "\u{80}" is two UTF-8 bytes; both lie outside the allowed range
        #expect(throws: error) { try Bech32.decode(s) }
    }

    /// BIP-350's segwit address vectors exercise the bit regrouping and both checksums.
    static let validAddresses: [(String, String)] = [
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
        ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"),
        ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"),
        ("BC1SW50QGDZ25J", "6002751e"),
        ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
        ("tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
        ("tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
    ]

    static let invalidAddresses = [
        "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",   // invalid prefix
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",   // bech32 instead of bech32m
        "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",   // bech32 instead of bech32m
        "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",   // bech32 instead of bech32m
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",                     // bech32m instead of bech32
        "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",   // bech32m instead of bech32
        "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",   // invalid character in checksum
        "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",   // invalid witness version
        "bc1pw5dgrnzv",                                                   // program of 1 byte
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", // 41 bytes
        "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",                           // 16 bytes for version 0
        "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",   // mixed case
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", // more than 4 padding bits
        "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",   // non-zero padding
        "bc1gmk9yu",                                                      // empty data
    ]

    /// BIP-350's segwit rules, applied on top of our primitives.
    static func decodeSegwit(_ address: String) -> [UInt8]? {
        guard let d = try? Bech32.decode(address), ["bc", "tb"].contains(d.prefix),
              let version = d.data.first, version <= 16,
              let program = try? Bech32.convertBits(Array(d.data.dropFirst()), from: 5, to: 8, pad: false),
              (2...40).contains(program.count),
              version != 0 || program.count == 20 || program.count == 32,
              (version == 0) == (d.variant == .bech32) else { return nil }
        let op: UInt8 = version == 0 ? 0 : 0x50 + version
        return [op, UInt8(program.count)] + program
    }

    @Test(arguments: validAddresses)
    func validSegwitAddresses(_ address: String, _ scriptHex: String) {
        #expect(Self.decodeSegwit(address).map { Hex.encode($0) } == scriptHex)
    }

    @Test(arguments: invalidAddresses)
    func invalidSegwitAddresses(_ address: String) {
        #expect(Self.decodeSegwit(address) == nil)
    }
}

@Suite struct CairnAddresses {
    let key = (0..<32).map { UInt8($0 * 7 & 0xff) }

    @Test func roundTripOnEveryNetworkWithItsPrefix() throws {
        for network in Network.allCases {
            let a = Address(publicKey: key, network: network)
            #expect(a.string.hasPrefix(network.params.addressPrefix + "1"))
            #expect(try Address(a.string, network: network) == a)
            #expect(try Address(a.string.uppercased(), network: network) == a)
        }
        #expect(Address(publicKey: key, network: .regtest).string.hasPrefix("rcrn1"))
        #expect(Address(publicKey: key, network: .main).string.hasPrefix("crn1"))
    }

    @Test func wrongChecksumWrongNetworkAndWrongLengthAreDistinct() throws {
        let good = Address(publicKey: key, network: .regtest).string
        // one character changed
        var chars = Array(good)
        chars[10] = chars[10] == "q" ? "p" : "q"
        #expect(throws: AddressError.invalidChecksum) { try Address(String(chars), network: .regtest) }
        // a main-network address on regtest
        let main = Address(publicKey: key, network: .main).string
        #expect(throws: AddressError.wrongNetwork(expected: .regtest, found: .main)) { try Address(main, network: .regtest) }
        // a 20-byte payload under the right prefix
        let short = try Bech32.encode(prefix: "rcrn", data: [0] + Bech32.convertBits(Array(key.prefix(20)), from: 8, to: 5, pad: true), variant: .bech32m)
        #expect(throws: AddressError.wrongLength(bytes: 20)) { try Address(short, network: .regtest) }
        // the same data with a bech32 (not bech32m) checksum
        let v0 = try Bech32.encode(prefix: "rcrn", data: [0] + Bech32.convertBits(key, from: 8, to: 5, pad: true), variant: .bech32)
        #expect(throws: AddressError.invalidChecksum) { try Address(v0, network: .regtest) }
        #expect(throws: AddressError.unknownPrefix("bc")) {
            try Address("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", network: .regtest)
        }
        // each error says something different
        let messages = Set([AddressError.invalidChecksum, .wrongNetwork(expected: .regtest, found: .main), .wrongLength(bytes: 20)].map(\.description))
        #expect(messages.count == 3)
    }
}
