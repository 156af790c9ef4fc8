import ChainCore
import Crypto
import _CryptoExtras
import Foundation

/// The wallet file: an Ed25519 private key (its 32-byte raw representation)
/// encrypted with AES-256-GCM under a key from PBKDF2-HMAC-SHA256(password,
/// salt, 600,000 rounds). The browser wallet reads and writes the same format
/// with WebCrypto (docs/PROTOCOL.md, "Keystore file").
public struct KeystoreFile: Codable, Equatable, Sendable {
    public struct KDF: Codable, Equatable, Sendable {
        public var name: String
        public var iterations: Int
        public var salt: String
    }
    public struct Cipher: Codable, Equatable, Sendable {
        public var name: String
        public var nonce: String
        public var ciphertext: String
    }
    public var version: Int
    public var network: String
    public var address: String
    public var publicKey: String
    public var kdf: KDF
    public var cipher: Cipher

    enum CodingKeys: String, CodingKey {
        case version, network, address, publicKey = "public_key", kdf, cipher
    }
}

public enum KeystoreError: Error, CustomStringConvertible, Equatable {
    case exists(String)
    case notFound(String)
    case wrongPassword(String)
    case damaged(String, String)
    case unsupported(String, String)
    case cannotWrite(String, String)

    public var description: String {
        switch self {
        case .exists(let p): return "\(p) already exists: refusing to overwrite a wallet (move it away or choose another --keystore)"
        case .notFound(let p): return "no wallet at \(p): create one with `cairn wallet new` (or give --keystore / CAIRN_WALLET)"
        case .wrongPassword(let p): return "wrong password for \(p): AES-GCM authentication of the encrypted key failed"
        case .damaged(let p, let why): return "\(p) is damaged: \(why)"
        case .unsupported(let p, let why): return "\(p) is not supported: \(why)"
        case .cannotWrite(let p, let why): return "cannot write \(p): \(why)"
        }
    }
}

public enum Keystore {
    public static let version = 1
    public static let iterations = 600_000
    public static let kdfName = "pbkdf2-sha256"
    public static let cipherName = "aes-256-gcm"
    public static let saltSize = 16
    public static let nonceSize = 12
    public static let tagSize = 16
    /// Sanity bound when reading: a file asking for more rounds than this is refused.
    public static let maxIterations = 10_000_000

    public static func wrappingKey(password: String, salt: [UInt8], iterations: Int) throws -> SymmetricKey {
        try KDF.Insecure.PBKDF2.deriveKey(from: Array(password.utf8), salt: salt, using: .sha256,
                                          outputByteCount: 32, rounds: iterations)
    }

