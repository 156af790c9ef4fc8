import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit

/// The mempool's size and fee rates over time, for the explorer's charts. The mempool records
/// them itself (it is the one that knows), every `interval` into a `sample` table of
/// mempool.sqlite, keeping `keep` seconds (a day): one small row each, about 8,640 rows a day at
/// the default 10 s. Its table has its own migrator (`MempoolStore.samplesMigrator`), so the pool's
/// schema stays apart; its SQL is in MempoolStore.swift.
struct MempoolSamples: Sendable {
    let db: DatabasePool
    var keep: Double = 86_400

    func record(_ s: MempoolSample) async throws {
        try await MempoolStore(db: db).recordSample(s, keep: keep)
    }

    /// Samples since a time, oldest first (at most 10,000).
    func since(_ time: Double) async throws -> [MempoolSample] {
        try await MempoolStore(db: db).samples(since: time)
    }

    /// Records one sample every `interval` until cancelled.
    func run(pool: Pool, interval: Duration, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await record(await pool.sample(at: ServiceSupport.now()))
            } catch {
                logger.warning("could not record a mempool sample", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}

extension Pool {
    /// The pool's numbers now: size, fees (the graph's running totals), and the projected next
    /// block's fee rates (block assembly's choice, read from the fee-rate index as far as a block goes).
    func sample(at time: Double) -> MempoolSample {
        let next: MempoolBlock?
        if graph.isEmpty {
            next = nil
        } else {
            // The first projected block (ProjectedBlocks): the pool as a template would take it, or,
            // when nothing fits, all of it.
            let chosen = BlockAssembler.select(graph).chosen
            next = ProjectedBlocks.summary(chosen.isEmpty ? Array(entries.values) : chosen)
        }
        return MempoolSample(time: time, count: entries.count, bytes: bytes, totalFee: graph.totalFee,
                             nextBlockMedianFee: next?.medianFee ?? 0, nextBlockMinFee: next?.feeRange.first ?? 0)
    }
}
