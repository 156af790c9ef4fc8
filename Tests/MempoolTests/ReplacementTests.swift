import ChainCore
import Foundation
import GRDB
import NodeKit
import Testing
import TestSupport
@testable import Mempool

/// Fee bump: a transaction spending a coin a pool transaction already spends replaces it (full-RBF)
/// when it pays for that, BIP-125's rules 2-6 as Bitcoin Core applies them.
@Suite struct MempoolReplacement {
    func submit(_ pool: Pool, _ tx: Transaction) async throws {
        _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
    }

    /// Refused with `code`, and a message containing `words`.
    func refused(_ pool: Pool, _ tx: Transaction, _ code: String, _ words: String) async {
        do {
            _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
            Issue.record("accepted; expected \(code)")
        } catch {
            #expect(error.code == code, "\(error.message)")
            #expect(error.message.contains(words), "\(error.message)")
        }
    }

    func storedTxids(_ h: PoolHarness) async throws -> Set<Hash256> {
        let db = try DatabaseQueue(path: h.dir.appendingPathComponent("mempool.sqlite").path)
        return Set(try await db.read { try Data.fetchAll($0, sql: "SELECT txid FROM tx") }.map { Hash256(bytes: Array($0)) })
    }

    /// `parent`'s output `index`, spent to one output paying it minus `fee`.
    func child(_ h: PoolHarness, of parent: Transaction, index: UInt32 = 1, fee: Amount = 1_000) -> Transaction {
        let out = parent.outputs[Int(index)]
        return h.wallet.spend([(OutPoint(txid: parent.txid, index: index), out)], to: [h.wallet.output(out.value - fee)])
    }

