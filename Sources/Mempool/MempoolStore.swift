import ChainCore
import Foundation
import GRDB
import NodeKit

/// `mempool.sqlite`'s pool tables (btcd keeps no mempool file; this is Cairn's crash copy): every
/// SQL statement of the pool, so `Pool` holds none. Tables: `tx` (the acknowledged transactions),
/// `trace` (the path of each transaction), `meta` (the mempool sequence). The samples
/// (`Samples.swift`) and the mining pace (`Pacer.swift`) keep their own tables in the same file.
struct MempoolStore: Sendable {
    let db: DatabasePool

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

    /// Writes the entry, its trace rows and the sequence it leads to (`sequence`); deletes the
    /// `replaced` rows and writes their trace events in the same SQLite transaction: a crash leaves
    /// either the old transactions or the new one, never both or neither.
    func admit(_ e: PoolEntry, receivedAt: Double?, replacing gone: [(Hash256, TraceEvent)], sequence: UInt64) async throws {
        let key = Data(e.txid.bytes), raw = Data(e.raw), fee = Int64(e.fee)
        let id = e.txid.hex
        let time = e.time
        let gone = gone.map { (Data($0.0.bytes), $0.1) }
        try await db.write { db in
            for (k, t) in gone {
                try Self.delete(k, db)
                try Self.insertTrace(t, db)
            }
            try db.execute(sql: "INSERT OR REPLACE INTO tx VALUES (?, ?, ?, ?)", arguments: [key, raw, fee, time])
            if let receivedAt {
                try db.execute(sql: "INSERT INTO trace VALUES (?, 'tx', 'received', 'edge', ?, 'POST /api/tx')", arguments: [id, receivedAt])
            }
            try db.execute(sql: "INSERT INTO trace VALUES (?, 'tx', 'accepted', 'mempool', ?, NULL)", arguments: [id, time])
            try Self.storeSequence(sequence, db)
        }
    }

    /// Deletes these transactions' rows; with `sequence`, stores it in the same SQLite transaction.
    func delete(_ txids: [Hash256], sequence: UInt64? = nil) async throws {
        let keys = txids.map { Data($0.bytes) }
        try await db.write { db in
            for k in keys { try Self.delete(k, db) }
            if let sequence { try Self.storeSequence(sequence, db) }
        }
    }

    /// Stores the mempool sequence (before announcements that write nothing else).
    func storeSequence(_ value: UInt64) async throws {
        try await db.write { db in try Self.storeSequence(value, db) }
    }

    /// Trace rows, in one SQLite transaction.
    func record(_ events: [TraceEvent]) async throws {
        guard !events.isEmpty else { return }
        try await db.write { db in
            for e in events { try Self.insertTrace(e, db) }
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
                                  arguments: [id]).map {
                TraceEvent(id: $0["id"], kind: $0["kind"], stage: $0["stage"], service: $0["service"], time: $0["time"], detail: $0["detail"])
            }
        }
    }

    // MARK: statements

    private static func delete(_ key: Data, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM tx WHERE txid = ?", arguments: [key])
    }

    private static func insertTrace(_ e: TraceEvent, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO trace VALUES (?, ?, ?, ?, ?, ?)", arguments: [e.id, e.kind, e.stage, e.service, e.time, e.detail])
    }

    private static func storeSequence(_ value: UInt64, _ db: Database) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO meta VALUES ('sequence', ?)", arguments: [Int64(bitPattern: value)])
    }
}
