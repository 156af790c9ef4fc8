import Foundation
import Hummingbird
import NodeKit
import Synchronization

/// Backpressure on transaction submissions (issue 11): at most `limit` submissions in flight from
/// this edge to the mempool (`POST /api/tx`, JSON-RPC `sendrawtransaction`, the faucet). One over
/// is refused at once with 503 `queue-full` and `Retry-After`, before its body is sent on, so a
/// client that floods holds no more than `limit` requests' worth of memory here, and every other
/// route (reads, the explorer) keeps being served. The mempool bounds its own queue too (the
/// group commit's writer: `mempool-busy`), answered the same way. In flight: sent to the mempool in
/// a `submittxs` batch, or waiting in the edge's batcher for the next one (SubmitBatcher.swift).
///
/// JSON-RPC: the refusal is error **-28** (Bitcoin Core's `RPC_IN_WARMUP`, the one Core code that
/// means "the node cannot take this now, retry": Core itself answers a full RPC work queue with
/// HTTP 503 "Work queue depth exceeded" and no JSON-RPC code), with `data` {code, status,
/// retryAfter} as the hosted-access refusals.
final class SubmitQueue: Sendable {
    /// In flight at most, by default: well above what a commit's latency times the mempool's rate
    /// needs (5,000 tx/s × 20 ms = 100), small enough to cost little memory.
    static let defaultLimit = 1_024
    /// Seconds a refused client should wait (`Retry-After`).
    static let retryAfter = 1

    private let inFlight = Atomic<Int>(0)
    private let bound: Atomic<Int>

    init(limit: Int = SubmitQueue.defaultLimit) {
        bound = Atomic(max(1, limit))
    }

    var limit: Int { bound.load(ordering: .relaxed) }
    var count: Int { inFlight.load(ordering: .relaxed) }

    /// Changes the bound (the edge's configuration; tests).
    func setLimit(_ n: Int) { bound.store(max(1, n), ordering: .relaxed) }

    /// 503 `queue-full` with `Retry-After`, the JSON error shape.
    static func full(_ message: String) -> APIError {
        APIError(.serviceUnavailable, "queue-full", message, headers: [.retryAfter: "\(retryAfter)"])
    }

    /// Runs `body` (one submission to the mempool) if fewer than `limit` are in flight, else
    /// refuses at once; the mempool's own `mempool-busy` becomes the same refusal.
    func submit<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let now = inFlight.add(1, ordering: .acquiringAndReleasing).newValue
        defer { inFlight.subtract(1, ordering: .acquiringAndReleasing) }
        guard now <= limit else {
            throw Self.full("\(limit) transaction submissions are already in flight to the mempool; retry shortly")
        }
        do {
            return try await body()
        } catch let e as APIError where e.code == MempoolRefusal.busy.rawValue {
            throw Self.full(e.message)
        }
    }

    /// The JSON-RPC error for a full queue (see the type's note).
    static func fault(_ e: APIError) -> RPCFault {
        RPCFault(RPCFault.inWarmupCode, "Work queue depth exceeded: \(e.message)",
                 data: .object(["code": .string(e.code), "status": .int(Int64(e.status.code)), "retryAfter": .int(Int64(retryAfter))]))
    }
}
