import ChainCore
import Foundation
import GRDB
import NodeKit
import Synchronization
import Testing
import TestSupport
@testable import Mempool

/// A chain that holds its first `coins` answer until let go: an admission stays between its
/// stages before the gate and the gate while the test changes the chain.
final class HeldChain: ChainSource {
    let inner: FakeChain
    private let holding = Atomic<Bool>(true)
    let held = Atomic<Bool>(false)
    private let waiting = Mutex<CheckedContinuation<Void, Never>?>(nil)

    init(_ inner: FakeChain) { self.inner = inner }

    func coins(_ outpoints: [OutPoint]) async throws -> [OutPoint: Coin] {
        let answer = try await inner.coins(outpoints)
        if holding.exchange(false, ordering: .relaxed) {
            await withCheckedContinuation { c in
                waiting.withLock { $0 = c }
                held.store(true, ordering: .relaxed)
            }
        }
        return answer
    }

    func letGo() { waiting.withLock { $0?.resume(); $0 = nil } }
    func isConfirmed(_ txid: Hash256) async throws -> Bool { try await inner.isConfirmed(txid) }
    func tip() async throws -> ChainTip { try await inner.tip() }
}

/// Issue 11: decoding, the coins and the signatures run before the pool's gate, concurrently;
/// inside it only the re-checks, on the pool and chain as they are then.
@Suite("Admission before and inside the gate")
struct GateTests {
    func stored(_ h: PoolHarness) async throws -> Int {
        let db = try DatabaseQueue(path: h.dir.appendingPathComponent("mempool.sqlite").path)
        return try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM tx") ?? 0 }
    }

    @Test("the signatures are verified before the gate, and the verdict is used inside it")
    func verifiedBeforeTheGate() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let parent = h.pay(h.spendable[0])
        _ = try await pool.submit(hex: Hex.encode(parent.encoded), receivedAt: nil)
        // a child spending the pool parent: its coin comes from the pool, verified before the gate too
        let child = h.wallet.spend([(OutPoint(txid: parent.txid, index: 1), parent.outputs[1])], to: [h.wallet.output(parent.outputs[1].value - 1_000)])
        _ = try await pool.submit(hex: Hex.encode(child.encoded), receivedAt: nil)
        #expect(await pool.signaturesReused == 2)
        #expect(await pool.signaturesVerifiedInGate == 0)
        // a forged signature: its verdict (a failure) comes from before the gate as well, same reason as ever
        var forged = h.pay(h.spendable[1])
        forged.inputs[0].payload[0] ^= 1
        #expect(await refusal(pool, forged) == RejectReason.badSignature.rawValue)
        #expect(await pool.signaturesReused == 3)
        #expect(await pool.signaturesVerifiedInGate == 0)
        // a spend of a missing coin reaches no verdict before the gate, and is refused inside it
        let orphan = h.wallet.spend([(OutPoint(txid: Hash256.sha256d([9]), index: 0), h.spendable[2].1)], to: [h.wallet.output(1_000_000)])
        #expect(await refusal(pool, orphan) == RejectReason.inputsMissingOrSpent.rawValue)
        #expect(try await stored(h) == 2)
    }

    @Test("many concurrent spends of one coin, none able to replace another: exactly one admitted, stored and announced")
    func concurrentConflictsAdmitExactlyOne() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        await pool.enableCoinView()
        // the same fee, different payees: 48 distinct transactions spending spendable[0]
        let spends = (0..<48).map { _ in h.pay(h.spendable[0], fee: 1_000) }
        // and, at the same time, a chain of spends of another coin that must all be admitted
        let other = h.pay(h.spendable[1])
        let results = await withTaskGroup(of: String?.self) { group in
            for tx in spends { group.addTask { await refusal(pool, tx) } }
            group.addTask { await refusal(pool, other) }
            var out = [String?]()
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.filter { $0 == nil }.count == 2, "\(results)")
        #expect(results.filter { $0 == "insufficient-fee" }.count == 47, "\(results)")
        let inPool = await pool.entries
        #expect(inPool.count == 2 && inPool[other.txid] != nil)
        #expect(inPool.keys.filter { id in spends.contains { $0.txid == id } }.count == 1)
        #expect(try await stored(h) == 2)
        #expect(h.events.log.withLock { $0 }.filter { $0.hasPrefix("A ") }.count == 2)
        #expect(await pool.check().ok)
    }

    @Test("a coin a block spends while the admission waits for the gate is asked again, and the spend refused")
    func staleAnswerIsNotUsed() async throws {
        let h = try await PoolHarness()
        let held = HeldChain(h.chain)
        let pool = try h.open(through: held)
        await pool.enableCoinView()
        let coin = h.spendable[2]
        let late = h.pay(coin)
        let submission = Task { await refusal(pool, late) }
        // its stages before the gate have the chain store's answer (the coin unspent), held
        #expect(await eventually("the answer held", timeout: 10, every: 0.02) { held.held.load(ordering: .relaxed) })
        // meanwhile a block spends the coin otherwise, and the pool hears of it
        let rival = h.pay(coin, fee: 3_000)
        let height = h.blocks.count
        let block = ChainFixtures.next(after: h.blocks.last!.header, height: height, paying: h.wallet, transactions: [rival], fees: 3_000)
        let connection = try await BlockRules.connect(block, height: height, view: h.chain.view.withLock { $0 }, params: .regtest)
        h.chain.view.withLock { $0.apply(connection) }
        h.chain.tipValue.withLock { $0 = ChainTip(height: height, hash: block.hash.hex, time: block.header.time, nextBits: $0.nextBits,
                                                 medianTimePast: $0.medianTimePast) }
        await pool.blockConnected(block, height: height)
        let calls = h.chain.coinCalls.load(ordering: .relaxed)
        held.letGo()
        // the answer from before the block is neither kept in the view nor used: asked again, refused
        #expect(await submission.value == RejectReason.inputsMissingOrSpent.rawValue)
        #expect(h.chain.coinCalls.load(ordering: .relaxed) == calls + 1)
        #expect(await pool.coinView.lookup([coin.0]).found.isEmpty)
        #expect(await pool.entries.isEmpty)
        #expect(try await stored(h) == 0)
    }
}
