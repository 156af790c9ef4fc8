import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit

/// The mempool's size and fee rates over time, for the explorer's charts. The mempool records
/// them itself (it is the one that knows), every `interval` into a `sample` table of
/// mempool.sqlite, keeping `keep` seconds (a day): one small row each, about 8,640 rows a day at
/// the default 10 s. Its own migrator (a separate identifier), so Pool.swift's schema stays apart.
struct MempoolSamples: Sendable {
    let db: DatabasePool
    var keep: Double = 86_400

    static func migrator() -> DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("samples-v1") { db in
            try db.execute(sql: """
                CREATE TABLE sample (
                    time REAL PRIMARY KEY NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL, total_fee INTEGER NOT NULL,
                    next_median REAL NOT NULL, next_min REAL NOT NULL
                );
                """)
        }
        return m
    }

    func record(_ s: MempoolSample) async throws {
        let keep = self.keep
        try await db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO sample VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [s.time, s.count, s.bytes, Int64(s.totalFee), s.nextBlockMedianFee, s.nextBlockMinFee])
            try db.execute(sql: "DELETE FROM sample WHERE time < ?", arguments: [s.time - keep])
        }
    }

    /// Samples since a time, oldest first (at most 10,000: a day at one per 10 s fits).
    func since(_ time: Double) async throws -> [MempoolSample] {
        try await db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM (SELECT time, count, bytes, total_fee, next_median, next_min FROM sample WHERE time >= ?
                               ORDER BY time DESC LIMIT 10000) ORDER BY time
                """, arguments: [time]).map { row in
                MempoolSample(time: row[0], count: row[1], bytes: row[2], totalFee: UInt64(row[3] as Int64),
                              nextBlockMedianFee: row[4], nextBlockMinFee: row[5])
            }
        }
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
    /// The pool's numbers now: size, fees, and the projected next block's fee rates.
    func sample(at time: Double) -> MempoolSample {
        let next = ProjectedBlocks.project(entries.values, count: 2).blocks.first
        return MempoolSample(time: time, count: entries.count, bytes: bytes, totalFee: entries.values.reduce(0) { $0 + $1.fee },
                             nextBlockMedianFee: next?.medianFee ?? 0, nextBlockMinFee: next?.feeRange.first ?? 0)
    }
}
