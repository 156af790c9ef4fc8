import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit
import Synchronization
import Testing
import TestSupport
@testable import ChainStore

/// Submits `count` blocks on top of `parent` at `height`…, paying `wallet`; each is accepted (or stored on
/// a side branch: "inconclusive"). The chain store suites' one way to grow a chain.
func extendChain(_ chain: Chain, from parent: Block, height: Int, count: Int, wallet: TestWallet, extra: [UInt8] = []) async -> [Block] {
    var blocks = [Block]()
    var prev = parent
    for i in 0..<count {
        let b = ChainFixtures.next(after: prev.header, height: height + i, paying: wallet, extra: extra)
        let r = await chain.submit(b, source: "test")
        #expect(r.accepted || r.reason == "inconclusive", "\(r)")
        blocks.append(b)
        prev = b
    }
    return blocks
}

/// The chain store's core over a real SQLite file in a temporary folder.
final class StoreHarness: Sendable {
    let dir: URL
    let changes = Mutex<[TipChange]>([])
    /// Every trace event the chain handed out for publishing, in order.
    let published = Mutex<[TraceEvent]>([])

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-chainstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    /// `schemaUpTo`: the last migration to apply (an older data folder's schema); nil, all.
    func open(signatureCache: SignatureCache? = nil, schemaUpTo: String? = nil) async throws -> (Chain, ChainQueries) {
        let db = try DatabasePool(path: dir.appendingPathComponent("chain.sqlite").path)
        if let schemaUpTo { try Schema.migrator().migrate(db, upTo: schemaUpTo) } else { try Schema.migrator().migrate(db) }
        let chain = try await Chain(db: db, params: .regtest, logger: Logger(label: "test"), signatureCache: signatureCache,
                                    onTrace: { [self] events in published.withLock { $0 += events } }) { [self] change, _ in
            changes.withLock { $0.append(change) }
            published.withLock { $0 += change.disconnected.flatMap(\.trace) + change.connected.flatMap(\.trace) }
        }
        return (chain, ChainQueries(chain: chain, db: db, params: .regtest))
    }
}

@Suite struct ChainStoreCore {
    let params = ChainParams.regtest

