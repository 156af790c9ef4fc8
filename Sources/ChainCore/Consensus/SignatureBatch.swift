import Crypto
import Dispatch
import Synchronization

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

    /// The cores online, read once (`sysconf` opens and reads a /sys file at every call: it was 4% of
    /// the mempool's CPU when read per signature check).
    public static let defaultParallelism: Int = max(1, activeProcessorCount())
}

/// Signature checks verified on Dispatch's worker threads, started at once, for a caller that
/// does other work on a thread of its own meanwhile (the chain store's database writer writes a
/// block while its signatures are checked) and then waits for the verdict.
///
/// The workers take chunks of `chunkSize` checks in turn, so a core that is busy with
/// something else does less of the work instead of holding up the others; once a check fails,
/// chunks after it are skipped (the verdict is still the lowest failing position).
public final class SignatureVerification: Sendable {
    public static let chunkSize = 64

    public let checks: [SignatureCheck]
    private let next = Atomic<Int>(0)
    /// Lowest failing position found so far (`Int.max`: none).
    private let lowestFailure = Atomic<Int>(.max)
    private let group = DispatchGroup()

    public init(_ checks: [SignatureCheck], parallelism: Int = SignatureBatch.defaultParallelism) {
        self.checks = checks
        let chunks = (checks.count + Self.chunkSize - 1) / Self.chunkSize
        for _ in 0..<min(max(1, parallelism), chunks) {
            DispatchQueue.global(qos: .userInitiated).async(group: group) { [self] in work() }
        }
    }

    private func work() {
        while true {
            let start = next.add(Self.chunkSize, ordering: .relaxed).oldValue
            guard start < checks.count, start < lowestFailure.load(ordering: .relaxed) else { return }
            for i in start..<min(start + Self.chunkSize, checks.count) where !checks[i].verify() {
                lowestFailure.min(i, ordering: .relaxed)
                return
            }
        }
    }

    /// Stops handing out chunks (those under way finish): for a caller that no longer needs the
    /// verdict, which is then meaningless.
    public func cancel() {
        next.store(checks.count, ordering: .relaxed)
    }

    /// Blocks the calling thread until the verdict: the position in `checks` of the first failing
    /// check, or nil when all verify. Never call it from the cooperative pool (a task's thread);
    /// `result()` is the async form.
    public func wait() -> Int? {
        group.wait()
        return verdict
    }

    /// The verdict of `wait()`, awaited without blocking a thread of the cooperative pool.
    public func result() async -> Int? {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            group.notify(queue: .global(qos: .userInitiated)) { c.resume() }
        }
        return verdict
    }

    private var verdict: Int? {
        let i = lowestFailure.load(ordering: .acquiring)
        return i == .max ? nil : i
    }
}

#if canImport(Glibc)
import Glibc
func activeProcessorCount() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
#else
import Foundation
func activeProcessorCount() -> Int { ProcessInfo.processInfo.activeProcessorCount }
#endif
