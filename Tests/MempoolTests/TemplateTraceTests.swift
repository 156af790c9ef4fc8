import ChainCore
import Foundation
import GRDB
import NodeKit
import Testing
import TestSupport
@testable import Mempool

/// A transaction's `template` trace row waits in memory until its row is deleted (issue 11: no
/// random page of the trace index written per transaction when a template is made).
@Suite("Template trace rows")
struct TemplateTraceTests {
    func storedTemplateRows(_ h: PoolHarness, _ txid: Hash256) async throws -> Int {
        let db = try DatabaseQueue(path: h.poolPath)
        return try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM trace WHERE id = ? AND stage = 'template'", arguments: [txid.hex]) ?? 0 }
    }

    @Test("the template row is answered from memory while the transaction waits, and written once with its deletion (mined or removed)")
    func writtenWithTheDeletion() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try await PoolHarness()
            let pool = try h.open()
            let mined = h.pay(h.spendable[0]), dropped = h.pay(h.spendable[1])
            for tx in [mined, dropped] { _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: 1_795_565_000) }
            let generator = TemplateGenerator(source: pool, params: .regtest)
            let request = TemplateRequest(minerID: "m1", address: "a", hashrate: 0, threads: 1)
            #expect(try await generator.template(for: request).txids.count == 2)
            #expect(try await pool.trace(mined.txid.hex).map(\.stage) == [.received, .accepted, .template])
            #expect(try await storedTemplateRows(h, mined.txid) == 0)
            // A second template stamps nothing again.
            _ = try await TemplateGenerator(source: pool, params: .regtest).template(for: TemplateRequest(minerID: "m2", address: "a", hashrate: 0, threads: 1))
            let template = try #require(try await pool.trace(mined.txid.hex).first { $0.stage == .template })
            #expect(template.detail?.contains("miner m1") == true)

            await pool.remove([mined.txid], reason: "included in a block", publish: false) {
                TraceEvent(id: $0.hex, kind: .tx, stage: .mined, service: .mempool, time: ServiceSupport.now(), detail: "test")
            }
            await pool.remove([dropped.txid], reason: "test: removed")
            await pool.flushed()
            #expect(try await storedTemplateRows(h, mined.txid) == 1)
            #expect(try await storedTemplateRows(h, dropped.txid) == 1)
            #expect(try await pool.trace(mined.txid.hex).map(\.stage) == [.received, .accepted, .template, .mined])
            #expect(try await pool.trace(dropped.txid.hex).map(\.stage) == [.received, .accepted, .template, .removed])
        }
    }

    /// A pool holding one transaction (fee 1,000), put in a template: its `template` mark waits in memory.
    func templated() async throws -> (PoolHarness, Pool, Transaction) {
        let h = try await PoolHarness()
        let pool = try h.open()
        let first = h.pay(h.spendable[0], fee: 1_000)
        _ = try await pool.submit(hex: Hex.encode(first.encoded), receivedAt: nil)
        _ = try await TemplateGenerator(source: pool, params: .regtest).template(for: TemplateRequest(minerID: "m", address: "a", hashrate: 0, threads: 1))
        return (h, pool, first)
    }

    @Test("a replaced transaction's template row is written with its replacement")
    func writtenWithTheReplacement() async throws {
        try await withHangGuard(seconds: 180) {
            let (h, pool, first) = try await templated()
            let second = h.pay(h.spendable[0], fee: 50_000)
            _ = try await pool.submit(hex: Hex.encode(second.encoded), receivedAt: nil)
            #expect(await pool.entries[first.txid] == nil)
            #expect(try await storedTemplateRows(h, first.txid) == 1)
            #expect(try await pool.trace(first.txid.hex).filter { $0.stage == .template }.count == 1)
        }
    }

    @Test("a replacement whose commit fails gives the replaced transaction back with its template row")
    func keptWhenTheReplacementFails() async throws {
        try await withHangGuard(seconds: 180) {
            let (h, pool, first) = try await templated()
            // The file refuses the replacement's row (a trigger of the test's): its commit fails and is rolled back.
            let db = try DatabaseQueue(path: h.poolPath)
            try await db.write { try $0.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON tx WHEN NEW.fee = 50000 BEGIN SELECT RAISE(ABORT, 'injected'); END") }
            try db.close()
            let second = h.pay(h.spendable[0], fee: 50_000)
            do {
                _ = try await pool.submit(hex: Hex.encode(second.encoded), receivedAt: nil)
                Issue.record("a replacement that could not be stored was acknowledged")
            } catch let refusal as Pool.Refusal {
                #expect(refusal.code == "internal", "\(refusal)")
            }
            #expect(await pool.entries[second.txid] == nil)
            #expect(await pool.entries[first.txid] != nil, "the replaced transaction is back")
            #expect(try await pool.trace(first.txid.hex).filter { $0.stage == .template }.count == 1, "with its template row")
            await pool.remove([first.txid], reason: "test: removed")
            await pool.flushed()
            #expect(try await storedTemplateRows(h, first.txid) == 1, "written once, with its deletion")
        }
    }
}
