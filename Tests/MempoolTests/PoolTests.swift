import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit
import Synchronization
import Testing
import TestSupport
@testable import Mempool

/// A chain the pool can ask: an in-memory UTXO set and tip.
final class FakeChain: ChainSource {
    let view: Mutex<MemoryCoinView>
    let tipValue: Mutex<ChainTip>
    let confirmed = Mutex<Set<Hash256>>([])
    /// While true, every call fails as an unreachable chain store would.
    let down = Atomic<Bool>(false)
    /// How many outpoints the pool asked for, over how many calls.
    let askedOutpoints = Atomic<Int>(0)
    let coinCalls = Atomic<Int>(0)

    struct Unreachable: Error {}

    init(view: MemoryCoinView, height: Int) {
        self.view = Mutex(view)
        tipValue = Mutex(ChainTip(height: height, hash: Hash256.sha256d([UInt8(height & 0xff)]).hex, time: Genesis.time + UInt32(height),
                                  nextBits: ChainParams.regtest.powLimitBits, medianTimePast: Genesis.time))
    }

    func coins(_ outpoints: [OutPoint]) async throws -> [OutPoint: Coin] {
        if down.load(ordering: .relaxed) { throw Unreachable() }
        coinCalls.add(1, ordering: .relaxed)
        askedOutpoints.add(outpoints.count, ordering: .relaxed)
        return view.withLock { v in
            var out = [OutPoint: Coin]()
            for op in outpoints { out[op] = v.coin(op) }
            return out
        }
    }
    func isConfirmed(_ txid: Hash256) async throws -> Bool { confirmed.withLock { $0.contains(txid) } }
    func tip() async throws -> ChainTip {
        if down.load(ordering: .relaxed) { throw Unreachable() }
        return tipValue.withLock { $0 }
    }
}

final class RecordedEvents: PoolEvents {
    let log = Mutex<[String]>([])
    func added(_ entry: PoolEntry, sequence: UInt64) async { log.withLock { $0.append("A \(entry.txid.hex) \(sequence)") } }
    func removed(_ txid: Hash256, sequence: UInt64, reason: String) async { log.withLock { $0.append("R \(txid.hex) \(sequence)") } }
    func templateChanged(sequence: UInt64, count: Int) async {}
    /// The live trace events, in order.
    let traces = Mutex<[TraceEvent]>([])
    func trace(_ event: TraceEvent) async { traces.withLock { $0.append(event) } }
}

/// A pool on a fresh database in a temporary folder, removed when the harness goes away.
final class PoolHarness: Sendable {
    let dir: URL
    let wallet = TestWallet()
    let chain: FakeChain
    let events = RecordedEvents()
    let blocks: [Block]
    let spendable: [(OutPoint, TxOutput)]

    init() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-mempool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let (blocks, view) = try await ChainFixtures.chain(ChainParams.regtest.coinbaseMaturity + 5, paying: wallet)
        self.blocks = blocks
        chain = FakeChain(view: view, height: blocks.count - 1)
        spendable = blocks[1...5].map { b in (OutPoint(txid: b.transactions[0].txid, index: 0), b.transactions[0].outputs[0]) }
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    /// `through`: the chain the pool asks, when not `chain` itself (a wrapper around it).
    func open(policy: Policy = Policy(), through: (any ChainSource)? = nil) throws -> Pool {
        let db = try DatabasePool(path: dir.appendingPathComponent("mempool.sqlite").path)
        try MempoolStore.migrator().migrate(db)
        return Pool(params: .regtest, policy: policy, db: db, chain: through ?? chain, events: events, logger: Logger(label: "test"))
    }

    var poolPath: String { dir.appendingPathComponent("mempool.sqlite").path }

    /// A pool whose commits wait for a held write lock (`WriteLockHolder`) rather than fail at once.
    func openPatient() throws -> Pool {
        var config = MempoolStore.configuration()
        config.busyMode = .timeout(120)
        let db = try DatabasePool(path: poolPath, configuration: config)
        try MempoolStore.migrator().migrate(db)
        return Pool(params: .regtest, policy: Policy(), db: db, chain: chain, events: events, logger: Logger(label: "test"))
    }

    /// The chain store is at `block`'s parent (what a reorg that disconnects `block` leaves, as far
    /// as this fake's tip goes): the pool's revalidation waits until it has followed that far.
    func atTipBelow(_ block: Block) {
        chain.tipValue.withLock { $0 = ChainTip(height: $0.height, hash: block.header.previousHash.hex, time: $0.time,
                                               nextBits: $0.nextBits, medianTimePast: $0.medianTimePast) }
    }

