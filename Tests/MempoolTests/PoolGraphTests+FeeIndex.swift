import ChainCore
import NodeKit
import Synchronization
import Testing
import TestSupport
@testable import Mempool

/// The structures that keep the pool's cost flat as it grows (issue 11): the graph's fee-rate index
/// and running totals against brute force after random changes, and block assembly's one pass
/// against the sweeps it replaced, on random graphs with parents.
@Suite("Fee-rate index and assembly")
struct FeeIndexTests {
    /// Random entries with parents: each spends a fresh confirmed coin and, for some, a free output
    /// of up to three earlier entries (eight outputs each). Few distinct fee rates and times, so the
    /// order's tie-breaks are exercised; children often pay more than their parents.
    struct Maker {
        var rng: SplitMix64
        var serial: UInt64 = 0
        var free: [Hash256: [UInt32]] = [:]

        init(seed: UInt64) { rng = SplitMix64(seed: seed) }

        mutating func entry(parentsFrom pool: [PoolEntry]) -> PoolEntry {
            serial += 1
            var inputs = [OutPoint(txid: Hash256(w0: serial, w1: 7, w2: 7, w3: 7), index: 0)]
            if !pool.isEmpty {
                for _ in 0..<Int.random(in: 0...3, using: &rng) {
                    let p = pool.randomElement(using: &rng)!
                    guard var outs = free[p.txid], let i = outs.popLast() else { continue }
                    free[p.txid] = outs
                    inputs.append(OutPoint(txid: p.txid, index: i))
                }
            }
            let tx = Transaction(inputs: inputs.map { TxInput(previousOutput: $0, payload: []) },
                                 outputs: (0..<8).map { _ in TxOutput(value: 1_000, publicKey: [UInt8](repeating: 1, count: 32)) })
            let size = [100, 150, 200, 250, 400].randomElement(using: &rng)!
            let rate = Amount([1, 2, 3, 5, 8].randomElement(using: &rng)!)
            let fee = Bool.random(using: &rng) ? rate * Amount(size) : Amount.random(in: 100...3_000, using: &rng)
            free[tx.txid] = Array(0..<8)
            return PoolEntry(tx: tx, txid: tx.txid, raw: [UInt8](repeating: 0, count: size), fee: fee, spent: [],
                             time: Double(Int.random(in: 0..<4, using: &rng)), parents: Set(inputs.map(\.txid)))
        }
    }

    // MARK: the sweeps as first written (the reference)

    static func sweeps(_ entries: some Collection<PoolEntry>, maxBlockSize: Int) -> [Hash256] {
        var chosen = [Hash256]()
        var included = Set<Hash256>()
        var size = BlockAssembler.reserved
        var candidates = entries.sorted { $0.order < $1.order }
        var progress = true
        while progress {
            progress = false
            var rest = [PoolEntry]()
            for e in candidates {
                if e.parents.isSubset(of: included) {
                    if size + e.size <= maxBlockSize {
                        chosen.append(e.txid)
                        included.insert(e.txid)
                        size += e.size
                        progress = true
                    }
                } else {
                    rest.append(e)
                }
            }
            candidates = rest
        }
        return chosen
    }

    static func projectedBySweeps(_ entries: [PoolEntry], count: Int, maxBlockSize: Int) -> [[Hash256]] {
        var remaining = [Hash256: PoolEntry]()
        for e in entries { remaining[e.txid] = e }
        var blocks = [[Hash256]]()
        var done = Set<Hash256>()
        while !remaining.isEmpty && blocks.count < count {
            var chosen: [Hash256]
            if blocks.count == count - 1 {
                chosen = remaining.values.sorted { $0.order < $1.order }.map(\.txid)
            } else {
                chosen = sweeps(remaining.values, maxBlockSize: maxBlockSize)
                if chosen.isEmpty { chosen = remaining.values.sorted { $0.order < $1.order }.map(\.txid) }
            }
            for t in chosen { remaining[t] = nil; done.insert(t) }
            for (txid, var e) in remaining where !e.parents.isDisjoint(with: done) {
                e.parents.subtract(done)
                remaining[txid] = e
            }
            blocks.append(chosen)
        }
        return blocks
    }

