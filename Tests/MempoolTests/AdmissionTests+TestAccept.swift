import ChainCore
import Foundation
import GRDB
@testable import Mempool
import Testing

/// `testtx` (JSON-RPC testmempoolaccept): a submission's checks, nothing kept.
@Suite struct MempoolTestAccept {
    @Test func checksLikeASubmissionAndStoresNothing() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let tx = h.pay(h.spendable[0])
        let tested = try await pool.test(hex: Hex.encode(tx.encoded))
        #expect(tested.txid == tx.txid && tested.fee == 1_000 && tested.size == tx.encodedSize)
        // Nothing kept: not in the pool, not on disk, nothing announced or traced.
        #expect(await pool.entries.isEmpty)
        let db = try DatabaseQueue(path: h.dir.appendingPathComponent("mempool.sqlite").path)
        #expect(try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM tx") } == 0)
        #expect(h.events.log.withLock { $0 }.isEmpty)
        #expect(try await pool.trace(tx.txid.hex).isEmpty)
        // The same refusals as a submission, against the pool as it is.
        _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
        for (candidate, reason) in [(tx, "txn-already-in-mempool"), (h.pay(h.spendable[0], fee: 1_000), "insufficient-fee"),
                                    (h.pay(h.spendable[1], fee: 10), "min-relay-fee-not-met"), (h.pay(h.spendable[1], to: 10), "dust")] {
            do {
                _ = try await pool.test(hex: Hex.encode(candidate.encoded))
                Issue.record("test accepted what a submission refuses (\(reason))")
            } catch {
                #expect(error.code == reason)
            }
        }
        do {
            _ = try await pool.test(hex: "zz")
            Issue.record("accepted garbage")
        } catch { #expect(error.code == "bad-encoding") }
        #expect(await pool.entries.count == 1)
    }
}
