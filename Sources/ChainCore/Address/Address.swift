/// A Cairn address: the bech32m encoding of a 32-byte Ed25519 public key,
/// `<prefix>1<version 0><52 data characters><6 checksum characters>`, with the
/// network's prefix (`crn`, `tcrn`, `rcrn`).
public struct Address: Hashable, Sendable, CustomStringConvertible {
    public static let version: UInt8 = 0

    public let network: Network
    public let publicKey: [UInt8]

    public init(publicKey: [UInt8], network: Network) {
        precondition(publicKey.count == Limits.publicKeySize, "an address needs a 32-byte public key")
        self.publicKey = publicKey
        self.network = network
    }

    public var string: String {
        // Cannot fail: the key is 32 bytes and the prefix is ASCII.
        let data = [Self.version] + ((try? Bech32.convertBits(publicKey, from: 8, to: 5, pad: true)) ?? [])
        return (try? Bech32.encode(prefix: network.params.addressPrefix, data: data, variant: .bech32m)) ?? ""
    }

    public var description: String { string }

    /// Parses an address that must belong to `network`.
    public init(_ text: String, network: Network) throws(AddressError) {
        let decoded: (prefix: String, data: [UInt8], variant: Bech32.Variant)
        do {
            decoded = try Bech32.decode(text.trimmingWhitespace())
        } catch .invalidChecksum {
            throw .invalidChecksum
        } catch {
            throw .malformed(error.description)
        }
        guard decoded.prefix == network.params.addressPrefix else {
            if let other = Network.allCases.first(where: { $0.params.addressPrefix == decoded.prefix }) {
                throw .wrongNetwork(expected: network, found: other)
            }
            throw .unknownPrefix(decoded.prefix)
        }
        guard decoded.variant == .bech32m else { throw .invalidChecksum }
        guard let version = decoded.data.first else { throw .wrongLength(bytes: 0) }
        guard version == Self.version else { throw .unsupportedVersion(version) }
        let key: [UInt8]
        do {
            key = try Bech32.convertBits(Array(decoded.data.dropFirst()), from: 5, to: 8, pad: false)
        } catch {
            throw .wrongLength(bytes: (decoded.data.count - 1) * 5 / 8)
        }
        guard key.count == Limits.publicKeySize else { throw .wrongLength(bytes: key.count) }
        self.init(publicKey: key, network: network)
    }
}

/// Why an address string was refused; each case has its own message.
public enum AddressError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidChecksum
    case wrongNetwork(expected: Network, found: Network)
    case wrongLength(bytes: Int)
    case unknownPrefix(String)
    case unsupportedVersion(UInt8)
    case malformed(String)

    /// A short stable code for APIs.
    public var code: String {
        switch self {
        case .invalidChecksum: return "address-bad-checksum"
        case .wrongNetwork: return "address-wrong-network"
        case .wrongLength: return "address-bad-length"
        case .unknownPrefix: return "address-unknown-prefix"
        case .unsupportedVersion: return "address-bad-version"
        case .malformed: return "address-malformed"
        }
    }

    public var description: String {
        switch self {
        case .invalidChecksum:
            return "address checksum is wrong: check for a typing mistake"
        case .wrongNetwork(let expected, let found):
            return "address is for \(found.rawValue) (\(found.params.addressPrefix)1…), this node runs \(expected.rawValue) (\(expected.params.addressPrefix)1…)"
        case .wrongLength(let n):
            return "address holds \(n) bytes; a Cairn address holds a 32-byte public key"
        case .unknownPrefix(let p):
            return "'\(p)' is not a Cairn address prefix"
        case .unsupportedVersion(let v):
            return "address version \(v) is not supported"
        case .malformed(let why):
            return "not a bech32m address: \(why)"
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
