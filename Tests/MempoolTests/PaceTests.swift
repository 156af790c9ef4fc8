import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit
import Synchronization
import Testing
import TestSupport
@testable import Mempool

/// The learning mode: the mining pace's state machine, what a miner does with a template under it,
/// the mempool's templates under it, and its persistence.
@Suite struct MiningPaceTests {
    @Test func pauseStepResumeAndInterval() throws {
        var p = MiningPace.running
        #expect(p.display == "running" && p.allows(height: 11))

        let c1 = try p.apply(PaceChange(action: "pause"), network: .regtest, tipHeight: 10, now: 1)

        #expect(c1)
        #expect(p.display == "paused" && p.stepHeight == nil && p.revision == 1 && p.updatedAt == 1)
        #expect(!p.allows(height: 11))
        // Pausing again changes nothing.
        #expect(try !p.apply(PaceChange(action: "pause"), network: .regtest, tipHeight: 10, now: 2))
        #expect(p.revision == 1)

        // A step lets exactly the next height through.
        let c2 = try p.apply(PaceChange(action: "step"), network: .regtest, tipHeight: 10, now: 3)
        #expect(c2)
        #expect(p.display == "stepping" && p.stepHeight == 11)
        #expect(p.allows(height: 11) && !p.allows(height: 12) && !p.allows(height: 10))
        // Asked twice before the block: still one block.
        #expect(try !p.apply(PaceChange(action: "step"), network: .regtest, tipHeight: 10, now: 4))
        // The tip moving to another height below does nothing; reaching the step's height ends it.
        let c3 = p.tipChanged(height: 10, now: 5)
        #expect(!c3)
        let c4 = p.tipChanged(height: 11, now: 6)
        #expect(c4)
        #expect(p.display == "paused" && p.stepHeight == nil && !p.allows(height: 12))
        let c5 = p.tipChanged(height: 12, now: 7)
        #expect(!c5)

        // A step from running pauses after that one block.
        var q = MiningPace.running
        try q.apply(PaceChange(action: "step"), network: .regtest, tipHeight: 20, now: 1)
        #expect(q.paused && q.stepHeight == 21)

        let c6 = try p.apply(PaceChange(action: "resume"), network: .regtest, tipHeight: 12, now: 8)

        #expect(c6)
        #expect(p.display == "running" && p.allows(height: 13))

        let c7 = try p.apply(PaceChange(action: "interval", minInterval: 30), network: .regtest, tipHeight: 12, now: 9)

        #expect(c7)
        #expect(p.minInterval == 30 && p.notBefore(tipTime: 1_000) == 1_030)
        try p.apply(PaceChange(action: "interval", minInterval: 0), network: .regtest, tipHeight: 12, now: 10)
        #expect(p.notBefore(tipTime: 1_000) == nil)
    }

    @Test func badChangesAndOtherNetworksAreRefused() {
        var p = MiningPace.running
        for bad in [PaceChange(action: "interval"), PaceChange(action: "interval", minInterval: -1),
                    PaceChange(action: "interval", minInterval: .infinity), PaceChange(action: "interval", minInterval: .nan),
                    PaceChange(action: "interval", minInterval: 3601), PaceChange(action: "faster")] {
            #expect(throws: RPCError.self) { try p.apply(bad, network: .regtest, tipHeight: 1, now: 1) }
        }
        for network in [Network.main, .testnet] {
            for action in ["pause", "step", "resume"] {
                do {
                    try p.apply(PaceChange(action: action), network: network, tipHeight: 1, now: 1)
                    Issue.record("\(action) accepted on \(network)")
                } catch {
                    #expect(error.code == "not-regtest")
                    #expect(error.message.contains("regtest"))
                }
            }
        }
        #expect(p == .running)
    }

    @Test func whatAMinerDoesWithATemplate() {
        var p = MiningPace.running
        #expect(MiningPace.decision(pace: nil, height: 5, notBefore: nil, now: 0) == .mine)
        #expect(MiningPace.decision(pace: p, height: 5, notBefore: nil, now: 0) == .mine)
        #expect(MiningPace.decision(pace: p, height: 5, notBefore: 110, now: 100) == .wait(10))
        #expect(MiningPace.decision(pace: p, height: 5, notBefore: 100, now: 100) == .mine)
        p.state = "paused"
        #expect(MiningPace.decision(pace: p, height: 5, notBefore: nil, now: 0) == .hold)
        p.stepHeight = 5
        #expect(MiningPace.decision(pace: p, height: 5, notBefore: nil, now: 0) == .mine)
        #expect(MiningPace.decision(pace: p, height: 6, notBefore: nil, now: 0) == .hold)
        #expect(MiningPace.decision(pace: p, height: 5, notBefore: 3, now: 1) == .wait(2))
    }

