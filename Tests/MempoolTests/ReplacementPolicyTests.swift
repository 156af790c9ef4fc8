import ChainCore
import Testing
@testable import Mempool

/// The replacement rules (BIP-125 as Bitcoin Core applies them, full-RBF) as pure functions over a
/// graph, without a pool: each rule alone, synchronously.
@Suite("Replacement policy")
struct ReplacementPolicyTests {
    typealias G = PoolGraphTests

    /// A pool with `original` (spending coin 1, fee 1,000, 100 bytes: 10/byte) and its child `kid`
    /// (fee 2,000, 100 bytes), plus `unrelated` (coin 2).
    static func pool() -> (PoolGraph, original: PoolEntry, kid: PoolEntry, unrelated: PoolEntry) {
        var g = PoolGraph()
        let original = G.entry([G.coin(1)], fee: 1_000, size: 100, tag: 1)
        let kid = G.entry([G.out(original, 0)], fee: 2_000, size: 100, tag: 2)
        let unrelated = G.entry([G.coin(2)], fee: 500, size: 100, tag: 3)
        for e in [original, kid, unrelated] { g.insert(e) }
        return (g, original, kid, unrelated)
    }

    /// The refusal's code, nil when allowed.
    func code(_ body: () throws -> Replacement?) -> String? {
        do { _ = try body(); return nil } catch { return (error as? Pool.Refusal)?.code ?? "\(error)" }
    }

    @Test("no conflict: no replacement")
    func noConflict() throws {
        let (g, _, _, _) = Self.pool()
        let tx = G.entry([G.coin(9)], tag: 9).tx
        #expect(try ReplacementPolicy.plan(tx, fee: 1, size: 100, parents: [], in: g, policy: Policy()) == nil)
        try ReplacementPolicy.refuseConflicts(tx, in: g)
    }

    @Test("a replacement that pays for it evicts the conflict and its descendants, with their fees")
    func evictsTheFamily() throws {
        let (g, original, kid, _) = Self.pool()
        let bump = G.entry([G.coin(1)], tag: 7)
        // 3,000 replaced + 1/byte × 100 bytes = 3,100 at least
        let plan = try #require(try ReplacementPolicy.plan(bump.tx, fee: 3_100, size: 100, parents: [], in: g, policy: Policy()))
        #expect(plan.direct == [original.txid])
        #expect(plan.evicted.map(\.txid) == [original.txid, kid.txid])
        #expect(plan.fees == 3_000)
        // the trace texts: the direct conflict names the fees, its descendant says what it was
        let bumped = PoolEntry(tx: bump.tx, txid: bump.txid, raw: bump.raw, fee: 3_100, spent: [], time: 4, parents: [])
        #expect(plan.replacedEvent(original, by: bumped).detail == "replaced by \(bump.txid.hex) (fee 1000 → 3100 units, 10.00 → 31.00 units/byte)")
        #expect(plan.replacedEvent(kid, by: bumped).detail?.contains("a descendant of a replaced transaction") == true)
        #expect(plan.replacedEvent(kid, by: bumped).stage == .replaced)
    }

    @Test("rule 6: a fee rate not above a direct conflict's is refused")
    func rule6() {
        let (g, _, _, _) = Self.pool()
        let bump = G.entry([G.coin(1)], tag: 7)
        #expect(code { try ReplacementPolicy.plan(bump.tx, fee: 1_000, size: 100, parents: [], in: g, policy: Policy()) } == "insufficient-fee")
    }

    @Test("rules 3 and 4: the replaced fees, plus the incremental relay fee for its own size")
    func rules3And4() throws {
        let (g, _, _, _) = Self.pool()
        let bump = G.entry([G.coin(1)], tag: 7)
        // a rate above the conflict's (10/byte), but less than the 3,000 the family pays
        #expect(code { try ReplacementPolicy.plan(bump.tx, fee: 2_999, size: 100, parents: [], in: g, policy: Policy()) } == "insufficient-fee")
        // the fees, but not 100 more for its relay
        #expect(code { try ReplacementPolicy.plan(bump.tx, fee: 3_099, size: 100, parents: [], in: g, policy: Policy()) } == "insufficient-fee")
        var cheap = Policy()
        cheap.incrementalFeeRate = 0
        #expect(try ReplacementPolicy.plan(bump.tx, fee: 3_000, size: 100, parents: [], in: g, policy: cheap)?.fees == 3_000)
    }

    @Test("rule 5: at most maxReplacements evicted in all")
    func rule5() {
        let (g, _, _, _) = Self.pool()
        var strict = Policy()
        strict.maxReplacements = 1
        let bump = G.entry([G.coin(1)], tag: 7)
        #expect(code { try ReplacementPolicy.plan(bump.tx, fee: 10_000, size: 100, parents: [], in: g, policy: strict) } == "too-many-potential-replacements")
    }

    @Test("rule 2: no new unconfirmed parent; and never spending what it replaces")
    func rule2AndSpendsConflicting() {
        let (g, original, kid, unrelated) = Self.pool()
        // spends coin 1 (conflict: original) and an output of `unrelated`, which no conflict spent from
        let adds = G.entry([G.coin(1), G.out(unrelated, 0)], tag: 7)
        #expect(code { try ReplacementPolicy.plan(adds.tx, fee: 10_000, size: 100, parents: [unrelated.txid], in: g, policy: Policy()) }
                == "replacement-adds-unconfirmed")
        // replaces `kid` (spending original:0 too) while spending original:1: allowed, original is the parent kid spent from
        let sibling = G.entry([G.out(original, 0), G.out(original, 1)], tag: 8)
        #expect(code { try ReplacementPolicy.plan(sibling.tx, fee: 10_000, size: 100, parents: [original.txid], in: g, policy: Policy()) } == nil)
        // replaces `original` (coin 1) while spending kid's output: kid goes with original
        let own = G.entry([G.coin(1), G.out(kid, 0)], tag: 9)
        #expect(code { try ReplacementPolicy.plan(own.tx, fee: 10_000, size: 100, parents: [kid.txid], in: g, policy: Policy()) }
                == "bad-txns-spends-conflicting-tx")
    }

    @Test("re-admission refuses any conflict")
    func readmissionRefusesConflicts() {
        let (g, original, _, _) = Self.pool()
        do {
            try ReplacementPolicy.refuseConflicts(G.entry([G.coin(1)], tag: 7).tx, in: g)
            Issue.record("a conflict was let through")
        } catch {
            #expect(error.code == "txn-mempool-conflict")
            #expect(error.message.contains(original.txid.hex))
        }
    }
}
