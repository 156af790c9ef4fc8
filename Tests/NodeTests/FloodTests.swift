import ChainCore
import Foundation
import NodeKit
import Synchronization
import Testing
import TestSupport

/// The guarantees of issue 11 under a payment flood, through real processes (`cairn up`): two spends
/// of one coin are never both admitted, and a reorg during the flood brings the transactions of the
/// disconnected blocks back, evicts what the new branch conflicts with, and leaves the mempool's coin
/// view equal to the chain store's. The kill -9 tests under the flood are CrashTests'. Figures are
/// printed, never asserted (the machine is shared).
@Suite(.serialized) struct Flood {
    /// `count` spends of `coin`, each paying a different payee the same amounts (same size, same
    /// fee: none may replace another).
    static func contenders(for coin: (OutPoint, TxOutput), count: Int, from wallet: TestWallet, fee: Amount = 2_000) -> [Transaction] {
        let pay = (coin.1.value - fee) / 2
        return (0..<count).map { _ in
            wallet.spend([coin], to: [TestWallet().output(pay), wallet.output(coin.1.value - fee - pay)])
        }
    }

    /// Submits every contender at once, each until it is acknowledged or refused; the admitted ones
    /// and the codes of the refused.
    static func race(_ txs: [Transaction], through flood: PaymentFlood) async -> (admitted: [Transaction], codes: [String]) {
        await withTaskGroup(of: (Transaction, Bool, String?).self) { group in
            for tx in txs {
                group.addTask {
                    let (admitted, code) = await flood.submitUntilDecided(tx)
                    return (tx, admitted, code)
                }
            }
            var admitted = [Transaction]()
            var codes = [String]()
            for await (tx, ok, code) in group {
                if ok { admitted.append(tx) } else { codes.append(code ?? "?") }
            }
            return (admitted, codes)
        }
    }

    /// Which of `txs` the node finds (mempool or chain).
    static func found(_ txs: [Transaction], in stack: Stack) async -> [Transaction] {
        let missing = Set(await stack.missing(txs.map(\.txid.hex)))
        return txs.filter { !missing.contains($0.txid.hex) }
    }

    @Test func concurrentDoubleSpendsUnderTheFloodAdmitExactlyOne() async throws {
        let started = ContinuousClock.now
        let miner = TestWallet()
        let stack = try await Stack(miner: miner, blockInterval: 0.3)
        defer { stack.stop() }
        let rounds = 4
        try await waitUntil("mature coinbases", timeout: 120) { try await stack.height() >= ChainParams.regtest.coinbaseMaturity + rounds + 2 }
        let coins = try await stack.spendable(miner, tip: try await stack.height())
        try #require(coins.count >= rounds + 1, "\(coins.count) mature coinbases\n\(stack.log)")
        let flood = try await stack.startFlood(clients: 32, on: coins[0])
        try await waitUntil("the flood is under way", timeout: 90) { flood.acknowledgedCount >= 200 }

        var winners = [Transaction]()
        var all = [[Transaction]]()
        for round in 1...rounds {
            // 24 spends of one coin at once, while the flood runs: one is admitted, the others refused as conflicts.
            let txs = Self.contenders(for: coins[round], count: 24, from: miner)
            let (admitted, codes) = await Self.race(txs, through: flood)
            #expect(admitted.count == 1, "round \(round): \(admitted.count) of \(txs.count) spends of one coin admitted; refusals \(codes)")
            #expect(codes.allSatisfy(FloodOutcome.conflict.contains), "round \(round): refusals \(codes)")
            let inNode = await Self.found(txs, in: stack)
            #expect(inNode.count == 1, "round \(round): the node holds \(inNode.count) spends of one coin")
            if let w = admitted.first { winners.append(w) }
            all.append(txs)
        }

        // Mined: exactly the admitted spend of each coin is in the chain, the others nowhere.
        try await waitUntil("the admitted spends confirm", timeout: 120, every: 0.5) {
            for w in winners {
                if try await stack.confirmation(w.txid.hex)?.confirmed != true { return false }
            }
            return true
        }
        for (round, txs) in all.enumerated() {
            var confirmed = 0
            for tx in txs {
                if try await stack.confirmation(tx.txid.hex)?.confirmed == true { confirmed += 1 }
            }
            #expect(confirmed == 1, "round \(round + 1): \(confirmed) spends of one coin in the chain")
            #expect(await Self.found(txs, in: stack).count == 1, "round \(round + 1): the losers are gone")
        }
        let tally = await flood.stop()
        print("flood, double spends: \(tally.summary)")
        try await stack.expectNothingLost(tally)
        #expect(tally.refused.isEmpty, "transactions of the flood refused for good: \(tally.refused)")
        print("flood, double spends: took \(seconds(since: started))")
    }