    @Test func connectsBlocksAndIndexesThem() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let w = TestWallet()
        let blocks = await extendChain(chain, from: params.genesis, height: 1, count: 5, wallet: w)
        #expect(await chain.tip.hash == blocks.last!.hash)
        let info = try await q.chainInfo()
        #expect(info.height == 5)
        #expect(info.supply == 5 * params.subsidy(height: 1))
        #expect(info.utxoCount == 5)
        let stats = try await q.addressStats(AddressRef(publicKey: Hex.encode(w.publicKey)))
        #expect(stats.fundedTxoCount == 5 && stats.txCount == 5)
        let tx = try await q.transaction(TxRef(txid: blocks[2].transactions[0].txid.hex))
        #expect(tx.height == 3 && tx.position == 0)
        #expect(try await q.verifyUTXO().ok)
        #expect(h.changes.withLock { $0.count } == 5)
    }

    @Test func refusesBadBlocksWithTheirReason() async throws {
        let h = try StoreHarness()
        let (chain, _) = try await h.open()
        let w = TestWallet()
        var bad = ChainFixtures.next(after: params.genesis.header, height: 1, paying: w)
        bad.header.merkleRoot = Hash256.sha256d([1])
        bad = ChainFixtures.remine(bad)
        #expect(await chain.submit(bad, source: "test").reason == "bad-txnmrklroot")
        let orphan = ChainFixtures.next(after: bad.header, height: 2, paying: w)
        #expect(await chain.submit(orphan, source: "test").reason == "bad-prevblk")
        let wrongHeight = ChainFixtures.next(after: params.genesis.header, height: 7, paying: w)
        #expect(await chain.submit(wrongHeight, source: "test").reason == "bad-cb-height")
        #expect(await chain.submit(hex: "zz", source: "test").reason == "bad-encoding")
        #expect(await chain.submit(hex: "00", source: "test").reason == "bad-encoding")
        // A child of the tip whose header fails (its time is not after the median time past) is
        // refused for its header (its coins are then never read); one failing both its header and
        // its body is refused for its body, as before the header was checked first.
        var old = ChainFixtures.next(after: params.genesis.header, height: 1, paying: w)
        old.header.time = params.genesis.header.time
        old = ChainFixtures.remine(old)
        #expect(await chain.submit(old, source: "test").reason == "time-too-old")
        var both = old
        both.header.merkleRoot = Hash256.sha256d([2])
        both = ChainFixtures.remine(both)
        #expect(await chain.submit(both, source: "test").reason == "bad-txnmrklroot")
        let good = ChainFixtures.next(after: params.genesis.header, height: 1, paying: w)
        #expect(await chain.submit(good, source: "test").accepted)
        #expect(await chain.submit(good, source: "test").reason == "duplicate")
        #expect(await chain.tip.height == 1)
    }

    @Test func spendsConnectAndTheAddressIndexFollows() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let a = TestWallet(), b = TestWallet()
        let blocks = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: a)
        let cb = blocks[0].transactions[0]
        let pay = a.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])], to: [b.output(10 * Units.perCoin), a.output(cb.outputs[0].value - 10 * Units.perCoin - 500)])
        let height = blocks.count + 1
        let block = ChainFixtures.next(after: blocks.last!.header, height: height, paying: a, transactions: [pay], fees: 500)
        let r = await chain.submit(block, source: "miner:test")
        #expect(r.accepted && r.isTip, "\(r)")
        let bStats = try await q.addressStats(AddressRef(publicKey: Hex.encode(b.publicKey)))
        #expect(bStats.fundedTxoSum == 10 * Units.perCoin)
        let aStats = try await q.addressStats(AddressRef(publicKey: Hex.encode(a.publicKey)))
        #expect(aStats.spentTxoSum == cb.outputs[0].value)
        #expect(try await q.transaction(TxRef(txid: pay.txid.hex)).fee == 500)
        let history = try await q.addressTxs(AddressTxsParams(publicKey: Hex.encode(a.publicKey), afterTxid: nil, limit: 3))
        #expect(history.first?.txid == block.transactions[0].txid.hex || history.first?.txid == pay.txid.hex)
        let trace = try await q.trace(TxRef(txid: pay.txid.hex))
        #expect(trace.contains { $0.stage == .connected && ($0.detail ?? "").contains("miner:test") })
        // the spent coin is gone, the new ones are there
        let coins = try await q.coins(OutpointList(outpoints: ["\(cb.txid.hex):0", "\(pay.txid.hex):0"]))
        #expect(coins[0] == nil && coins[1]?.value == 10 * Units.perCoin)
        #expect(try await q.verifyUTXO().ok)
    }

    /// A child of the tip whose header holds has its spent coins read while its body is checked
    /// (TipPreparation.swift): a body that then fails drops the read, and nothing of it is left.
    @Test func aRefusedChildOfTheTipLeavesItsCoinsAsTheyWere() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let a = TestWallet(), b = TestWallet()
        let blocks = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 3, wallet: a)
        let height = blocks.count + 1
        let spent = (0..<3).map { blocks[$0].transactions[0] }
        let pays = spent.map { cb in
            a.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])], to: [b.output(cb.outputs[0].value - 500)])
        }
        // Its header holds (remined), its merkle root does not: refused for its body.
        var bad = ChainFixtures.next(after: blocks.last!.header, height: height, paying: a, transactions: pays, fees: 1_500)
        bad.header.merkleRoot = Hash256.sha256d([3])
        bad = ChainFixtures.remine(bad)
        #expect(await chain.submit(bad, source: "test").reason == "bad-txnmrklroot")
        // One spending a coin that does not exist: its read finds it missing.
        let ghost = a.spend([(OutPoint(txid: Hash256.sha256d([4]), index: 0), spent[0].outputs[0])], to: [b.output(1_000)])
        let missing = ChainFixtures.next(after: blocks.last!.header, height: height, paying: a, transactions: [pays[0], ghost], fees: 500)
        #expect(await chain.submit(missing, source: "test").reason == "bad-txns-inputs-missingorspent")
        #expect(await chain.tip.hash == blocks.last!.hash)
        let before = try await q.coins(OutpointList(outpoints: spent.map { "\($0.txid.hex):0" }))
        #expect(before.allSatisfy { $0 != nil })
        #expect(try await q.verifyUTXO().ok)
        // The same payments in a good block: connected, the coins spent.
        let good = ChainFixtures.next(after: blocks.last!.header, height: height, paying: a, transactions: pays, fees: 1_500)
        let r = await chain.submit(good, source: "test")
        #expect(r.accepted && r.isTip, "\(r)")
        let after = try await q.coins(OutpointList(outpoints: spent.map { "\($0.txid.hex):0" } + pays.map { "\($0.txid.hex):0" }))
        #expect(after.map { $0 != nil } == [false, false, false, true, true, true])
        #expect(try await q.verifyUTXO().ok)
    }

    @Test func mostWorkWinsAndReorgUndoesTheOldBranch() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let a = TestWallet(), b = TestWallet()
        let base = await extendChain(chain, from: params.genesis, height: 1, count: 2, wallet: a)
        let old = await extendChain(chain, from: base[1], height: 3, count: 2, wallet: a, extra: [1])
        #expect(await chain.tip.hash == old[1].hash)
        // a competing branch from height 2, one block longer (equal bits: more blocks = more work)
        let side = await extendChain(chain, from: base[1], height: 3, count: 3, wallet: b, extra: [2])
        #expect(await chain.tip.hash == side[2].hash)
        #expect(await chain.tip.height == 5)
        let last = h.changes.withLock { $0.last! }
        #expect(last.disconnected.map(\.block.hash) == [old[1].hash, old[0].hash])
        #expect(last.connected.map(\.block.hash) == side.map(\.hash))
        // the old branch's coinbases are no longer coins; the new branch's are
        let coins = try await q.coins(OutpointList(outpoints: (old + side).map { "\($0.transactions[0].txid.hex):0" }))
        #expect(coins.map { $0 != nil } == [false, false, true, true, true])
        #expect(try await q.verifyUTXO().ok)
        #expect(try await q.header(BlockRef(hash: old[0].hash.hex)).inBestChain == false)
        #expect(try await q.chainInfo().supply == 5 * params.subsidy(height: 1))
        // an equal-work competitor does not displace the tip
        let tie = await extendChain(chain, from: side[1], height: 5, count: 1, wallet: a, extra: [3])
        #expect(await chain.tip.hash == side[2].hash)
        #expect(tie.count == 1)
    }

    @Test func aBlockFailingOnConnectIsMarkedInvalidWithItsDescendants() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let a = TestWallet(), thief = TestWallet()
        let blocks = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: a)
        let cb = blocks[0].transactions[0]
        let steal = thief.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])], to: [thief.output(cb.outputs[0].value)])
        let height = blocks.count + 1
        let bad = ChainFixtures.next(after: blocks.last!.header, height: height, paying: thief, transactions: [steal])
        let r = await chain.submit(bad, source: "test")
        #expect(!r.accepted && r.reason == "bad-txns-signature", "\(r)")
        #expect(await chain.tip.height == blocks.count)
        let child = ChainFixtures.next(after: bad.header, height: height + 1, paying: thief)
        #expect(await chain.submit(child, source: "test").reason == "bad-prevblk")
        #expect(await chain.submit(bad, source: "test").reason == "duplicate-invalid")
        #expect(try await q.verifyUTXO().ok)
    }

    /// Each trace event is built once: what `gettrace` reads back is exactly what was published
    /// (same stage, text and time), for received, connected, disconnected and rejected alike.
    @Test func traceEventsAreStoredExactlyAsPublished() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let a = TestWallet(), b = TestWallet(), thief = TestWallet()
        let base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: a)
        let old = await extendChain(chain, from: base.last!, height: base.count + 1, count: 1, wallet: a, extra: [1])
        let side = await extendChain(chain, from: base.last!, height: base.count + 1, count: 2, wallet: b, extra: [2])
        #expect(await chain.tip.hash == side[1].hash)
        let cb = base[0].transactions[0]
        let steal = thief.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])], to: [thief.output(cb.outputs[0].value)])
        let bad = ChainFixtures.next(after: side[1].header, height: base.count + 3, paying: thief, transactions: [steal])
        #expect(await chain.submit(bad, source: "test").reason == "bad-txns-signature")

        let published = h.published.withLock { $0 }
        let stages = Set(published.map { "\($0.kind):\($0.stage)" })
        #expect(stages == ["block:received", "block:connected", "tx:connected", "block:disconnected", "tx:disconnected", "block:rejected"])
        for id in Set(published.map(\.id)) {
            let stored = try await q.trace(TxRef(txid: id))
            #expect(stored == published.filter { $0.id == id }, "trace of \(id)")
        }
        #expect(published.contains { $0.id == old[0].hash.hex && $0.stage == .disconnected })
        #expect(published.contains { $0.id == bad.hash.hex && $0.stage == .rejected && $0.detail?.contains("signature") == true })
    }

    /// A connected block stores one trace row, its own; each transaction's `connected` event is
    /// derived from its tx row. A transaction in both branches of a reorganisation keeps its first
    /// block's event (written out when that block left), then the disconnect, then its new block's.
    @Test func aTransactionsConnectedEventIsDerivedAndKeptWhenItsBlockLeaves() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let a = TestWallet(), b = TestWallet()
        let base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: a)
        let cb = base[0].transactions[0]
        let pay = a.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])], to: [b.output(1_000), a.output(cb.outputs[0].value - 1_300)])
        let h1 = base.count + 1
        let first = ChainFixtures.next(after: base.last!.header, height: h1, paying: a, transactions: [pay], fees: 300)
        #expect(await chain.submit(first, source: "miner:one").isTip)
        func storedTxConnected() async throws -> Int {
            try await q.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM trace WHERE kind = 'tx' AND stage = 'connected'") ?? 0 }
        }
        #expect(try await storedTxConnected() == 0)
        let before = try await q.trace(TxRef(txid: pay.txid.hex))
        #expect(before.map(\.stage) == [.connected])
        #expect(before.first?.detail == "block \(first.hash.hex) height \(h1) position 1, from miner:one")

        // A longer branch from the same parent, with the same payment in its first block.
        let second = ChainFixtures.next(after: base.last!.header, height: h1, paying: b, transactions: [pay], fees: 300, extra: [9])
        #expect(await chain.submit(second, source: "peer:x").reason == "inconclusive")
        let third = ChainFixtures.next(after: second.header, height: h1 + 1, paying: b)
        #expect(await chain.submit(third, source: "peer:x").isTip)
        #expect(try await storedTxConnected() == 2, "the first block's coinbase and payment, written out as it left")
        let after = try await q.trace(TxRef(txid: pay.txid.hex))
        #expect(after.map(\.stage) == [.connected, .disconnected, .connected])
        #expect(after.first == before.first)
        // (connected when the third block made its branch the best: no source of its own)
        #expect(after.last?.detail == "block \(second.hash.hex) height \(h1) position 1")
        #expect(after == h.published.withLock { $0 }.filter { $0.id == pay.txid.hex })
        // The supply lost the first block's coins but not its fees (the disconnect reads them from its undo data).
        func subsidies(through height: Int) -> UInt64 { (1...height).reduce(0) { $0 + params.subsidy(height: $1) } }
        #expect(try await q.chainInfo().supply == subsidies(through: h1 + 1))
        // The first block's coinbase, off the best chain now: its connect and disconnect, nothing derived.
        #expect(try await q.trace(TxRef(txid: first.transactions[0].txid.hex)).map(\.stage) == [.connected, .disconnected])

        // Back to the first branch: the payment's events stay in order, none twice.
        let fourth = ChainFixtures.next(after: first.header, height: h1 + 1, paying: a, extra: [4])
        #expect(await chain.submit(fourth, source: "test").reason == "inconclusive")
        let fifth = ChainFixtures.next(after: fourth.header, height: h1 + 2, paying: a, extra: [4])
        #expect(await chain.submit(fifth, source: "test").isTip)
        let back = try await q.trace(TxRef(txid: pay.txid.hex))
        #expect(back.map(\.stage) == [.connected, .disconnected, .connected, .disconnected, .connected])
        #expect(back == h.published.withLock { $0 }.filter { $0.id == pay.txid.hex })
        #expect(back.last?.detail?.hasPrefix("block \(first.hash.hex) ") == true)
        #expect(try await q.chainInfo().supply == subsidies(through: h1 + 2))
        #expect(try await q.verifyUTXO().ok)
    }

    /// A block in which a transaction spends an earlier one's output (that coin never enters the
    /// UTXO set, so the undo data does not hold it) and whose coinbase pays less than the fees it
    /// may claim (valid: the rest is burnt) connects, and a reorganisation takes it off, with the
    /// supply right both ways. (The disconnect once priced its fees from the undo data alone, and
    /// the supply subtracted the fees from the coinbase first: both trapped, and the chain store
    /// crashed again at every restart.)
    /// The supply's arithmetic reports a result out of UInt64's range (only damaged stored data can
    /// give one) rather than trapping, which would stop the chain store again at every restart.
    @Test func theSupplyOutOfRangeIsReportedNotATrap() throws {
        #expect(try ChainStorage.supply(10, plus: 3, minus: 5) == 8)
        #expect(try ChainStorage.supply(2, plus: 0, minus: 2) == 0)
        #expect(throws: ChainStoreError.self) { try ChainStorage.supply(5, plus: 1, minus: 7) }
        #expect(throws: ChainStoreError.self) { try ChainStorage.supply(UInt64.max, plus: 1, minus: 0) }
        #expect(try ChainStorage.supply(UInt64.max - 1, plus: 1, minus: 1) == UInt64.max - 1)
    }

    @Test func inBlockSpendsAndABurningCoinbaseConnectAndDisconnect() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let a = TestWallet(), b = TestWallet()
        let base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 2, wallet: a)
        let h1 = base.count + 1
        func subsidies(through height: Int) -> UInt64 { (1...height).reduce(0) { $0 + params.subsidy(height: $1) } }
        let cb0 = base[0].transactions[0], cb1 = base[1].transactions[0]
        let parent = a.spend([(OutPoint(txid: cb0.txid, index: 0), cb0.outputs[0])], to: [a.output(cb0.outputs[0].value - 1_000)])
        let child = a.spend([(OutPoint(txid: parent.txid, index: 0), parent.outputs[0])], to: [b.output(parent.outputs[0].value - 2_000)])
        let other = a.spend([(OutPoint(txid: cb1.txid, index: 0), cb1.outputs[0])], to: [a.output(cb1.outputs[0].value - 5_000)])
        let first = ChainFixtures.block(parent: base.last!.header,
                                        transactions: [ChainFixtures.coinbase(height: h1, outputs: [a.output(1)]), parent, child, other])
        #expect(await chain.submit(first, source: "test").isTip)
        #expect(try await q.chainInfo().supply == subsidies(through: h1 - 1) + 1 - 8_000)
        #expect(try await q.verifyUTXO().ok)

        // A longer branch from the same parent takes it off: the coinbases it spent come back.
        let second = ChainFixtures.next(after: base.last!.header, height: h1, paying: b, extra: [2])
        #expect(await chain.submit(second, source: "test").reason == "inconclusive")
        let third = ChainFixtures.next(after: second.header, height: h1 + 1, paying: b)
        #expect(await chain.submit(third, source: "test").isTip)
        #expect(try await q.chainInfo().supply == subsidies(through: h1 + 1))
        let back = try await q.coins(OutpointList(outpoints: [OutPoint(txid: cb0.txid, index: 0).description, OutPoint(txid: cb1.txid, index: 0).description]))
        #expect(back.allSatisfy { $0 != nil }, "the coinbases the block spent are unspent again")
        #expect(try await q.verifyUTXO().ok)

        // And back to its branch: it connects again.
        let fourth = ChainFixtures.next(after: first.header, height: h1 + 1, paying: a, extra: [4])
        #expect(await chain.submit(fourth, source: "test").reason == "inconclusive")
        let fifth = ChainFixtures.next(after: fourth.header, height: h1 + 2, paying: a, extra: [4])
        #expect(await chain.submit(fifth, source: "test").isTip)
        #expect(try await q.chainInfo().supply == subsidies(through: h1 + 2) - subsidies(through: h1) + subsidies(through: h1 - 1) + 1 - 8_000)
        #expect(try await q.verifyUTXO().ok)
    }

    /// A data folder whose blocks stored every transaction's `connected` row (builds before they
    /// were derived): `gettrace` gives each once, and a reorganisation does not write them twice.
    @Test func storedConnectedRowsOfAnOlderBuildAreNotDoubled() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let a = TestWallet(), b = TestWallet()
        let base = await extendChain(chain, from: params.genesis, height: 1, count: 3, wallet: a)
        // What an older build stored: every published event of the blocks connected.
        let published = h.published.withLock { $0 }
        try await q.db.write { db in
            try ChainStorage.record(db, published.filter { $0.kind == .tx && $0.stage == .connected })
        }
        let cb = base[2].transactions[0].txid.hex
        #expect(try await q.trace(TxRef(txid: cb)) == published.filter { $0.id == cb })
        _ = await extendChain(chain, from: base[1], height: 3, count: 2, wallet: b, extra: [3])
        #expect(try await q.trace(TxRef(txid: cb)) == h.published.withLock { $0 }.filter { $0.id == cb })
        #expect(try await q.trace(TxRef(txid: cb)).map(\.stage) == [.connected, .disconnected])
    }

    @Test func restartsFromDiskAtTheSameTip() async throws {
        let h = try StoreHarness()
        let w = TestWallet()
        var tip: Hash256
        do {
            let (chain, _) = try await h.open()
            let blocks = await extendChain(chain, from: params.genesis, height: 1, count: 4, wallet: w)
            tip = blocks.last!.hash
        }
        let (again, q) = try await h.open()
        #expect(await again.tip.hash == tip)
        #expect(await again.tip.height == 4)
        #expect(try await q.verifyUTXO().ok)
        #expect(try await q.chainInfo().supply == 4 * params.subsidy(height: 1))
        #expect(await again.locator().first == tip.hex)
        #expect(await again.locator().last == params.genesisHash.hex)
    }

    @Test func aDataFolderOfAnotherNetworkIsRefused() async throws {
        let h = try StoreHarness()
        _ = try await h.open()
        let db = try DatabasePool(path: h.dir.appendingPathComponent("chain.sqlite").path)
        await #expect(throws: ChainStoreError.self) {
            _ = try await Chain(db: db, params: .testnet, logger: Logger(label: "test")) { _, _ in }
        }
    }

    /// Blocks are processed one at a time even when they arrive together.
    @Test func concurrentSubmissionsAreProcessedOneAtATime() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let w = TestWallet()
        let base = await extendChain(chain, from: params.genesis, height: 1, count: 2, wallet: w)
        let block = ChainFixtures.next(after: base[1].header, height: 3, paying: w)
        let twice = await withTaskGroup(of: SubmitBlockResult.self) { group in
            for _ in 0..<2 { group.addTask { await chain.submit(block, source: "test") } }
            var out = [SubmitBlockResult]()
            for await r in group { out.append(r) }
            return out
        }
        #expect(twice.filter(\.accepted).count == 1)
        #expect(twice.contains { $0.reason == "duplicate" })
        // siblings at one height: one becomes the tip, the others wait on side branches
        let siblings = (0..<5).map { i in ChainFixtures.next(after: block.header, height: 4, paying: w, extra: [UInt8(i)]) }
        let results = await withTaskGroup(of: SubmitBlockResult.self) { group in
            for b in siblings { group.addTask { await chain.submit(b, source: "test") } }
            var out = [SubmitBlockResult]()
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.filter(\.isTip).count == 1)
        #expect(results.filter { $0.reason == "inconclusive" }.count == 4)
        #expect(await chain.tip.height == 4)
        #expect(try await q.verifyUTXO().ok)
        #expect(try await q.chainInfo().supply == 4 * params.subsidy(height: 1))
    }
}
