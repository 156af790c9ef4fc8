import Crypto

/// Ed25519 signature checks, run in parallel across cores.
public struct SignatureCheck: Sendable {
    public let publicKey: [UInt8]
    public let message: Hash256
    public let signature: [UInt8]
    /// Position in the block (transaction index) and in the transaction (input index).
    public let txIndex: Int
    public let inputIndex: Int

    public init(publicKey: [UInt8], message: Hash256, signature: [UInt8], txIndex: Int, inputIndex: Int) {
        self.publicKey = publicKey
        self.message = message
        self.signature = signature
        self.txIndex = txIndex
        self.inputIndex = inputIndex
    }

    /// One verification through swift-crypto. A key that is not a valid point fails.
    public func verify() -> Bool {
        guard signature.count == Limits.signatureSize,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message.bytes)
    }
}

public enum SignatureBatch {
    /// Below this many checks, one task does them all (spawning costs more).
    public static let parallelThreshold = 16

    /// Verifies every check; returns the first failing one (lowest position), or nil.
    public static func firstFailure(_ checks: [SignatureCheck], parallelism: Int = defaultParallelism) async -> SignatureCheck? {
        if checks.count < parallelThreshold || parallelism <= 1 {
            return checks.first { !$0.verify() }
        }
        let chunk = (checks.count + parallelism - 1) / parallelism
        let failures = await withTaskGroup(of: Int?.self) { group in
            for start in stride(from: 0, to: checks.count, by: chunk) {
                let end = min(start + chunk, checks.count)
                group.addTask {
                    for i in start..<end where !checks[i].verify() { return i }
                    return nil
                }
            }
            var found = [Int]()
            for await f in group { if let f { found.append(f) } }
            return found
        }
        return failures.min().map { checks[$0] }
    }

    public static var defaultParallelism: Int { max(1, activeProcessorCount()) }
}

#if canImport(Glibc)
import Glibc
func activeProcessorCount() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
#else
import Foundation
func activeProcessorCount() -> Int { ProcessInfo.processInfo.activeProcessorCount }
#endif