    // MARK: the index

    @Test("the fee-rate index and the totals agree with brute force after random inserts, removals and confirmations")
    func indexAgreesWithBruteForce() {
        var maker = Maker(seed: 11)
        var g = PoolGraph()
        for round in 0..<40 {
            for _ in 0..<Int.random(in: 20...120, using: &maker.rng) {
                g.insert(maker.entry(parentsFrom: Array(g.entries.values)))
            }
            for _ in 0..<Int.random(in: 10...110, using: &maker.rng) {
                guard let t = g.entries.keys.randomElement(using: &maker.rng) else { break }
                if Bool.random(using: &maker.rng) {
                    g.confirm(t)
                    g.remove(t)
                } else {
                    for d in g.descendants(of: t) { g.remove(d) }
                }
            }
            if round == 20 {
                // Taken out and put back: the same txid again, a new serial; its old key stays stale.
                if let e = g.entries.values.first(where: { $0.children.isEmpty }) {
                    g.remove(e.txid)
                    g.insert(e)
                }
            }
            let brute = g.entries.values.sorted { $0.order < $1.order }
            #expect(g.byFeeRate().map(\.txid) == brute.map(\.txid))
            #expect(g.lowestFeeRate()?.txid == brute.last?.txid)
            let excluded = Set(brute.suffix(3).map(\.txid))
            #expect(g.lowestFeeRate(excluding: excluded)?.txid == brute.dropLast(3).last?.txid)
            #expect(g.byFeeRate().map(\.txid) == brute.map(\.txid))   // setting aside and putting back lost nothing
            #expect(g.totalFee == brute.reduce(Amount(0)) { $0 + $1.fee })
            #expect(g.bytes == brute.reduce(0) { $0 + $1.size })
            #expect(g.minSize == brute.map(\.size).min())
            var buckets = [Double: Int]()
            for e in brute { buckets[PoolGraph.bucket(e.feeRate), default: 0] += e.size }
            #expect(g.feeRateBuckets == buckets)
            #expect(g.order.count <= 2 * g.count + 1_025)
            #expect(g.consistency().problems.isEmpty)
        }
        g.removeAll()
        #expect(g.order.isEmpty && g.totalFee == 0 && g.feeRateBuckets.isEmpty && g.minSize == nil && g.lowestFeeRate() == nil)
    }

    // MARK: assembly

