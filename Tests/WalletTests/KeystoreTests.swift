import ChainCore
import Crypto
import Foundation
import Testing
@testable import Wallet

@Suite("Keystore") struct KeystoreTests {
    @Test func roundTripAndFileFormat() throws {
        let dir = try TempDir()
        let path = dir.path("w.json")
        let key = Curve25519.Signing.PrivateKey()
        let file = try Keystore.seal(key, password: "correct horse", network: .regtest)
        try Keystore.write(file, path: path)

        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)

        // The documented JSON shape, key for key.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        #expect(Set(json.keys) == ["version", "network", "address", "public_key", "kdf", "cipher"])
        #expect(json["version"] as? Int == 1)
        #expect(json["network"] as? String == "regtest")
        #expect((json["address"] as? String)?.hasPrefix("rcrn1") == true)
        let kdf = try #require(json["kdf"] as? [String: Any])
        #expect(kdf["name"] as? String == "pbkdf2-sha256")
        #expect(kdf["iterations"] as? Int == 600_000)
        #expect(Data(base64Encoded: kdf["salt"] as? String ?? "")?.count == 16)
        let cipher = try #require(json["cipher"] as? [String: Any])
        #expect(cipher["name"] as? String == "aes-256-gcm")
        #expect(Data(base64Encoded: cipher["nonce"] as? String ?? "")?.count == 12)
        #expect(Data(base64Encoded: cipher["ciphertext"] as? String ?? "")?.count == 48)

        let read = try Keystore.read(path: path)
        let opened = try Keystore.open(read, password: "correct horse", path: path)
        #expect(opened.rawRepresentation == key.rawRepresentation)
        #expect(read.address == Address(publicKey: Array(key.publicKey.rawRepresentation), network: .regtest).string)
    }

    /// The format is plain PBKDF2-SHA256 then AES-256-GCM with no associated data,
    /// as WebCrypto does it: decrypt by hand from the documented fields.
    @Test func decryptsFromTheDocumentedFieldsAlone() throws {
        let key = Curve25519.Signing.PrivateKey()
        let file = try Keystore.seal(key, password: "pw", network: .testnet)
        let salt = try #require(Data(base64Encoded: file.kdf.salt))
        let wrapping = try Keystore.wrappingKey(password: "pw", salt: Array(salt), iterations: file.kdf.iterations)
        let combined = try #require(Data(base64Encoded: file.cipher.nonce))
            + (try #require(Data(base64Encoded: file.cipher.ciphertext)))
        let plain = try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: wrapping)
        #expect(plain == key.rawRepresentation)
        #expect(file.address.hasPrefix("tcrn1"))
    }

    @Test func wrongPasswordSaysSo() throws {
        let dir = try TempDir()
        let path = dir.path("w.json")
        try Keystore.write(try Keystore.seal(Curve25519.Signing.PrivateKey(), password: "right", network: .regtest), path: path)
        let file = try Keystore.read(path: path)
        #expect(throws: KeystoreError.wrongPassword(path)) { try Keystore.open(file, password: "wrong", path: path) }
        #expect(KeystoreError.wrongPassword(path).description.contains("wrong password"))
    }

    @Test func damagedFilesAreReportedAsDamaged() throws {
        let dir = try TempDir()
        let path = dir.path("w.json")
        let good = try Keystore.seal(Curve25519.Signing.PrivateKey(), password: "pw", network: .regtest)

        func isDamaged(_ body: () throws -> Void) -> Bool {
            do { try body(); return false } catch let e as KeystoreError {
                if case .damaged = e { return true }
                return false
            } catch { return false }
        }
        // Not JSON / truncated.
        try Data("{\"version\":1,\"netw".utf8).write(to: URL(fileURLWithPath: path))
        #expect(isDamaged { _ = try Keystore.read(path: path) })
        // A missing field.
        try Data("{\"version\":1}".utf8).write(to: URL(fileURLWithPath: path))
        #expect(isDamaged { _ = try Keystore.read(path: path) })
        // Ciphertext cut short.
        var f = good
        f.cipher.ciphertext = Data(Data(base64Encoded: good.cipher.ciphertext)!.prefix(40)).base64EncodedString()
        #expect(isDamaged { _ = try Keystore.open(f, password: "pw", path: path) })
        // Bad base64 nonce.
        f = good
        f.cipher.nonce = "***"
        #expect(isDamaged { _ = try Keystore.open(f, password: "pw", path: path) })
        // public_key that doesn't match the address.
        f = good
        f.publicKey = Hex.encode([UInt8](repeating: 7, count: 32))
        #expect(isDamaged { _ = try Keystore.open(f, password: "pw", path: path) })
        // Unknown cipher is "unsupported", not a password problem.
        f = good
        f.cipher.name = "chacha20"
        #expect(throws: KeystoreError.self) { try Keystore.open(f, password: "pw", path: path) }
        do { _ = try Keystore.open(f, password: "pw", path: path) } catch {
            #expect("\(error)".contains("not supported"))
        }
    }

    @Test func refusesToOverwrite() throws {
        let dir = try TempDir()
        let path = dir.path("w.json")
        try Keystore.write(try Keystore.seal(Curve25519.Signing.PrivateKey(), password: "a", network: .regtest), path: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: KeystoreError.exists(path)) {
            try Keystore.write(try Keystore.seal(Curve25519.Signing.PrivateKey(), password: "b", network: .regtest), path: path)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }
}
