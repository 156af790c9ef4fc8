import ChainCore
import Foundation
import GRDB
import NodeKit

/// `mempool.sqlite` (btcd keeps no mempool file; this is Cairn's crash copy): every SQL statement
/// of the mempool, so `Pool`, `MempoolSamples` and `Pacer` hold none. Tables: `tx` (the
/// acknowledged transactions), `trace` (the path of each transaction), `meta` (the mempool
/// sequence); `sample` (the charts' samples, its own migrator) and `pace` (the mining pace).
struct MempoolStore: Sendable {
    let db: DatabasePool

    /// How the service opens the file. WAL with synchronous=NORMAL: a commit is durable against any
    /// process crash (kill -9 included) the moment it returns; only an OS crash or power loss can
    /// undo the last ones. That is the promise (Bitcoin Core keeps no crash copy at all), at a
    /// fraction of the cost of an fsync per acknowledged transaction.
    static func configuration() -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        return config
    }

    static func migrator() -> DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE tx (txid BLOB PRIMARY KEY NOT NULL, raw BLOB NOT NULL, fee INTEGER NOT NULL,
                                 time REAL NOT NULL) WITHOUT ROWID;
                CREATE TABLE trace (id TEXT NOT NULL, kind TEXT NOT NULL, stage TEXT NOT NULL,
                                    service TEXT NOT NULL, time REAL NOT NULL, detail TEXT);
                CREATE INDEX trace_id ON trace(id);
                """)
        }
        // The mempool sequence survives restarts: a subscriber applying A/R above a snapshot's
        // sequence (the Clone pattern) never sees it go back. Each write that precedes an
        // increment stores a value at least as high as the sequence it leads to.
        m.registerMigration("v2") { db in
            try db.execute(sql: "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID")
        }
        return m
    }

    /// One stored transaction, as read back on a reload.
    struct Row: Sendable {
        let raw: [UInt8]
        let fee: Amount
        let time: Double
    }

    // MARK: writes

    /// One write of the pool's ordered writer (`WriteQueue`, GroupCommit.swift): the writer commits
    /// whatever is queued, in order, in one SQLite transaction (`commit`).
    enum Write: Sendable {
        /// The entry, its trace rows and the sequence it leads to; the `replacing` rows deleted and
        /// their `replaced` trace rows written: a crash leaves either the old transactions or the
        /// new one, never both or neither.
        case admit(PoolEntry, receivedAt: Double?, replacing: [(Hash256, TraceEvent)], sequence: UInt64)
        /// These transactions' rows deleted; with a sequence, it stored.
        case delete([Hash256], sequence: UInt64?)
        /// The mempool sequence (before announcements that write nothing else).
        case sequence(UInt64)
        /// Trace rows.
        case trace([TraceEvent])
    }

    /// The writes, in order, in one SQLite transaction (all or none).
    func commit(_ writes: [Write]) async throws {
        guard !writes.isEmpty else { return }
        try await db.write { db in
            for w in writes { try Self.apply(w, db) }
        }
    }

    /// Writes the entry, its trace rows and the sequence it leads to (`sequence`); deletes the
    /// `replaced` rows and writes their trace events in the same SQLite transaction.
    func admit(_ e: PoolEntry, receivedAt: Double?, replacing gone: [(Hash256, TraceEvent)], sequence: UInt64) async throws {
        try await commit([.admit(e, receivedAt: receivedAt, replacing: gone, sequence: sequence)])
    }

    /// Deletes these transactions' rows; with `sequence`, stores it in the same SQLite transaction.
    func delete(_ txids: [Hash256], sequence: UInt64? = nil) async throws {
        try await commit([.delete(txids, sequence: sequence)])
    }

    /// Stores the mempool sequence (before announcements that write nothing else).
    func storeSequence(_ value: UInt64) async throws {
        try await commit([.sequence(value)])
    }

    /// Trace rows, in one SQLite transaction.
    func record(_ events: [TraceEvent]) async throws {
        guard !events.isEmpty else { return }
        try await commit([.trace(events)])
    }

    private static func apply(_ write: Write, _ db: Database) throws {
        switch write {
        case let .admit(e, receivedAt, gone, sequence):
            for (t, event) in gone {
                try delete(Data(t.bytes), db)
                try insertTrace(event, db)
            }
            let id = e.txid.hex
            try db.execute(sql: "INSERT OR REPLACE INTO tx VALUES (?, ?, ?, ?)",
                           arguments: [Data(e.txid.bytes), Data(e.raw), Int64(e.fee), e.time])
            if let receivedAt {
                try db.execute(sql: "INSERT INTO trace VALUES (?, 'tx', 'received', 'edge', ?, 'POST /api/tx')", arguments: [id, receivedAt])
            }
            try db.execute(sql: "INSERT INTO trace VALUES (?, 'tx', 'accepted', 'mempool', ?, NULL)", arguments: [id, e.time])
            try storeSequence(sequence, db)
        case let .delete(txids, sequence):
            for t in txids { try delete(Data(t.bytes), db) }
            if let sequence { try storeSequence(sequence, db) }
        case let .sequence(value):
            try storeSequence(value, db)
        case let .trace(events):
            for e in events { try insertTrace(e, db) }
        }
    }

    // MARK: reads

    /// What was stored, oldest first, and the stored mempool sequence.
    func load() async throws -> (rows: [Row], sequence: UInt64?) {
        try await db.read { db in
            let rows = try GRDB.Row.fetchAll(db, sql: "SELECT raw, fee, time FROM tx ORDER BY time").map {
                Row(raw: Array($0["raw"] as Data), fee: UInt64($0["fee"] as Int64), time: $0["time"] as Double)
            }
            let stored = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'sequence'")
            return (rows, stored.map { UInt64(bitPattern: $0) })
        }
    }

    /// The txids of the stored transactions.
    func txids() async throws -> [Hash256] {
        try await db.read { db in try Data.fetchAll(db, sql: "SELECT txid FROM tx").map { Hash256(bytes: Array($0)) } }
    }

    /// A transaction's (or any id's) trace rows, in order.
    func trace(_ id: String) async throws -> [TraceEvent] {
        try await db.read { db in
            try GRDB.Row.fetchAll(db, sql: "SELECT id, kind, stage, service, time, detail FROM trace WHERE id = ? ORDER BY time, rowid",
                                  arguments: [id]).compactMap {
                TraceEvent(id: $0["id"], kind: $0["kind"], stage: $0["stage"], service: $0["service"], time: $0["time"], detail: $0["detail"])
            }
        }
    }

    // MARK: samples (`MempoolSamples`)

    /// The `sample` table's own migrator (a separate identifier, so the pool's schema stays apart).
    static func samplesMigrator() -> DatabaseMigrator {
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

    /// Stores a sample and deletes those older than `keep` seconds before it, in one write.
    func recordSample(_ s: MempoolSample, keep: Double) async throws {
        try await db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO sample VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [s.time, s.count, s.bytes, Int64(s.totalFee), s.nextBlockMedianFee, s.nextBlockMinFee])
            try db.execute(sql: "DELETE FROM sample WHERE time < ?", arguments: [s.time - keep])
        }
    }

    /// Samples since a time, oldest first (at most 10,000: a day at one per 10 s fits).
    func samples(since time: Double) async throws -> [MempoolSample] {
        try await db.read { db in
            try GRDB.Row.fetchAll(db, sql: """
                SELECT * FROM (SELECT time, count, bytes, total_fee, next_median, next_min FROM sample WHERE time >= ?
                               ORDER BY time DESC LIMIT 10000) ORDER BY time
                """, arguments: [time]).map { row in
                MempoolSample(time: row[0], count: row[1], bytes: row[2], totalFee: UInt64(row[3] as Int64),
                              nextBlockMedianFee: row[4], nextBlockMinFee: row[5])
            }
        }
    }

    // MARK: the mining pace (`Pacer`)

    /// Creates the `pace` table if needed and reads the stored pace (JSON), nil when none is.
    func loadPace() async throws -> String? {
        try await db.write { db -> String? in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS pace (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL)")
            return try String.fetchOne(db, sql: "SELECT json FROM pace WHERE id = 1")
        }
    }

    func storePace(_ json: String) async throws {
        try await db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO pace (id, json) VALUES (1, ?)", arguments: [json])
        }
    }

    // MARK: statements

    private static func delete(_ key: Data, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM tx WHERE txid = ?", arguments: [key])
    }

    private static func insertTrace(_ e: TraceEvent, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO trace VALUES (?, ?, ?, ?, ?, ?)", arguments: [e.id, e.kind.rawValue, e.stage.rawValue, e.service, e.time, e.detail])
    }

    private static func storeSequence(_ value: UInt64, _ db: Database) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO meta VALUES ('sequence', ?)", arguments: [Int64(bitPattern: value)])
    }
}