    @Test func aPausedTemplatePicksNothingAndAStepPicksTheWaitingTransaction() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let tx = h.pay(h.spendable[0])
        _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
        let request = TemplateRequest(minerID: "m", address: "a", hashrate: 0, threads: 1)
        var pace = MiningPace.running
        try pace.apply(PaceChange(action: "pause"), network: .regtest, tipHeight: h.blocks.count - 1, now: 1)
        try pace.apply(PaceChange(action: "interval", minInterval: 5), network: .regtest, tipHeight: h.blocks.count - 1, now: 1)

        let templates = TemplateGenerator(source: pool, params: .regtest)
        let held = try await templates.template(for: request, pace: pace)
        #expect(held.txids.isEmpty && held.pace == pace)
        #expect(MiningPace.decision(pace: held.pace, height: held.height, notBefore: held.notBefore, now: 0) == .hold)
        // Not "in a template" while paused; the miner is still seen.
        #expect(try await pool.trace(tx.txid.hex).map(\.stage) == [.accepted])
        #expect(await templates.activeMiners().map(\.id) == ["m"])

        try pace.apply(PaceChange(action: "step"), network: .regtest, tipHeight: h.blocks.count - 1, now: 2)
        let stepped = try await templates.template(for: request, pace: pace)
        #expect(stepped.txids == [tx.txid.hex])
        #expect(stepped.notBefore == Double(h.chain.tipValue.withLock { $0.time }) + 5)
        #expect(try await pool.trace(tx.txid.hex).map(\.stage) == [.accepted, .template])
    }

    @Test func thePacerKeepsThePaceAcrossARestartAndEndsAStepAtItsBlock() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-pace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("mempool.sqlite").path
        let announced = Announced()
        do {
            let db = try DatabasePool(path: path)
            try MempoolStore.migrator().migrate(db)
            let pacer = Pacer(network: .regtest, db: db, logger: Logger(label: "test")) { p in announced.list.withLock { $0.append(p) } }
            try await pacer.load()
            #expect(await pacer.pace == .running)
            _ = try await pacer.change(PaceChange(action: "interval", minInterval: 2.5), tipHeight: 7)
            let stepping = try await pacer.change(PaceChange(action: "step"), tipHeight: 7)
            #expect(stepping.stepHeight == 8)
            // Unchanged: not announced again.
            _ = try await pacer.change(PaceChange(action: "step"), tipHeight: 7)
            #expect(announced.list.withLock { $0.map(\.display) } == ["running", "stepping"])
            try db.close()
        }
        do {
            // A restart keeps the pace, the pending step included.
            let db = try DatabasePool(path: path)
            try MempoolStore.migrator().migrate(db)
            let pacer = Pacer(network: .regtest, db: db, logger: Logger(label: "test")) { p in announced.list.withLock { $0.append(p) } }
            try await pacer.load()
            let p = await pacer.pace
            #expect(p.display == "stepping" && p.stepHeight == 8 && p.minInterval == 2.5)
            await pacer.tipChanged(height: 8)
            #expect(await pacer.pace.display == "paused")
            #expect(announced.list.withLock { $0.last?.display } == "paused")
            try db.close()
        }
        do {
            let db = try DatabasePool(path: path)
            let pacer = Pacer(network: .regtest, db: db, logger: Logger(label: "test")) { _ in }
            try await pacer.load()
            #expect(await pacer.pace.display == "paused")
            // The same data folder on another network mines as usual, and refuses changes.
            let other = Pacer(network: .testnet, db: db, logger: Logger(label: "test")) { _ in }
            try await other.load()
            #expect(await other.pace == .running)
            await #expect(throws: RPCError.self) { _ = try await other.change(PaceChange(action: "pause"), tipHeight: 1) }
            try db.close()
        }
    }
}

final class Announced: Sendable {
    let list = Mutex<[MiningPace]>([])
}
