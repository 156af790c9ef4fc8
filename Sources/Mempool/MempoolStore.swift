import ChainCore
import Foundation
import GRDB
import NodeKit
import SQLiteSupport
import Synchronization

/// `mempool.sqlite` (btcd keeps no mempool file; this is Cairn's crash copy): every SQL statement
/// of the mempool, so `Pool`, `MempoolSamples` and `Pacer` hold none. Tables: `tx` (the
/// acknowledged transactions), `trace` (the path of each transaction), `meta` (the mempool
/// sequence); `sample` (the charts' samples, its own migrator) and `pace` (the mining pace).
///
/// `tx` is keyed by admission order (v4): each commit appends its rows at the end of the table's
/// b-tree, and a row is found by its rowid, which `rowids` keeps for every stored txid (no index on
/// the txid at all). One store value writes `tx` (the pool's); others (samples, pace) touch other
/// tables.
struct MempoolStore: Sendable {
    let db: DatabasePool
    /// txid → rowid of the stored `tx` rows (`RowIDs`).
    let rowids: RowIDs

    init(db: DatabasePool) {
        self.db = db
        rowids = RowIDs()
    }

    /// How the service opens the file. WAL with synchronous=NORMAL: a commit is durable against any
    /// process crash (kill -9 included) the moment it returns; only an OS crash or power loss can
    /// undo the last ones. That is the promise (Bitcoin Core keeps no crash copy at all), at a
    /// fraction of the cost of an fsync per acknowledged transaction.
    static func configuration() -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(10)
        // temp_store in memory: a multi-row statement's statement journal is no temporary file to create,
        // unlink and close on every commit.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY") }
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
        // Fewer pages written per admitted transaction (issue 11: under a flood the writer's and the
        // checkpointer's page writes were the mempool's largest cost after the signatures). An
        // admission's `received` and `accepted` trace rows wait in its `tx` row (`received`, and
        // `pending` = 1) and join `trace` when the row is deleted (mined, replaced, removed), in the
        // commit that deletes it: one random page of `tx` at admission instead of that and two of
        // the trace index, and at deletion the transaction's rows sit together in the index. The
        // index keys the first 16 hex digits of the id (an expression index: a quarter of the
        // bytes of the full id, so more keys a page). Rows written before stay as they are.
        m.registerMigration("v3-pending-trace") { db in
            try db.execute(sql: """
                ALTER TABLE tx ADD COLUMN received REAL;
                ALTER TABLE tx ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
                DROP INDEX trace_id;
                CREATE INDEX trace_key ON trace(substr(id, 1, 16));
                """)
        }
        // `tx` keyed by admission order (issue 11: under a flood, the inserts into a b-tree keyed by
        // txid, its rows holding the raw transactions, dirtied a random page each, written to the
        // log and again by the checkpointer). `seq` is the rowid (an alias, so VACUUM keeps it); a
        // commit's new rows append at the b-tree's end; rows are deleted by rowid (`RowIDs`), and
        // no index on the txid is kept. The rows move over in time order, so a restart reads them
        // back as before.
        m.registerMigration("v4-admission-order") { db in
            try db.execute(sql: """
                CREATE TABLE tx_v4 (seq INTEGER PRIMARY KEY, txid BLOB NOT NULL, raw BLOB NOT NULL, fee INTEGER NOT NULL,
                                    time REAL NOT NULL, received REAL, pending INTEGER NOT NULL DEFAULT 0);
                INSERT INTO tx_v4 (txid, raw, fee, time, received, pending)
                    SELECT txid, raw, fee, time, received, pending FROM tx ORDER BY time, txid;
                DROP TABLE tx;
                ALTER TABLE tx_v4 RENAME TO tx;
                """)
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

    /// The writes, in order, in one SQLite transaction (all or none), with as few statements as
    /// that allows (`Batch`): the group commit hands over a few hundred admissions at a time under
    /// a flood, and one prepared statement per row was most of this write's cost. `rowids` learns
    /// the commit's rows when SQLite has committed it (`RowIDs`).
    func commit(_ writes: [Write]) async throws {
        guard !writes.isEmpty else { return }
        try await db.write { db in try apply(writes, db) }
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

    /// The statements of one commit; the rowids it gives and takes are staged in `rowids`, which
    /// learns them if the transaction commits (and forgets them if it rolls back).
    /// Rows of `tx` are inserted and deleted in the order written (a transaction admitted and then
    /// mined in one batch is gone afterwards, a replaced one's delete precedes its replacement's
    /// insert, a txid written again replaces its row), consecutive ones of a kind in one multi-row
    /// statement; trace rows (another table) keep their relative order and go in multi-row inserts
    /// at the end; the sequence, which only ever grows in queue order, is stored once (the highest
    /// given). Every statement is a prepared one from GRDB's cache.
    func apply(_ writes: [Write], _ db: Database) throws {
        var batch = Batch(rowids: try rowids.prepare(db))
        for w in writes {
            switch w {
            case let .admit(e, receivedAt, gone, sequence):
                for (t, event) in gone {
                    try batch.delete(t, db)
                    batch.trace(event)
                }
                // its `received` and `accepted` trace rows wait in its row (`pendingEvents`)
                try batch.insert(e, receivedAt: receivedAt, db)
                batch.sequence(sequence)
            case let .delete(txids, sequence):
                for t in txids { try batch.delete(t, db) }
                if let sequence { batch.sequence(sequence) }
            case let .sequence(value):
                batch.sequence(value)
            case let .trace(events):
                for e in events { batch.trace(e) }
            }
        }
        rowids.stage(try batch.finish(db))
    }

    /// Rows gathered for multi-row statements (`apply`).
    struct Batch {
        private enum Run { case none, inserts, deletes }
        private var run = Run.none
        private var changes: RowIDs.Changes
        private let rowids: RowIDs
        private var txRows: [(seq: Int64, txid: Hash256, raw: [UInt8], fee: Int64, time: Double, received: Double?)] = []
        private var deletes: [Int64] = []
        private var traces: [(id: String, kind: String, stage: String, service: String, time: Double, detail: String?)] = []
        private var sequence: UInt64?

        init(rowids: RowIDs.Prepared) {
            self.rowids = rowids.ids
            changes = RowIDs.Changes(next: rowids.next)
        }

        /// The row of `txid` as this commit leaves it so far.
        private func rowid(_ txid: Hash256) -> Int64? {
            if let r = changes.rows[txid] { return r == 0 ? nil : r }
            return rowids.rowid(txid)
        }

        mutating func insert(_ e: PoolEntry, receivedAt: Double?, _ db: Database) throws {
            // a txid stored already: its row (and what waits in it) goes first
            if rowid(e.txid) != nil { try delete(e.txid, db) }
            if run == .deletes { try flushTx(db) }
            run = .inserts
            let r = changes.next
            changes.next += 1
            changes.rows[e.txid] = r
            txRows.append((r, e.txid, e.raw, Int64(e.fee), e.time, receivedAt))
        }

        mutating func delete(_ txid: Hash256, _ db: Database) throws {
            guard let r = rowid(txid) else { return }   // not stored
            if run == .inserts { try flushTx(db) }
            run = .deletes
            changes.rows[txid] = 0
            deletes.append(r)
        }

        mutating func trace(_ e: TraceEvent) {
            trace(id: e.id, kind: e.kind.rawValue, stage: e.stage.rawValue, service: e.service, time: e.time, detail: e.detail)
        }

        mutating func trace(id: String, kind: String = TraceKind.tx.rawValue, stage: String, service: String, time: Double, detail: String?) {
            traces.append((id, kind, stage, service, time, detail))
        }

        mutating func sequence(_ value: UInt64) { sequence = max(sequence ?? 0, value) }

        mutating func finish(_ db: Database) throws -> RowIDs.Changes {
            try flushTx(db)
            // Bound straight to SQLite (SQLiteSupport/RowBinder.swift), as the tx rows.
            try BulkInsert.rows(db, "INSERT INTO trace VALUES", width: 6, count: traces.count, chunks: MempoolStore.chunkSizes) { row, i in
                let r = traces[i]
                row.text(r.id); row.text(r.kind); row.text(r.stage); row.text(r.service); row.double(r.time); row.text(r.detail)
            }
            traces = []
            if let sequence { try MempoolStore.storeSequence(sequence, db) }
            return changes
        }

        private mutating func flushTx(_ db: Database) throws {
            switch run {
            case .none: break
            case .inserts:
                // Bound straight to SQLite (SQLiteSupport/RowBinder.swift): `RowIDs` observes commits
                // only, which GRDB still runs.
                try BulkInsert.rows(db, "INSERT INTO tx (seq, txid, raw, fee, time, received, pending) VALUES", width: 7,
                                    count: txRows.count, chunks: MempoolStore.chunkSizes) { row, i in
                    let r = txRows[i]
                    row.int(r.seq); row.blob(r.txid); row.blob(r.raw); row.int(r.fee); row.double(r.time); row.double(r.received); row.int(1)
                }
                txRows = []
            case .deletes:
                // the rows' waiting trace rows (those stored with `pending` = 1) join `trace`
                var start = 0
                while start < deletes.count {
                    let n = MempoolStore.chunkSizes.first { $0 <= deletes.count - start }!
                    let statement = try db.cachedStatement(sql: "DELETE FROM tx WHERE seq IN ("
                        + Array(repeating: "?", count: n).joined(separator: ", ") + ") RETURNING txid, received, time, pending")
                    let rows = try GRDB.Row.fetchAll(statement, arguments: StatementArguments(Array(deletes[start..<start + n]) as [(any DatabaseValueConvertible)?]))
                    for row in rows where (row[3] as Int64) == 1 {
                        for e in MempoolStore.pendingEvents(txid: Hash256(bytes: Array(row[0] as Data)), received: row[1], accepted: row[2]) { trace(e) }
                    }
                    start += n
                }
                deletes = []
            }
            run = .none
        }
    }

    /// Rows per multi-row statement, largest first: `count` rows go as greedy chunks of these, so a
    /// handful of statement shapes (each prepared once, from GRDB's statement cache) serve any count.
    static let chunkSizes = [128, 32, 8, 2, 1]

    /// The rowid of each stored txid: how `tx` rows are found, with no index on the txid (v4). Read
    /// from the table at the store's first write (`prepare`, on the writer, so no other write runs
    /// meanwhile), then kept by the commits: a commit's changes (`stage`) are learned when SQLite
    /// has committed it and dropped when it rolls back (GRDB's transaction observer, called on the
    /// writer's queue before the next write begins). A reader that looks a txid up and then opens
    /// its snapshot sees the row named or what a later commit made of it. A row deleted from the
    /// file behind the store's back leaves a rowid naming nothing: a delete of it deletes nothing,
    /// and a read checks the txid. About 50–100 bytes a stored transaction (a dictionary slot).
    final class RowIDs: TransactionObserver, Sendable {
        private struct State {
            var rowids: [Hash256: Int64]?
            var next: Int64 = 1
            var staged: Changes?
            var observing = false
        }
        private let state = Mutex(State())

        /// What a commit does: the rowid of each txid it writes (0: deleted), and the next free rowid.
        struct Changes {
            var rows: [Hash256: Int64] = [:]
            var next: Int64
        }

        /// The writer's view at the start of a commit.
        struct Prepared {
            let ids: RowIDs
            let next: Int64
        }

        /// Reads the table's rowids if not read yet (on the writer, inside its transaction).
        func prepare(_ db: Database) throws -> Prepared {
            let (loaded, observing, next) = state.withLock { ($0.rowids != nil, $0.observing, $0.next) }
            if !observing {
                db.add(transactionObserver: self, extent: .observerLifetime)
                state.withLock { $0.observing = true }
            }
            if loaded { return Prepared(ids: self, next: next) }
            var rowids = [Hash256: Int64]()
            var last: Int64 = 0
            let rows = try GRDB.Row.fetchCursor(db, sql: "SELECT seq, txid FROM tx")
            while let row = try rows.next() {
                let r: Int64 = row[0], txid: Data = row[1]
                last = max(last, r)
                if txid.count == 32 { rowids[Hash256(bytes: txid)] = r }
            }
            state.withLock { $0.rowids = rowids; $0.next = last + 1; $0.staged = nil }
            return Prepared(ids: self, next: last + 1)
        }

        /// A commit's changes, learned if it commits.
        func stage(_ changes: Changes) { state.withLock { $0.staged = changes } }

        /// The stored row of `txid`, as of the last commit.
        func rowid(_ txid: Hash256) -> Int64? { state.withLock { $0.rowids?[txid] } }

        /// Whether the rowids have been read (no write yet otherwise).
        var isLoaded: Bool { state.withLock { $0.rowids != nil } }

        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }

        func databaseDidChange(with event: DatabaseEvent) {}

        func databaseDidCommit(_ db: Database) {
            state.withLock { s in
                guard let changes = s.staged, s.rowids != nil else { return }
                s.staged = nil
                for (txid, r) in changes.rows {
                    s.rowids![txid] = r == 0 ? nil : r
                }
                s.next = max(s.next, changes.next)
            }
        }

        func databaseDidRollback(_ db: Database) {
            state.withLock { $0.staged = nil }
        }
    }

    /// The `received` and `accepted` rows a `tx` row holds while `pending`.
    static func pendingEvents(txid: Hash256, received: Double?, accepted: Double) -> [TraceEvent] {
        let id = txid.hex
        var out = [TraceEvent]()
        if let received {
            out.append(TraceEvent(id: id, kind: .tx, stage: .received, service: .edge, time: received, detail: "POST /api/tx"))
        }
        out.append(TraceEvent(id: id, kind: .tx, stage: .accepted, service: .mempool, time: accepted, detail: nil))
        return out
    }

    // MARK: reads

    /// What was stored, oldest first, and the stored mempool sequence.
    func load() async throws -> (rows: [Row], sequence: UInt64?) {
        try await db.read { db in
            let rows = try GRDB.Row.fetchAll(db, sql: "SELECT raw, fee, time FROM tx ORDER BY time, seq").map {
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

    /// A transaction's (or any id's) trace rows, in order: those of `trace` and those still waiting
    /// in its `tx` row (`pendingEvents`), by time (a tie in written order, the waiting ones first).
    /// Its row is found by the rowid `rowids` gives, looked up before the read opens its snapshot
    /// (`RowIDs`); before this store's first write, by reading the table.
    func trace(_ id: String) async throws -> [TraceEvent] {
        let txid = Hash256(hex: id).flatMap { $0.hex == id ? $0 : nil }
        let row: PendingRow = if let txid {
            rowids.isLoaded ? rowids.rowid(txid).map { PendingRow.rowid(txid, $0) } ?? .none : .scan(txid)
        } else {
            .none
        }
        return try await db.read { db in try Self.trace(id, pending: row, db) }
    }

    /// Where a trace read finds the id's waiting rows.
    enum PendingRow {
        case none
        case rowid(Hash256, Int64)
        case scan(Hash256)
    }

    /// The query's plan uses the index `trace_key` (the `+` keeps the planner from preferring a scan
    /// for the full id's equality).
    static let traceSQL = "SELECT id, kind, stage, service, time, detail FROM trace WHERE substr(id, 1, 16) = ? AND +id = ? ORDER BY time, rowid"

    static func trace(_ id: String, pending where: PendingRow, _ db: Database) throws -> [TraceEvent] {
        var pending = [TraceEvent]()
        let txid: Hash256?, found: GRDB.Row?
        switch `where` {
        case .none:
            txid = nil; found = nil
        case let .rowid(t, r):
            txid = t
            found = try GRDB.Row.fetchOne(db, sql: "SELECT received, time FROM tx WHERE seq = ? AND txid = ? AND pending = 1", arguments: [r, Data(t.bytes)])
        case let .scan(t):
            txid = t
            found = try GRDB.Row.fetchOne(db, sql: "SELECT received, time FROM tx WHERE txid = ? AND pending = 1", arguments: [Data(t.bytes)])
        }
        if let txid, let found { pending = pendingEvents(txid: txid, received: found[0], accepted: found[1]) }
        let stored = try GRDB.Row.fetchAll(db, sql: traceSQL, arguments: [String(id.prefix(16)), id]).compactMap {
            TraceEvent(id: $0["id"], kind: $0["kind"], stage: $0["stage"], service: $0["service"], time: $0["time"], detail: $0["detail"])
        }
        guard !pending.isEmpty else { return stored }
        return (pending + stored).enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
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

    static func storeSequence(_ value: UInt64, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO meta VALUES ('sequence', ?)").execute(arguments: [Int64(bitPattern: value)])
    }
}