    /// Spends `coin` paying `value` to a fresh key and the rest minus `fee` back.
    func pay(_ coin: (OutPoint, TxOutput), fee: Amount = 1_000, to value: Amount = Units.perCoin) -> Transaction {
        wallet.spend([coin], to: [TestWallet().output(value), wallet.output(coin.1.value - value - fee)])
    }
}

func refusal(_ pool: Pool, _ tx: Transaction) async -> String? {
    do {
        _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
        return nil
    } catch {
        return error.code
    }
}

@Suite struct MempoolPool {
    @Test func acceptsPersistsAndAnnounces() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let tx = h.pay(h.spendable[0])
        let e = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: 1.0)
        #expect(e.txid == tx.txid && e.fee == 1_000)
        // on disk before the call returned
        let db = try DatabaseQueue(path: h.dir.appendingPathComponent("mempool.sqlite").path)
        #expect(try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM tx") } == 1)
        #expect(h.events.log.withLock { $0 } == ["A \(tx.txid.hex) 1"])
        let stages = try await pool.trace(tx.txid.hex).map(\.stage)
        #expect(stages == [.received, .accepted])
    }

    @Test func refusesWithNamedReasons() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let tx = h.pay(h.spendable[0])
        _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
        #expect(await refusal(pool, tx) == "txn-already-in-mempool")
        // a conflict is a replacement (full-RBF), refused here for not paying more (ReplacementTests has each rule)
        #expect(await refusal(pool, h.pay(h.spendable[0], fee: 1_000)) == "insufficient-fee")
        #expect(await refusal(pool, h.pay(h.spendable[1], fee: 10)) == "min-relay-fee-not-met")
        #expect(await refusal(pool, h.pay(h.spendable[1], to: 10)) == "dust")
        #expect(await refusal(pool, h.wallet.spend([(OutPoint(txid: Hash256.sha256d([7]), index: 0), h.spendable[1].1)], to: [h.wallet.output(Units.perCoin)])) == "bad-txns-inputs-missingorspent")
        var forged = h.pay(h.spendable[1])
        forged.outputs[0].value += 1
        #expect(await refusal(pool, forged) == "bad-txns-signature")
        #expect(await refusal(pool, ChainFixtures.coinbase(height: 99, outputs: [h.wallet.output(5_000)])) == "coinbase")
        // an immature coinbase
        let young = h.blocks.last!.transactions[0]
        #expect(await refusal(pool, h.pay((OutPoint(txid: young.txid, index: 0), young.outputs[0]))) == "bad-txns-premature-spend-of-coinbase")
        do {
            _ = try await pool.submit(hex: "zz", receivedAt: nil)
            Issue.record("accepted garbage")
        } catch { #expect(error.code == "bad-encoding") }
        // what was refused left nothing behind
        #expect(await pool.entries.count == 1)
    }

    @Test func chainsOfUnconfirmedSpendsUpToTheDepthLimit() async throws {
        let h = try await PoolHarness()
        var policy = Policy()
        policy.maxAncestors = 4
        let pool = try h.open(policy: policy)
        var coin = h.spendable[0]
        for i in 0..<4 {
            let tx = h.wallet.spend([coin], to: [h.wallet.output(coin.1.value - 1_000)])
            _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
            coin = (OutPoint(txid: tx.txid, index: 0), tx.outputs[0])
            #expect(await pool.entries[tx.txid]?.parents.count == (i == 0 ? 0 : 1))
        }
        let fifth = h.wallet.spend([coin], to: [h.wallet.output(coin.1.value - 1_000)])
        #expect(await refusal(pool, fifth) == "too-long-mempool-chain")
        // a template lists parents before children
        let t = try await TemplateGenerator(source: pool, params: .regtest).template(for: TemplateRequest(minerID: "m", address: "a", hashrate: 0, threads: 1))
        #expect(t.txids.count == 4)
        var seen = Set<String>()
        for hex in t.transactions {
            let tx = try Transaction(bytes: Hex.decode(hex)!)
            for input in tx.inputs where await pool.entries[input.previousOutput.txid] != nil {
                #expect(seen.contains(input.previousOutput.txid.hex))
            }
            seen.insert(tx.txid.hex)
        }
        #expect(t.coinbaseValue == ChainParams.regtest.subsidy(height: t.height) + 4_000)
    }

    @Test func templatesPutTheHighestFeeRateFirst() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let cheap = h.pay(h.spendable[0], fee: 1_000)
        let rich = h.pay(h.spendable[1], fee: 50_000)
        for tx in [cheap, rich] { _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil) }
        let templates = TemplateGenerator(source: pool, params: .regtest)
        let t = try await templates.template(for: TemplateRequest(minerID: "m", address: "a", hashrate: 1, threads: 1))
        #expect(t.txids == [rich.txid.hex, cheap.txid.hex])
        #expect(await templates.activeMiners().map(\.id) == ["m"])
    }

    @Test func aConnectedBlockRemovesIncludedAndConflictingTransactions() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let included = h.pay(h.spendable[0])
        let loser = h.pay(h.spendable[1])
        let loserChild = h.wallet.spend([(OutPoint(txid: loser.txid, index: 1), loser.outputs[1])], to: [h.wallet.output(loser.outputs[1].value - 1_000)])
        for tx in [included, loser, loserChild] { _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil) }
        // the block confirms `included` and a different spend of loser's input
        let winner = h.pay(h.spendable[1], fee: 2_000)
        let block = ChainFixtures.next(after: h.blocks.last!.header, height: h.blocks.count, paying: h.wallet, transactions: [included, winner])
        await pool.blockConnected(block, height: h.blocks.count)
        #expect(await pool.entries.isEmpty)
        let log = h.events.log.withLock { $0 }
        #expect(log.contains { $0.hasPrefix("R \(loser.txid.hex)") })
        #expect(log.contains { $0.hasPrefix("R \(loserChild.txid.hex)") })
        #expect(!log.contains { $0.hasPrefix("R \(included.txid.hex)") })
        let db = try DatabaseQueue(path: h.dir.appendingPathComponent("mempool.sqlite").path)
        #expect(try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM tx") } == 0)
    }



    @Test func acknowledgedTransactionsSurviveARestart() async throws {
        let h = try await PoolHarness()
        var txids = [Hash256]()
        do {
            let pool = try h.open()
            let parent = h.pay(h.spendable[0])
            let child = h.wallet.spend([(OutPoint(txid: parent.txid, index: 1), parent.outputs[1])], to: [h.wallet.output(parent.outputs[1].value - 2_000)])
            for tx in [parent, child, h.pay(h.spendable[3])] {
                _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
                txids.append(tx.txid)
            }
        }
        // A new process on the same file (what follows a kill -9: no clean shutdown ran).
        let reopened = try h.open()
        try await reopened.loadPersisted()
        #expect(Set(await reopened.entries.keys) == Set(txids))
        #expect(await reopened.entries[txids[1]]?.parents == [txids[0]])
    }

    @Test func aFullPoolEvictsTheLowestFeeRate() async throws {
        let h = try await PoolHarness()
        var policy = Policy()
        let one = h.pay(h.spendable[0]).encoded.count
        policy.maxPoolBytes = one * 2 + 10
        let pool = try h.open(policy: policy)
        let low = h.pay(h.spendable[0], fee: 1_000)
        let mid = h.pay(h.spendable[1], fee: 2_000)
        for tx in [low, mid] { _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil) }
        #expect(await refusal(pool, h.pay(h.spendable[2], fee: 150)) == "min-relay-fee-not-met")
        #expect(await refusal(pool, h.pay(h.spendable[2], fee: 999)) == "mempool-full")
        let high = h.pay(h.spendable[2], fee: 9_000)
        _ = try await pool.submit(hex: Hex.encode(high.encoded), receivedAt: nil)
        #expect(Set(await pool.entries.keys) == [mid.txid, high.txid])
    }

    func storedCount(_ h: PoolHarness) async throws -> Int {
        let db = try DatabaseQueue(path: h.dir.appendingPathComponent("mempool.sqlite").path)
        return try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM tx") ?? 0 }
    }

    /// The chain store restarting (its RPC not up yet) must not cost an acknowledged transaction.
    @Test func revalidationWithTheChainStoreDownKeepsEverything() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let parent = h.pay(h.spendable[0])
        let child = h.wallet.spend([(OutPoint(txid: parent.txid, index: 1), parent.outputs[1])], to: [h.wallet.output(parent.outputs[1].value - 2_000)])
        for tx in [parent, child, h.pay(h.spendable[1])] { _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil) }
        h.chain.down.store(true, ordering: .relaxed)
        await pool.revalidateAll(reason: "test: chain store restarted")
        #expect(await pool.entries.count == 3)
        #expect(try await storedCount(h) == 3)
        #expect(await pool.entries[child.txid]?.parents == [parent.txid])
        h.chain.down.store(false, ordering: .relaxed)
        await pool.revalidateAll(reason: "test: chain store back")
        #expect(await pool.entries.count == 3)
        #expect(try await storedCount(h) == 3)
        // and a transaction the chain has meanwhile made invalid is dropped, from memory and disk
        h.chain.view.withLock { $0.coins[h.spendable[1].0] = nil }
        await pool.revalidateAll(reason: "test: its input was spent")
        #expect(await pool.entries.count == 2)
        #expect(try await storedCount(h) == 2)
    }

    @Test func reloadingWithTheChainStoreDownDeletesNothing() async throws {
        let h = try await PoolHarness()
        do {
            let pool = try h.open()
            for i in 0..<3 { _ = try await pool.submit(hex: Hex.encode(h.pay(h.spendable[i]).encoded), receivedAt: nil) }
        }
        h.chain.down.store(true, ordering: .relaxed)
        let reopened = try h.open()
        try await reopened.loadPersisted()
        #expect(try await storedCount(h) == 3)
        h.chain.down.store(false, ordering: .relaxed)
        // the deferred ones are checked again within a couple of seconds
        try? await waitUntil("the deferred ones are back", timeout: 90, every: 0.1) { await reopened.entries.count >= 3 }
        let n = await reopened.entries.count
        #expect(n == 3)
        #expect(try await storedCount(h) == 3)
    }
    @Test func aDisconnectedBlockGivesItsTransactionsBack() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let tx = h.pay(h.spendable[2])
        let block = ChainFixtures.next(after: h.blocks.last!.header, height: h.blocks.count, paying: h.wallet, transactions: [tx])
        h.atTipBelow(block)
        await pool.blockDisconnected(block)
        #expect(await eventually("the transaction is back in the pool", every: 0.05) { await pool.entries[tx.txid] != nil })
        #expect(try await storedCount(h) == 1)
    }

    /// A reorg disconnects newest first: a child in the newer block and its parent in the older one both come back, linked.
    @Test func aReorgReturnsParentsAndChildrenFromSeveralBlocks() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let parent = h.pay(h.spendable[0])
        let child = h.wallet.spend([(OutPoint(txid: parent.txid, index: 1), parent.outputs[1])], to: [h.wallet.output(parent.outputs[1].value - 2_000)])
        // the pool already holds a grandchild that spends the child
        let d1 = ChainFixtures.next(after: h.blocks.last!.header, height: h.blocks.count, paying: h.wallet, transactions: [parent])
        let d2 = ChainFixtures.next(after: d1.header, height: h.blocks.count + 1, paying: h.wallet, transactions: [child])
        h.atTipBelow(d1)
        await pool.blockDisconnected(d2)
        await pool.blockDisconnected(d1)
        #expect(await eventually("two entries in the pool", every: 0.05) { await pool.entries.count == 2 })
        #expect(await pool.entries[child.txid]?.parents == [parent.txid])
        #expect(await pool.entries[parent.txid]?.children == [child.txid])
        // a template lists the parent first
        let t = try await TemplateGenerator(source: pool, params: .regtest).template(for: TemplateRequest(minerID: "m", address: "a", hashrate: 0, threads: 1))
        #expect(t.txids == [parent.txid.hex, child.txid.hex])
    }

    /// Spends of one coin submitted at the same time, none paying more than another (so none can
    /// replace another): exactly one is acknowledged.
    @Test func concurrentDoubleSpendsAdmitExactlyOne() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let spends = (0..<6).map { _ in h.pay(h.spendable[0], fee: 1_000) }
        let results = await withTaskGroup(of: String?.self) { group in
            for tx in spends { group.addTask { await refusal(pool, tx) } }
            var out = [String?]()
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.filter { $0 == nil }.count == 1, "\(results)")
        #expect(results.filter { $0 == "insufficient-fee" }.count == 5)
        #expect(await pool.entries.count == 1)
        #expect(try await storedCount(h) == 1)
        // the same transaction submitted twice at once is counted once
        let again = h.pay(h.spendable[1])
        let twice = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<2 { group.addTask { await refusal(pool, again) } }
            var out = [String?]()
            for await r in group { out.append(r) }
            return out
        }
        #expect(twice.contains { $0 == nil } && twice.contains { $0 == "txn-already-in-mempool" })
        #expect(await pool.bytes == (await pool.entries.values.reduce(0) { $0 + $1.size }))
    }

    /// Making room never evicts an ancestor of the newcomer (it would leave it spending nothing).
    @Test func evictionSparesTheNewcomersAncestors() async throws {
        let h = try await PoolHarness()
        var policy = Policy()
        let size = h.pay(h.spendable[0]).encoded.count
        policy.maxPoolBytes = size * 2 + 10
        let pool = try h.open(policy: policy)
        let grandparent = h.pay(h.spendable[0], fee: 1_000)                // lowest fee rate
        let parent = h.wallet.spend([(OutPoint(txid: grandparent.txid, index: 1), grandparent.outputs[1])],
                                    to: [h.wallet.output(grandparent.outputs[1].value - 50_000)])
        for tx in [grandparent, parent] { _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil) }
        let child = h.wallet.spend([(OutPoint(txid: parent.txid, index: 0), parent.outputs[0])], to: [h.wallet.output(parent.outputs[0].value - 90_000)])
        #expect(await refusal(pool, child) == "mempool-full")
        #expect(Set(await pool.entries.keys) == [grandparent.txid, parent.txid])
    }
}