    @Test("one pass over the fee-rate index chooses what the sweeps chose, in the same order, on random graphs")
    func assemblyMatchesSweeps() {
        var maker = Maker(seed: 5)
        for _ in 0..<150 {
            var entries = [PoolEntry]()
            for _ in 0..<Int.random(in: 1...250, using: &maker.rng) { entries.append(maker.entry(parentsFrom: entries)) }
            var g = PoolGraph()
            for e in entries { g.insert(e) }
            // Some leave (their children stay, without them as parents), some are confirmed.
            for _ in 0..<Int.random(in: 0...20, using: &maker.rng) {
                guard let t = g.entries.keys.randomElement(using: &maker.rng) else { break }
                if Bool.random(using: &maker.rng) { g.remove(t) } else { g.confirm(t); g.remove(t) }
            }
            let total = g.bytes
            for room in [0, 150, total / 3, total / 2, total + 1] {
                let limit = BlockAssembler.reserved + room
                let expected = Self.sweeps(g.entries.values, maxBlockSize: limit)
                let fromGraph = BlockAssembler.select(g, maxBlockSize: limit)
                #expect(fromGraph.chosen.map(\.txid) == expected)
                #expect(fromGraph.fees == fromGraph.chosen.reduce(Amount(0)) { $0 + $1.fee })
                #expect(BlockAssembler.select(Array(g.entries.values), maxBlockSize: limit).chosen.map(\.txid) == expected)
            }
            // The entries as made (parents not all in the collection's order of insertion).
            let limit = BlockAssembler.reserved + entries.reduce(0) { $0 + $1.size } / 2
            #expect(BlockAssembler.select(entries.shuffled(using: &maker.rng), maxBlockSize: limit).chosen.map(\.txid)
                    == Self.sweeps(entries, maxBlockSize: limit))
        }
    }

    @Test("projected blocks from the index match the sweeps, block for block")
    func projectionMatchesSweeps() {
        var maker = Maker(seed: 23)
        for _ in 0..<60 {
            var entries = [PoolEntry]()
            for _ in 0..<Int.random(in: 1...200, using: &maker.rng) { entries.append(maker.entry(parentsFrom: entries)) }
            var g = PoolGraph()
            for e in entries { g.insert(e) }
            let limit = BlockAssembler.reserved + Int.random(in: 100...5_000, using: &maker.rng)
            for count in [1, 2, 8] {
                let expected = Self.projectedBySweeps(Array(g.entries.values), count: count, maxBlockSize: limit)
                let p = ProjectedBlocks.project(g, count: count, maxBlockSize: limit)
                #expect(p.blocks.map(\.nTx) == expected.map(\.count))
                #expect(p.blocks.map(\.totalFees) == expected.map { $0.reduce(Amount(0)) { $0 + g[$1]!.fee } })
                var blockOf = [Hash256: Int]()
                for (i, b) in expected.enumerated() { for t in b { blockOf[t] = i } }
                #expect(p.blockOf == blockOf)
                let q = ProjectedBlocks.project(Array(g.entries.values), count: count, maxBlockSize: limit)
                #expect(q.blockOf == blockOf && q.blocks.map(\.nTx) == expected.map(\.count))
            }
        }
    }
}

/// The template generator's reuse of the previous template's hex.
@Suite("Template encodings")
struct TemplateEncodingTests {
    /// A source whose entries change between templates.
    final class ChangingSource: TxSource {
        let entries: Mutex<[PoolEntry]>
        init(_ entries: [PoolEntry]) { self.entries = Mutex(entries) }
        func miningSnapshot() async throws -> MiningSnapshot { BlockAssemblerTests.snapshot(entries.withLock { $0 }) }
        func didTemplate(_ txids: [Hash256], height: Int, minerID: String) async {}
    }

    @Test("a template after a change carries the same hex as one made afresh: kept ones reused, new ones encoded, gone ones left out")
    func reusedEncodingsMatchFreshOnes() async throws {
        var maker = FeeIndexTests.Maker(seed: 41)
        var entries = [PoolEntry]()
        for _ in 0..<60 { entries.append(maker.entry(parentsFrom: entries)) }
        let source = ChangingSource(entries)
        let generator = TemplateGenerator(source: source, params: .regtest)
        let request = TemplateRequest(minerID: "m", address: "x", hashrate: 0, threads: 1)
        let first = try await generator.template(for: request)
        #expect(first.transactions == BlockAssemblerTests.snapshot(entries).chosen.map { Hex.encode($0.raw) })
        // Childless ones leave, new ones come.
        let leaving = Set(entries.filter { e in !entries.contains { $0.parents.contains(e.txid) } }.prefix(10).map(\.txid))
        entries.removeAll { leaving.contains($0.txid) }
        for _ in 0..<15 { entries.append(maker.entry(parentsFrom: entries)) }
        source.entries.withLock { $0 = entries }
        let second = try await generator.template(for: request)
        let fresh = BlockAssembler.template(from: BlockAssemblerTests.snapshot(entries), pace: .running, params: .regtest, now: 0).template
        #expect(second.transactions == fresh.transactions && second.txids == fresh.txids)
        #expect(second.txids.count == entries.count && !second.txids.contains { leaving.contains(Hash256(hex: $0)!) })
    }
}
