import ChainCore
import Crypto
import Foundation

/// SLIP-0010 key derivation for Ed25519: hardened children only (the curve allows no other).
public enum SLIP10 {
    public static let hardened: UInt32 = 0x8000_0000
    static let curveKey = Array("ed25519 seed".utf8)

    /// A node of the tree: the 32-byte private key (an RFC 8032 seed) and its chain code.
    public struct Node: Equatable, Sendable {
        public var key: [UInt8]
        public var chainCode: [UInt8]

        public var signingKey: Curve25519.Signing.PrivateKey {
            // 32 bytes always make a key: the initializer cannot fail here.
            try! Curve25519.Signing.PrivateKey(rawRepresentation: key)
        }
        public var publicKey: [UInt8] { Array(signingKey.publicKey.rawRepresentation) }
    }

    public enum PathError: Error, Equatable, CustomStringConvertible {
        case syntax(String)
        case notHardened(String)
        public var description: String {
            switch self {
            case .syntax(let p): return "'\(p)' is not a derivation path such as m/44'/7369'/0'/0'/0'"
            case .notHardened(let p): return "'\(p)': Ed25519 keys (SLIP-0010) derive only hardened children: mark every step with '"
            }
        }
    }

    public static func master(seed: [UInt8]) -> Node {
        split(Array(HMAC<SHA512>.authenticationCode(for: seed, using: SymmetricKey(data: curveKey))))
    }

    /// The hardened child `index` (given with or without the hardened bit).
    public static func child(_ parent: Node, index: UInt32) -> Node {
        var data: [UInt8] = [0]
        data += parent.key
        let i = index | hardened
        data += [UInt8(i >> 24), UInt8(i >> 16 & 0xff), UInt8(i >> 8 & 0xff), UInt8(i & 0xff)]
        return split(Array(HMAC<SHA512>.authenticationCode(for: data, using: SymmetricKey(data: parent.chainCode))))
    }

    /// Parses `m/44'/7369'/0'/0'/0'` (`h` or `H` also mark a hardened step) into indexes.
    public static func parse(_ path: String) throws(PathError) -> [UInt32] {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.first == "m" else { throw .syntax(path) }
        parts.removeFirst()
        var out = [UInt32]()
        for var p in parts {
            guard let last = p.last else { throw .syntax(path) }
            guard "'hH".contains(last) else { throw .notHardened(path) }
            p.removeLast()
            guard !p.isEmpty, p.allSatisfy(\.isASCII), p.allSatisfy(\.isNumber), let v = UInt32(p), v < hardened else { throw .syntax(path) }
            out.append(v | hardened)
        }
        return out
    }

    public static func derive(seed: [UInt8], path: [UInt32]) -> Node {
        path.reduce(master(seed: seed)) { child($0, index: $1) }
    }

    public static func derive(seed: [UInt8], path: String) throws(PathError) -> Node {
        derive(seed: seed, path: try parse(path))
    }

    private static func split(_ i: [UInt8]) -> Node {
        Node(key: Array(i[0..<32]), chainCode: Array(i[32..<64]))
    }
}

/// Cairn's accounts from one recovery phrase (docs/PROTOCOL.md, "Recovery phrase"):
/// account `n` is the key at m/44'/7369'/0'/0'/n'. The same on every network (only the
/// address's prefix differs) and the same in the browser wallet (js/lib/slip10.js).
public enum PhraseWallet {
    /// The coin type (hardened). Cairn is not registered in SLIP-44; this number is Cairn's and
    /// must never change (every phrase's addresses would move).
    public static let coinType: UInt32 = 7369

    public static func path(account: UInt32) -> String { "m/44'/\(coinType)'/0'/0'/\(account)'" }

    /// The key of account `account` from a checked phrase.
    public static func key(words: [String], list: WordList, passphrase: String = "", account: UInt32 = 0) throws -> Curve25519.Signing.PrivateKey {
        _ = try Mnemonic.entropy(words: words, list: list)
        let seed = try Mnemonic.seed(words: words, passphrase: passphrase)
        return SLIP10.derive(seed: seed, path: try SLIP10.parse(path(account: account))).signingKey
    }

    public static func address(words: [String], list: WordList, account: UInt32 = 0, network: Network) throws -> Address {
        let key = try key(words: words, list: list, account: account)
        return Address(publicKey: Array(key.publicKey.rawRepresentation), network: network)
    }
}
