import ChainCore
import NodeKit
import Synchronization

/// `submittxs` (docs/PROTOCOL.md, "Bus: batched submissions"): many raw transactions in one bus
/// request from the edge. Each is admitted on its own through the same stages as a `submittx`
/// (`submit(raw:receivedAt:)`), all of a batch concurrently, as concurrent `submittx` requests are;
/// the reply carries every answer in order and leaves once each is settled (an accepted one on disk:
/// the group commit), so an answer is never given before its own commit.
enum BatchSubmit {
    /// Counters for `getstatus` (and the tests: a flood through the edge comes in batches).
    final class Stats: Sendable {
        private let batchCount = Atomic<Int>(0)
        private let transactionCount = Atomic<Int>(0)
        private let largestCount = Atomic<Int>(0)

        var batches: Int { batchCount.load(ordering: .relaxed) }
        var transactions: Int { transactionCount.load(ordering: .relaxed) }
        var largest: Int { largestCount.load(ordering: .relaxed) }

        func record(_ count: Int) {
            batchCount.add(1, ordering: .relaxed)
            transactionCount.add(count, ordering: .relaxed)
            largestCount.max(count, ordering: .relaxed)
        }
    }

    /// Answers one `submittxs` request: a malformed batch is refused as a whole (`bad-params`),
    /// before any transaction is admitted.
    static func serve(_ payload: [UInt8], pool: Pool, stats: Stats) async throws(RPCError) -> [UInt8] {
        let items = try SubmitBatch.decodeRequest(payload)
        stats.record(items.count)
        return await SubmitBatch.answer(items) { item in
            do throws(Pool.Refusal) {
                let e = try await pool.submit(raw: item.raw, receivedAt: item.receivedAt)
                return .accepted(txid: e.txid, fee: e.fee, size: e.size)
            } catch {
                return .refused(RPCError(error.code, error.message))
            }
        }
    }
}

extension Pool {
    /// A submission as raw bytes (`submittxs`): the stages and the answers of `submit(hex:receivedAt:)`
    /// for the hex of these bytes, without the hex.
    nonisolated func submit(raw: [UInt8], receivedAt: Double?) async throws(Refusal) -> PoolEntry {
        let started = StageTimes.now()
        let tx = try Admission.decode(raw: raw, policy: policy)
        let pre = await precheck(tx, raw: raw)
        StageTimes.shared.record(.precheck, since: started)
        await announceReceived(tx.txid, receivedAt: receivedAt)
        let e = try await admit(tx, raw: raw, receivedAt: receivedAt, prechecked: pre)
        StageTimes.shared.record(.total, since: started)
        return e
    }
}

extension Admission {
    /// Stage 1 for raw bytes: what `decode(hex:policy:)` refuses for their hex (it takes up to
    /// 2 × maxTxSize + 2 hex digits, so up to maxTxSize + 1 bytes, leaving the exact size to the
    /// context-free checks).
    static func decode(raw: [UInt8], policy: Policy) throws(Refusal) -> Transaction {
        guard raw.count <= policy.maxTxSize + 1 else {
            throw Refusal(code: Policy.Reason.oversize.rawValue, message: "transaction larger than \(policy.maxTxSize) bytes")
        }
        do {
            return try Transaction(bytes: raw)
        } catch {
            throw Refusal(code: Policy.Reason.malformed.rawValue, message: error.description)
        }
    }
}