    /// Encrypts `key` into a keystore for `network`.
    public static func seal(_ key: Curve25519.Signing.PrivateKey, password: String, network: Network,
                     iterations: Int = Keystore.iterations) throws -> KeystoreFile {
        var salt = [UInt8](repeating: 0, count: saltSize)
        var nonceBytes = [UInt8](repeating: 0, count: nonceSize)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = rng.next() }
        for i in nonceBytes.indices { nonceBytes[i] = rng.next() }
        let wrapping = try wrappingKey(password: password, salt: salt, iterations: iterations)
        let box = try AES.GCM.seal(key.rawRepresentation, using: wrapping, nonce: AES.GCM.Nonce(data: nonceBytes))
        let publicKey = Array(key.publicKey.rawRepresentation)
        return KeystoreFile(
            version: version, network: network.rawValue,
            address: Address(publicKey: publicKey, network: network).string,
            publicKey: Hex.encode(publicKey),
            kdf: .init(name: kdfName, iterations: iterations, salt: Data(salt).base64EncodedString()),
            cipher: .init(name: cipherName, nonce: Data(nonceBytes).base64EncodedString(),
                          ciphertext: Data(box.ciphertext + box.tag).base64EncodedString()))
    }

    /// Checks the file's structure (everything but the password) and returns its address.
    public static func check(_ file: KeystoreFile, path: String) throws(KeystoreError) -> Address {
        guard file.version == version else { throw .unsupported(path, "version \(file.version), this cairn reads version \(version)") }
        guard let network = Network(rawValue: file.network) else { throw .damaged(path, "unknown network '\(file.network)'") }
        guard file.kdf.name == kdfName else { throw .unsupported(path, "key derivation '\(file.kdf.name)', expected \(kdfName)") }
        guard file.cipher.name == cipherName else { throw .unsupported(path, "cipher '\(file.cipher.name)', expected \(cipherName)") }
        guard file.kdf.iterations >= 1, file.kdf.iterations <= maxIterations else {
            throw .damaged(path, "kdf.iterations \(file.kdf.iterations) is out of range")
        }
        guard let pub = Hex.decode(file.publicKey), pub.count == 32 else { throw .damaged(path, "public_key is not 32 bytes of hex") }
        let address: Address
        do { address = try Address(file.address, network: network) } catch {
            throw .damaged(path, "address: \(error.description)")
        }
        guard address.publicKey == pub else { throw .damaged(path, "address and public_key do not match") }
        guard let salt = Data(base64Encoded: file.kdf.salt), salt.count >= 8 else { throw .damaged(path, "kdf.salt is not base64 of at least 8 bytes") }
        guard let nonce = Data(base64Encoded: file.cipher.nonce), nonce.count == nonceSize else {
            throw .damaged(path, "cipher.nonce is not base64 of \(nonceSize) bytes")
        }
        guard let ct = Data(base64Encoded: file.cipher.ciphertext), ct.count == 32 + tagSize else {
            throw .damaged(path, "cipher.ciphertext is not base64 of \(32 + tagSize) bytes (32-byte key + 16-byte tag)")
        }
        return address
    }

    /// Decrypts the private key; a wrong password is reported as such.
    public static func open(_ file: KeystoreFile, password: String, path: String) throws(KeystoreError) -> Curve25519.Signing.PrivateKey {
        let address = try check(file, path: path)
        let salt = Data(base64Encoded: file.kdf.salt)!
        let nonce = Data(base64Encoded: file.cipher.nonce)!
        let ct = Data(base64Encoded: file.cipher.ciphertext)!
        let plain: Data
        do {
            let wrapping = try wrappingKey(password: password, salt: Array(salt), iterations: file.kdf.iterations)
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: nonce), ciphertext: ct.prefix(32), tag: ct.suffix(tagSize))
            plain = try AES.GCM.open(box, using: wrapping)
        } catch {
            throw .wrongPassword(path)
        }
        let key: Curve25519.Signing.PrivateKey
        do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: plain) } catch {
            throw .damaged(path, "the decrypted key is not an Ed25519 key")
        }
        guard Array(key.publicKey.rawRepresentation) == address.publicKey else {
            throw .damaged(path, "the decrypted key does not match public_key")
        }
        return key
    }

    public static func read(path: String) throws(KeystoreError) -> KeystoreFile {
        guard FileManager.default.fileExists(atPath: path) else { throw .notFound(path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw .damaged(path, "cannot read it") }
        do {
            return try JSONDecoder().decode(KeystoreFile.self, from: data)
        } catch {
            throw .damaged(path, "not a keystore JSON file (\(Self.describe(error)))")
        }
    }

    /// Writes a new file with mode 0600; never replaces an existing one (O_EXCL).
    public static func write(_ file: KeystoreFile, path: String) throws(KeystoreError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(file) + Data("\n".utf8) } catch { throw .cannotWrite(path, "\(error)") }
        try SecureFile.createExclusive(path: path, contents: Array(data))
    }

    public static func describe(_ error: Error) -> String {
        guard let e = error as? Swift.DecodingError else { return "\(error)" }
        switch e {
        case .keyNotFound(let key, _): return "missing \(key.stringValue)"
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            return "wrong type at \(c.codingPath.map { $0.stringValue }.joined(separator: "."))"
        case .dataCorrupted(let c): return c.debugDescription
        @unknown default: return "\(error)"
        }
    }
}

/// Files only their owner may read (keystores, the node key).
public enum SecureFile {
    public static func createExclusive(path: String, contents: [UInt8]) throws(KeystoreError) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let e = errno
            if e == EEXIST { throw .exists(path) }
            throw .cannotWrite(path, String(cString: strerror(e)))
        }
        defer { close(fd) }
        fchmod(fd, 0o600)   // in case the umask was unusual
        var written = 0
        while written < contents.count {
            let n = contents[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let why = String(cString: strerror(errno))
                unlink(path)
                throw .cannotWrite(path, why)
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw .cannotWrite(path, String(cString: strerror(errno))) }
    }
}
