import ChainCore
import NodeKit
import Testing
import TestSupport
@testable import Mempool

/// The admission pipeline's pure stages, each alone, without a pool or a chain.
@Suite("Admission stages")
struct AdmissionTests {
    typealias G = PoolGraphTests

    func code(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return (error as? Pool.Refusal)?.code ?? "\(error)" }
    }

    /// A confirmed coin of `wallet` and a signed spend of it paying `value` (the rest is the fee).
    static func signedSpend(_ wallet: TestWallet, coin value: Amount = 100_000, paying: Amount = 90_000) -> (Transaction, [Coin]) {
        let out = wallet.output(value)
        let tx = wallet.spend([(G.coin(5), out)], to: [wallet.output(paying)])
        return (tx, [Coin(output: out, height: 1, isCoinbase: false)])
    }

    @Test("decode: not hex, too long, not a transaction")
    func decode() throws {
        var small = Policy()
        small.maxTxSize = 10
        #expect(code { _ = try Admission.decode(hex: "zz", policy: Policy()) } == "bad-encoding")
        #expect(code { _ = try Admission.decode(hex: String(repeating: "00", count: 12), policy: small) } == "tx-size")
        #expect(code { _ = try Admission.decode(hex: "00", policy: Policy()) } == "bad-encoding")
        let (tx, _) = Self.signedSpend(TestWallet())
        let (decoded, raw) = try Admission.decode(hex: Hex.encode(tx.encoded), policy: Policy())
        #expect(decoded.txid == tx.txid && raw == tx.encoded)
    }

    @Test("context-free: size, coinbase, dust")
    func contextFree() {
        let (tx, _) = Self.signedSpend(TestWallet())
        #expect(code { try Admission.checkContextFree(tx, raw: tx.encoded, policy: Policy()) } == nil)
        var small = Policy()
        small.maxTxSize = tx.encodedSize - 1
        #expect(code { try Admission.checkContextFree(tx, raw: tx.encoded, policy: small) } == "tx-size")
        let coinbase = ChainFixtures.coinbase(height: 9, outputs: [TestWallet().output(5_000)])
        #expect(code { try Admission.checkContextFree(coinbase, raw: coinbase.encoded, policy: Policy()) } == "coinbase")
        let (dusty, _) = Self.signedSpend(TestWallet(), paying: 999)
        #expect(code { try Admission.checkContextFree(dusty, raw: dusty.encoded, policy: Policy()) } == "dust")
    }

    @Test("pool inputs: a pool parent's output is an unconfirmed coin; the rest is asked of the chain")
    func poolInputs() throws {
        var g = PoolGraph()
        let parent = G.entry([G.coin(1)], tag: 1)
        g.insert(parent)
        let child = G.entry([G.out(parent, 1), G.coin(2)], tag: 2)
        let found = try Admission.poolInputs(child.tx, in: g)
        #expect(found.parents == [parent.txid])
        #expect(found.missing == [G.coin(2)])
        #expect(found.coins[0]?.height == Int.max && found.coins[0]?.output == parent.tx.outputs[1])
        #expect(found.coins[1] == nil)
        let beyond = G.entry([G.out(parent, 2)], tag: 3)
        #expect(code { _ = try Admission.poolInputs(beyond.tx, in: g) } == "bad-txns-inputs-missingorspent")
    }

    @Test("input rules give the fee; fee rate and ancestor limits")
    func inputRulesAndPolicy() throws {
        let (tx, spent) = Self.signedSpend(TestWallet())
        #expect(try Admission.checkInputs(tx, spent: spent, tipHeight: 10, params: .regtest) == 10_000)
        let (over, overSpent) = Self.signedSpend(TestWallet(), coin: 1_000, paying: 2_000)
        #expect(code { _ = try Admission.checkInputs(over, spent: overSpent, tipHeight: 10, params: .regtest) } != nil)
        #expect(code { try Admission.checkFeeRate(fee: 100, size: 100, policy: Policy()) } == nil)
        #expect(code { try Admission.checkFeeRate(fee: 99, size: 100, policy: Policy()) } == "min-relay-fee-not-met")
        var g = PoolGraph()
        let a = G.entry([G.coin(1)], tag: 1)
        let b = G.entry([G.out(a, 0)], tag: 2)
        g.insert(a)
        g.insert(b)
        var short = Policy()
        short.maxAncestors = 2
        #expect(code { try Admission.checkAncestors([a.txid], in: g, policy: short) } == nil)
        #expect(code { try Admission.checkAncestors([b.txid], in: g, policy: short) } == "too-long-mempool-chain")
        #expect(code { try Admission.checkNotInPool(a.txid, in: g) } == "txn-already-in-mempool")
    }

    @Test("signatures: verified against the coins given, no pool needed")
    func signatures() async throws {
        let wallet = TestWallet()
        let (tx, spent) = Self.signedSpend(wallet)
        try await Admission.verifySignatures(tx, spent: spent, params: .regtest)
        var forged = tx
        forged.outputs[0].value -= 1
        do {
            try await Admission.verifySignatures(forged, spent: spent, params: .regtest)
            Issue.record("a forged transaction verified")
        } catch {
            #expect(error.code == "bad-txns-signature")
        }
    }
}