    @Test func aHigherFeeReplacesTheConflictAndItsDescendantsAtomically() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let original = h.pay(h.spendable[0], fee: 1_000)
        let kid = child(h, of: original, fee: 2_000)
        let unrelated = h.pay(h.spendable[1])
        for tx in [original, kid, unrelated] { try await submit(pool, tx) }
        let fee = 3_000 + Amount(original.encoded.count) + 10
        let bump = h.pay(h.spendable[0], fee: fee)
        let e = try await pool.submit(hex: Hex.encode(bump.encoded), receivedAt: 5.0)
        #expect(e.fee == fee)
        #expect(Set(await pool.entries.keys) == [unrelated.txid, bump.txid])
        // memory and file agree: the two replaced rows went, the replacement came, in one write
        #expect(try await storedTxids(h) == [unrelated.txid, bump.txid])
        let check = await pool.check()
        #expect(check.ok, "\(check.problems)")
        // R for each replaced (as Core's sequence topic), then A for the replacement, in sequence order
        let log = h.events.log.withLock { $0 }
        #expect(log.suffix(3) == ["R \(original.txid.hex) 4", "R \(kid.txid.hex) 5", "A \(bump.txid.hex) 6"])
        // live: a `replaced` event for each, naming the replacement, then the replacement's `accepted`
        let live = h.events.traces.withLock { $0 }.suffix(3)
        #expect(live.map { "\($0.stage) \($0.id)" } == ["replaced \(original.txid.hex)", "replaced \(kid.txid.hex)", "accepted \(bump.txid.hex)"])
        #expect(live.first?.detail?.contains("replaced by \(bump.txid.hex)") == true)
        #expect(live.last?.detail?.contains("replaces \(original.txid.hex), \(kid.txid.hex)") == true)
        // the replaced transaction's trace says who replaced it
        let trace = try await pool.trace(original.txid.hex)
        let replaced = try #require(trace.first { $0.stage == .replaced })
        #expect(replaced.detail?.contains("replaced by \(bump.txid.hex)") == true)
        #expect(try await pool.trace(kid.txid.hex).contains { $0.stage == .replaced && $0.detail?.contains(bump.txid.hex) == true })
        #expect(try await pool.trace(bump.txid.hex).map(\.stage) == [.received, .accepted])
        // a restart on the same file finds the replacement only
        let reopened = try h.open()
        try await reopened.loadPersisted()
        #expect(Set(await reopened.entries.keys) == [unrelated.txid, bump.txid])
    }

    /// Rule 6: the fee rate must be above each directly conflicting transaction's.
    @Test func aFeeRateNotAboveTheConflictsIsRefused() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let original = h.pay(h.spendable[0], fee: 5_000)
        try await submit(pool, original)
        await refused(pool, h.pay(h.spendable[0], fee: 5_000), "insufficient-fee", "is not above")
        await refused(pool, h.pay(h.spendable[0], fee: 2_000), "insufficient-fee", "is not above")
        #expect(Set(await pool.entries.keys) == [original.txid])
        #expect(try await storedTxids(h) == [original.txid])
        #expect(h.events.log.withLock { $0 }.count == 1)
    }

    /// Rule 3: at least the fees of everything replaced, descendants included.
    @Test func lessThanTheReplacedFeesIsRefused() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let original = h.pay(h.spendable[0], fee: 1_000)
        let kid = child(h, of: original, fee: 40_000)
        for tx in [original, kid] { try await submit(pool, tx) }
        // a higher fee rate than the original, but less than original + child
        await refused(pool, h.pay(h.spendable[0], fee: 30_000), "insufficient-fee", "is less than the 41000 units of the 2 transactions")
        #expect(Set(await pool.entries.keys) == [original.txid, kid.txid])
    }

    /// Rule 4: the extra fee pays for the replacement's own relay at the incremental rate.
    @Test func theExtraFeeMustPayForItsOwnRelay() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let original = h.pay(h.spendable[0], fee: 1_000)
        try await submit(pool, original)
        let size = Amount(h.pay(h.spendable[0], fee: 1_001).encoded.count)
        await refused(pool, h.pay(h.spendable[0], fee: 1_000 + size - 1), "insufficient-fee", "its relay needs at least \(size) more")
        let bump = h.pay(h.spendable[0], fee: 1_000 + size)
        #expect(Amount(bump.encoded.count) == size)
        try await submit(pool, bump)
        #expect(Set(await pool.entries.keys) == [bump.txid])
    }

    /// Rule 5: a bounded number of evictions, direct conflicts and descendants together.
    @Test func tooManyReplacementsAreRefused() async throws {
        let h = try await PoolHarness()
        var policy = Policy()
        policy.maxReplacements = 2
        let pool = try h.open(policy: policy)
        let original = h.pay(h.spendable[0], fee: 1_000)
        let kid = child(h, of: original)
        let grandkid = child(h, of: kid, index: 0)
        for tx in [original, kid, grandkid] { try await submit(pool, tx) }
        await refused(pool, h.pay(h.spendable[0], fee: 50_000), "too-many-potential-replacements", "more than 2 transactions")
        #expect(await pool.entries.count == 3)
        #expect(try await storedTxids(h).count == 3)
        // Core's default bound
        #expect(Policy().maxReplacements == 100)
    }

    /// Rule 2: no unconfirmed input that none of the replaced transactions spent.
    @Test func aNewUnconfirmedInputIsRefused() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let original = h.pay(h.spendable[0], fee: 1_000)
        let other = h.pay(h.spendable[1], fee: 1_000)
        for tx in [original, other] { try await submit(pool, tx) }
        let otherChange = (OutPoint(txid: other.txid, index: 1), other.outputs[1])
        let adds = h.wallet.spend([h.spendable[0], otherChange], to: [h.wallet.output(h.spendable[0].1.value - 50_000)])
        await refused(pool, adds, "replacement-adds-unconfirmed", other.txid.hex)
        // the same extra coin confirmed would do: spend a confirmed one instead
        let fine = h.wallet.spend([h.spendable[0], h.spendable[2]], to: [h.wallet.output(h.spendable[0].1.value - 50_000)])
        try await submit(pool, fine)
        #expect(Set(await pool.entries.keys) == [other.txid, fine.txid])
    }

    /// A replacement may not spend what it replaces.
    @Test func spendingAnOutputOfAReplacedTransactionIsRefused() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let original = h.pay(h.spendable[0], fee: 1_000)
        try await submit(pool, original)
        let change = (OutPoint(txid: original.txid, index: 1), original.outputs[1])
        let circular = h.wallet.spend([h.spendable[0], change], to: [h.wallet.output(h.spendable[0].1.value - 100_000)])
        await refused(pool, circular, "bad-txns-spends-conflicting-tx", original.txid.hex)
        #expect(Set(await pool.entries.keys) == [original.txid])
    }

    /// testmempoolaccept answers for a replacement without doing it.
    @Test func testAcceptChecksAReplacementWithoutApplyingIt() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let original = h.pay(h.spendable[0], fee: 1_000)
        try await submit(pool, original)
        let bump = h.pay(h.spendable[0], fee: 10_000)
        let e = try await pool.test(hex: Hex.encode(bump.encoded))
        #expect(e.txid == bump.txid)
        #expect(Set(await pool.entries.keys) == [original.txid])
        #expect(try await storedTxids(h) == [original.txid])
        do {
            _ = try await pool.test(hex: Hex.encode(h.pay(h.spendable[0], fee: 900).encoded))
            Issue.record("a lower fee passed testtx")
        } catch { #expect(error.code == "insufficient-fee") }
    }

    /// Several bumps of one transaction at once: the gate applies them one after the other, each
    /// judged against what is in the pool then; the pool stays consistent with its file.
    @Test func concurrentBumpsLeaveOneConsistentPool() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        try await submit(pool, h.pay(h.spendable[0], fee: 1_000))
        let bumps = (1...6).map { i in h.pay(h.spendable[0], fee: 1_000 + Amount(i) * 5_000) }
        await withTaskGroup(of: Void.self) { group in
            for tx in bumps { group.addTask { _ = try? await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil) } }
        }
        let left = await pool.entries
        #expect(left.count == 1)
        #expect(try await storedTxids(h) == Set(left.keys))
        #expect(await pool.check().ok)
        // the richest either went in directly or replaced a poorer one: it always ends in the pool
        #expect(left.keys.first == bumps.last!.txid)
    }

    /// A block that confirms the replacement removes it quietly; the replaced one's output never existed.
    @Test func aBlockWithTheReplacementEmptiesThePool() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let original = h.pay(h.spendable[0], fee: 1_000)
        try await submit(pool, original)
        let bump = h.pay(h.spendable[0], fee: 10_000)
        try await submit(pool, bump)
        let block = ChainFixtures.next(after: h.blocks.last!.header, height: h.blocks.count, paying: h.wallet, transactions: [bump])
        await pool.blockConnected(block, height: h.blocks.count)
        #expect(await pool.entries.isEmpty)
        #expect(try await storedTxids(h).isEmpty)
        // a late copy of the original is now a spend of a spent coin
        h.chain.view.withLock { $0.coins[h.spendable[0].0] = nil }
        await refused(pool, original, "bad-txns-inputs-missingorspent", "missing or spent")
    }
}