    /// A reorg during the flood (the miner stopped, a competing branch submitted to the chain store):
    /// the flood's transactions of the disconnected blocks come back to the mempool; a transaction
    /// the new branch double-spends leaves the chain and does not come back (nor its child); one in
    /// the mempool the branch conflicts with is evicted; spends of a coin raced against the reorg
    /// end with exactly one in the node and then in the chain; and `verifyutxo` and `checkmempool`
    /// (the mempool's coin view against the chain store) pass afterwards, the mempool full.
    @Test
    func aReorgDuringTheFloodBringsBackTheDisconnectedAndEvictsTheConflicted() async throws {
        let started = ContinuousClock.now
        let me = TestWallet()
        let phases = Phases("flood, reorg")
        let stack = try await Stack(miner: me, extra: ["--no-miner"])
        defer { stack.stop() }
        var miner = try await FeeBump.attachMiner(stack, paying: me)
        defer { miner.signal(SIGTERM) }
        try await waitUntil("mature coinbases", timeout: 180) { try await stack.height() >= ChainParams.regtest.coinbaseMaturity + 6 }
        let coins = try await stack.spendable(me, tip: try await stack.height())
        try #require(coins.count >= 4, "\(coins.count) mature coinbases\n\(stack.log)")
        let (floodCoin, c, d, e) = (coins[0], coins[1], coins[2], coins[3])
        phases.mark("node up, coinbases mature")
        let flood = try await stack.startFlood(clients: 32, on: floodCoin)
        try await waitUntil("the flood is under way", timeout: 90) { flood.acknowledgedCount >= 200 }

        // In blocks the reorg will disconnect: t1 (spends c; the new branch spends c otherwise), its
        // child, and e1 (spends e; its rivals race the reorg).
        let t1 = me.spend([c], to: [me.output(c.1.value - 2_000)])
        let e1 = Self.contenders(for: e, count: 1, from: me)[0]
        for tx in [t1, e1] {
            let (status, body) = try await stack.submit(tx)
            #expect(status == 200, "\(body)")
        }
        try await waitUntil("t1 and e1 confirm", timeout: 90, every: 0.3) {
            let a = try await stack.confirmation(t1.txid.hex)?.confirmed == true
            let b = try await stack.confirmation(e1.txid.hex)?.confirmed == true
            return a && b
        }
        let t1Child = me.spend([(OutPoint(txid: t1.txid, index: 0), t1.outputs[0])], to: [me.output(t1.outputs[0].value - 2_000)])
        #expect(try await stack.submit(t1Child).0 == 200)
        let forkHeight = min(try #require(try await stack.confirmation(t1.txid.hex)?.height),
                             try #require(try await stack.confirmation(e1.txid.hex)?.height))
        try await waitUntil("two more blocks of the flood", timeout: 90) { try await stack.height() >= forkHeight + 2 }

        // The miner stops; t3 (spends d) waits in the mempool; the branch will spend d otherwise.
        phases.mark("t1, e1 confirmed, two more blocks")
        try await FeeBump.stop(miner)
        let t3 = me.spend([d], to: [me.output(d.1.value - 2_000)])
        #expect(try await stack.submit(t3).0 == 200)
        // A block the miner sent just before it stopped may still be on its way in: the tip settles first.
        var tip = try await stack.rpc("chain", "getchaintip", Empty(), as: ChainTip.self)
        try await waitUntil("the tip settles", timeout: 30) {
            try await Task.sleep(for: .seconds(1))
            let now = try await stack.rpc("chain", "getchaintip", Empty(), as: ChainTip.self)
            defer { tip = now }
            return now == tip
        }
        // What the reorg will disconnect: the flood's transactions in blocks forkHeight…tip.
        var disconnected = [String]()
        for h in forkHeight...tip.height {
            let block = try await stack.rpc("chain", "getblock", BlockRef(height: h), as: BlockInfo.self)
            disconnected += try Block(bytes: try #require(Hex.decode(block.hex))).transactions.dropFirst().map(\.txid.hex)
        }
        let ours: Set<String> = [t1.txid.hex, t1Child.txid.hex, e1.txid.hex]
        let returning = disconnected.filter { !ours.contains($0) }
        #expect(returning.count > 0, "the flood's transactions in the blocks to disconnect")

        // The branch: from the block below forkHeight, one block longer than the chain; its first block
        // spends c and d otherwise.
        let t2 = me.spend([c], to: [TestWallet().output(c.1.value - 3_000)])
        let t4 = me.spend([d], to: [TestWallet().output(d.1.value - 3_000)])
        let below = try await stack.rpc("chain", "getblock", BlockRef(height: forkHeight - 1), as: BlockInfo.self)
        var parent = try Block(bytes: try #require(Hex.decode(below.hex))).header
        var branch = [Block]()
        for height in forkHeight...(tip.height + 1) {
            let b = ChainFixtures.next(after: parent, height: height, paying: me, transactions: height == forkHeight ? [t2, t4] : [],
                                       extra: Array("flood fork".utf8) + (0..<4).map { _ in UInt8.random(in: 0...255) })
            branch.append(b)
            parent = b.header
        }
        // e's rivals race the reorg: each is sent again and again until the node answers other than
        // "spent" (before the reorg, e is spent in the chain; after it, by e1 back in the mempool).
        let rivals = Self.contenders(for: e, count: 16, from: me)
        let reorgDone = Flag()
        let race = Task {
            await withTaskGroup(of: (Bool, String?).self) { group in
                for tx in rivals {
                    group.addTask {
                        var settledAt: ContinuousClock.Instant?
                        while true {
                            let (admitted, code) = await flood.submitUntilDecided(tx)
                            if admitted || code != "bad-txns-inputs-missingorspent" { return (admitted, code) }
                            // spent: once the reorg is through, a while longer (e1 may still be on its way back)
                            if reorgDone.isSet {
                                if let t = settledAt { if ContinuousClock.now - t > .seconds(5) { return (false, code) } } else { settledAt = .now }
                            }
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
                var out = [(Bool, String?)]()
                for await r in group { out.append(r) }
                return out
            }
        }
        func send(_ b: Block) async throws {
            let r = try await stack.rpc("chain", "submitblock", SubmitBlock(hex: Hex.encode(b.encoded), source: "test fork"), as: SubmitBlockResult.self)
            #expect(r.accepted || r.reason == "inconclusive", "fork block refused: \(r.reason ?? "") \(r.message ?? "")")
        }
        for b in branch { try await send(b) }
        var newTip = try await stack.rpc("chain", "getchaintip", Empty(), as: ChainTip.self)
        // Should a block of the old chain still have come in, the branch grows until it is the best chain.
        while newTip.hash != branch.last!.header.hash.hex && branch.count < tip.height - forkHeight + 6 {
            let b = ChainFixtures.next(after: branch.last!.header, height: forkHeight + branch.count, paying: me,
                                       extra: Array("flood fork".utf8) + (0..<4).map { _ in UInt8.random(in: 0...255) })
            branch.append(b)
            try await send(b)
            newTip = try await stack.rpc("chain", "getchaintip", Empty(), as: ChainTip.self)
        }
        #expect(newTip.hash == branch.last!.header.hash.hex, "the branch is the best chain: \(newTip), the old tip \(tip)")
        reorgDone.set()
        let rivalOutcomes = await race.value
        phases.mark("the branch submitted and the rivals decided")

        // The branch's spends are in the chain; what they conflict with is gone, and stays out.
        #expect(try await stack.confirmation(t2.txid.hex)?.confirmed == true)
        #expect(try await stack.confirmation(t4.txid.hex)?.confirmed == true)
        #expect(await eventually("t1, its child and t3 leave the node", timeout: 60) {
            await stack.missing([t1, t1Child, t3].map(\.txid.hex)).count == 3
        })
        for tx in [t1, t3] {
            // 503 mempool-busy (Retry-After) while the reorg's transactions wait to come back: retried.
            var (status, body) = try await stack.submit(tx)
            let deadline = ContinuousClock.now + .seconds(60)
            while status == 503 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                (status, body) = try await stack.submit(tx)
            }
            #expect(status == 400 && body.contains("bad-txns-inputs-missingorspent"), "resubmitted after the reorg: \(status) \(body)")
        }
        // The flood's transactions of the disconnected blocks are back, unconfirmed.
        var notBack = returning
        try? await waitUntil("the disconnected blocks' transactions are back in the mempool", timeout: 90, every: 0.5) {
            let (_, text, _) = try await stack.fetch("/api/mempool/txids")
            let pool = Set(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] ?? [])
            notBack = notBack.filter { !pool.contains($0) }
            return notBack.isEmpty
        }
        #expect(notBack.isEmpty, "\(notBack.count) of \(returning.count) transactions of disconnected blocks not back, e.g. \(notBack.prefix(5))")
        // e: exactly one spend in the node, e1 or one rival.
        let admittedRivals = rivalOutcomes.filter(\.0).count
        #expect(admittedRivals <= 1, "\(admittedRivals) rivals admitted; outcomes \(rivalOutcomes)")
        #expect(rivalOutcomes.allSatisfy { $0.0 || FloodOutcome.conflict.contains($0.1 ?? "") }, "rivals: \(rivalOutcomes)")
        let eSpends = [e1] + rivals
        #expect(await eventually("exactly one spend of e in the node", timeout: 30) { await Self.found(eSpends, in: stack).count == 1 })
        // The mempool (full: no miner) agrees with the chain store.
        phases.mark("the reorg's effects seen")
        try await stack.expectChecksPass()
        let pool = try await stack.checkMempool()
        print("flood, reorg: \(tip.height - forkHeight + 1) blocks disconnected, \(branch.count) connected; \(returning.count) flood transactions came back; the mempool holds \(pool.count); \(admittedRivals) rival of e1 admitted")

        // Mining again: the flood confirms, and of e's spends exactly one is in the chain.
        miner = try await FeeBump.attachMiner(stack, paying: me)
        try await waitUntil("a spend of e confirms", timeout: 120, every: 0.5) {
            for tx in eSpends {
                if try await stack.confirmation(tx.txid.hex)?.confirmed == true { return true }
            }
            return false
        }
        var confirmed = 0
        for tx in eSpends {
            if try await stack.confirmation(tx.txid.hex)?.confirmed == true { confirmed += 1 }
        }
        #expect(confirmed == 1, "\(confirmed) spends of e in the chain")
        #expect(await Self.found(eSpends, in: stack).count == 1)
        phases.mark("a spend of e mined")
        let tally = await flood.stop()
        print("flood, reorg: \(tally.summary)")
        // Checked at rest (the mempool's check races the blocks it has not followed yet otherwise).
        try await FeeBump.stop(miner)
        try await stack.expectNothingLost(tally)
        #expect(tally.refused.isEmpty, "transactions of the flood refused for good: \(tally.refused)")
        phases.mark("nothing lost, checks pass")
        // A figure for the explorer's read path after the flood (not asserted): one transaction at a time.
        let probe = ContinuousClock.now
        for txid in tally.acknowledged.suffix(20) { _ = try await stack.fetch("/api/tx/\(txid)") }
        print("flood, reorg: 20 lookups of /api/tx/:txid one after the other: \(seconds(since: probe)), the tip at \(try await stack.height())")
        print("flood, reorg: took \(seconds(since: started))")
    }
}

/// A flag tasks may share.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
