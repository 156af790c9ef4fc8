import Crypto
import _CryptoExtras
import Dispatch
import Foundation
import NodeKit

/// Portal passwords: PBKDF2-HMAC-SHA256 (swift-crypto, as the wallet's keystore) over a random
/// 16-byte salt, `iterations` rounds, 32 bytes, stored as
/// `pbkdf2-sha256$<iterations>$<salt base64>$<derived base64>`; never the password itself.
/// The count is in each stored value, so raising `iterations` later keeps old passwords working.
enum PasswordHash {
    static let name = "pbkdf2-sha256"
    /// OWASP's figure for PBKDF2-HMAC-SHA256 (the same as the wallet's keystore).
    static let iterations = 600_000
    /// swift-crypto refuses fewer (and so does `verify`, for a stored value).
    static let minIterations = 210_000
    static let saltSize = 16
    static let minLength = 8
    static let maxBytes = 1024
    /// Derivations run here, one at a time: a fraction of a second of CPU each, never on the
    /// cooperative pool, and a flood of logins can take at most one core.
    private static let queue = DispatchQueue(label: "cairn.accounts.pbkdf2")

    static func derive(_ password: String, salt: [UInt8], iterations: Int) throws -> [UInt8] {
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: Array(password.utf8), salt: salt, using: .sha256,
                                                    outputByteCount: 32, rounds: iterations)
        return key.withUnsafeBytes { Array($0) }
    }

    private static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in queue.async { c.resume(with: Result { try work() }) } }
    }

    static func check(_ password: String) throws {
        guard password.count >= minLength, password.utf8.count <= maxBytes else {
            throw RPCError.badParams("a password has at least \(minLength) characters (and at most \(maxBytes) bytes)")
        }
    }

    static func make(_ password: String, iterations: Int = iterations) async throws -> String {
        var rng = SystemRandomNumberGenerator()
        let salt = (0..<saltSize).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let derived = try await offPool { try derive(password, salt: salt, iterations: iterations) }
        return "\(name)$\(iterations)$\(Data(salt).base64EncodedString())$\(Data(derived).base64EncodedString())"
    }

    /// Whether `password` matches `stored`. Without a usable stored value (no such account, or one
    /// the operator made, without a password) it derives against a dummy all the same, so that the
    /// answer takes as long and does not tell which names exist.
    static func verify(_ password: String, stored: String?) async throws -> Bool {
        let parts = (stored ?? "").split(separator: "$").map(String.init)
        guard parts.count == 4, parts[0] == name, let n = Int(parts[1]), (minIterations...10_000_000).contains(n),
              let salt = Data(base64Encoded: parts[2]), let expected = Data(base64Encoded: parts[3]) else {
            _ = try await offPool { try derive(password, salt: [UInt8](repeating: 0, count: saltSize), iterations: iterations) }
            return false
        }
        let derived = try await offPool { try derive(password, salt: Array(salt), iterations: n) }
        guard derived.count == expected.count else { return false }
        var diff: UInt8 = 0
        for (a, b) in zip(derived, expected) { diff |= a ^ b }
        return diff == 0
    }
}
