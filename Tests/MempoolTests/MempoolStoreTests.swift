import ChainCore
import Foundation
import GRDB
import NodeKit
import Testing
@testable import Mempool

/// The pool's SQL alone, on a file in a temporary folder.
@Suite("Mempool store")
struct MempoolStoreTests {
    static func open() throws -> (MempoolStore, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-mempoolstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let db = try DatabasePool(path: dir.appendingPathComponent("mempool.sqlite").path)
        try MempoolStore.migrator().migrate(db)
        return (MempoolStore(db: db), dir)
    }

    static func entry(_ n: UInt8, time: Double) -> PoolEntry {
        PoolGraphTests.entry([PoolGraphTests.coin(n)], fee: 1_000 + Amount(n), size: 100 + Int(n), time: time, tag: n)
    }

    @Test("admit writes the row, its trace and the sequence; a replacement deletes the replaced in the same write")
    func admitAndReplace() async throws {
        let (store, dir) = try Self.open()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = Self.entry(1, time: 10), b = Self.entry(2, time: 5)
        try await store.admit(a, receivedAt: 9, replacing: [], sequence: 1)
        try await store.admit(b, receivedAt: nil, replacing: [], sequence: 2)
        var (rows, seq) = try await store.load()
        #expect(rows.map(\.time) == [5, 10])            // oldest first
        #expect(rows.last?.raw == a.raw && rows.last?.fee == a.fee)
        #expect(seq == 2)
        #expect(try await store.trace(a.txid.hex).map(\.stage) == [.received, .accepted])
        let bump = Self.entry(3, time: 11)
        let gone = TraceEvent(id: a.txid.hex, kind: .tx, stage: .replaced, service: .mempool, time: 11, detail: "replaced by \(bump.txid.hex)")
        try await store.admit(bump, receivedAt: nil, replacing: [(a.txid, gone)], sequence: 4)
        #expect(Set(try await store.txids()) == [b.txid, bump.txid])
        #expect(try await store.trace(a.txid.hex).map(\.stage) == [.received, .accepted, .replaced])
        (rows, seq) = try await store.load()
        #expect(rows.count == 2 && seq == 4)
    }

    @Test("delete removes rows, storing the sequence only when given one")
    func deleteAndSequence() async throws {
        let (store, dir) = try Self.open()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try await store.load().sequence == nil)
        let a = Self.entry(1, time: 1), b = Self.entry(2, time: 2)
        try await store.admit(a, receivedAt: nil, replacing: [], sequence: 1)
        try await store.admit(b, receivedAt: nil, replacing: [], sequence: 2)
        try await store.delete([a.txid])
        #expect(try await store.txids() == [b.txid])
        #expect(try await store.load().sequence == 2)
        try await store.delete([b.txid, a.txid], sequence: 7)
        #expect(try await store.txids().isEmpty)
        #expect(try await store.load().sequence == 7)
        try await store.storeSequence(9)
        #expect(try await store.load().sequence == 9)
    }

    @Test("trace rows come back in time order, then in the order written")
    func traceOrder() async throws {
        let (store, dir) = try Self.open()
        defer { try? FileManager.default.removeItem(at: dir) }
        let id = String(repeating: "ab", count: 32)
        try await store.record([TraceEvent(id: id, kind: .tx, stage: .mined, service: .mempool, time: 3, detail: nil),
                                TraceEvent(id: id, kind: .tx, stage: .template, service: .mempool, time: 2, detail: "x"),
                                TraceEvent(id: id, kind: .tx, stage: .removed, service: .mempool, time: 3, detail: nil)])
        try await store.record([])
        #expect(try await store.trace(id).map(\.stage) == [.template, .mined, .removed])
        #expect(try await store.trace("other").isEmpty)
    }

    @Test("one commit of many writes: tx rows inserted and deleted in the order written, trace rows in order, the highest sequence")
    func batchedCommit() async throws {
        let (store, dir) = try Self.open()
        defer { try? FileManager.default.removeItem(at: dir) }
        // More rows than one multi-row statement takes, and counts that are no chunk size.
        let many = (0..<200).map { Self.entry(UInt8($0), time: Double($0)) }
        let a = many[0], b = many[1], c = many[2]
        var writes = many.enumerated().map { i, e in MempoolStore.Write.admit(e, receivedAt: i.isMultiple(of: 2) ? Double(i) - 0.5 : nil,
                                                                               replacing: [], sequence: UInt64(i + 1)) }
        // a admitted, then deleted (mined) in the same commit: gone; b deleted, then admitted again: present.
        writes.append(.delete([a.txid, b.txid], sequence: nil))
        writes.append(.admit(b, receivedAt: nil, replacing: [], sequence: 201))
        // A replacement of c by a new entry, and trace rows, and a lower sequence given after a higher one.
        let bump = PoolGraphTests.entry([PoolGraphTests.coin(250)], fee: 9_000, size: 100, time: 300, tag: 250)
        let gone = TraceEvent(id: c.txid.hex, kind: .tx, stage: .replaced, service: .mempool, time: 300, detail: "replaced")
        writes.append(.admit(bump, receivedAt: nil, replacing: [(c.txid, gone)], sequence: 203))
        writes.append(.trace([TraceEvent(id: b.txid.hex, kind: .tx, stage: .template, service: .mempool, time: 1, detail: "t1"),
                              TraceEvent(id: b.txid.hex, kind: .tx, stage: .mined, service: .mempool, time: 1, detail: nil)]))
        writes.append(.sequence(202))
        try await store.commit(writes)
        let (rows, seq) = try await store.load()
        #expect(seq == 203)
        let txids = Set(try await store.txids())
        #expect(txids.count == 199)
        #expect(!txids.contains(a.txid) && !txids.contains(c.txid))
        #expect(txids.contains(b.txid) && txids.contains(bump.txid))
        #expect(rows.count == 199)
        #expect(rows.first { $0.time == 1 }?.raw == b.raw)
        // Trace rows: received (even entries), accepted, in time order then written order.
        #expect(try await store.trace(many[4].txid.hex).map(\.stage) == [.received, .accepted])
        #expect(try await store.trace(many[4].txid.hex).first?.detail == "POST /api/tx")
        #expect(try await store.trace(many[5].txid.hex).map(\.stage) == [.accepted])
        #expect(try await store.trace(b.txid.hex).map(\.stage) == [.accepted, .accepted, .template, .mined])   // admitted twice
        #expect(try await store.trace(c.txid.hex).map(\.stage) == [.received, .accepted, .replaced])
        #expect(try await store.trace(bump.txid.hex).map(\.stage) == [.accepted])
    }

    @Test("an admission's received and accepted rows wait in its tx row and join the trace table in the commit that deletes it")
    func pendingTraceRows() async throws {
        let (store, dir) = try Self.open()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = Self.entry(1, time: 10), b = Self.entry(2, time: 12)
        try await store.admit(a, receivedAt: 9, replacing: [], sequence: 1)
        try await store.admit(b, receivedAt: nil, replacing: [], sequence: 2)
        func traceTable() async throws -> [String] {
            try await store.db.read { try String.fetchAll($0, sql: "SELECT stage FROM trace ORDER BY time, rowid") }
        }
        #expect(try await traceTable().isEmpty)
        #expect(try await store.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM tx WHERE pending = 1") } == 2)
        let expected = [TraceEvent(id: a.txid.hex, kind: .tx, stage: .received, service: .edge, time: 9, detail: "POST /api/tx"),
                        TraceEvent(id: a.txid.hex, kind: .tx, stage: .accepted, service: .mempool, time: 10, detail: nil)]
        #expect(try await store.trace(a.txid.hex) == expected)
        // mined: deleted quietly with its `mined` row; the waiting rows join in the same commit
        let mined = TraceEvent(id: a.txid.hex, kind: .tx, stage: .mined, service: .mempool, time: 11, detail: "in block")
        try await store.commit([.delete([a.txid], sequence: nil), .trace([mined])])
        #expect(try await traceTable() == ["received", "accepted", "mined"])
        #expect(try await store.trace(a.txid.hex) == expected + [mined])
        #expect(try await store.txids() == [b.txid])
        // a row written again keeps what waited in it (its rows join the trace table first)
        try await store.admit(b, receivedAt: 13, replacing: [], sequence: 3)
        #expect(try await store.trace(b.txid.hex).map(\.stage) == [.accepted, .accepted, .received])
        #expect(try await traceTable() == ["received", "accepted", "mined", "accepted"])
    }

    @Test("the trace query reads the index on the id's first 16 hex digits")
    func traceQueryUsesIndex() async throws {
        let (store, dir) = try Self.open()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = try await store.db.read { db in
            try GRDB.Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + MempoolStore.traceSQL, arguments: ["ab", "abab"]).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("USING INDEX trace_key") }, "\(plan)")
    }

    @Test("a data folder from before v3: its rows and trace rows read as before, nothing waits in its tx rows")
    func migrationFromV2() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-mempoolstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try DatabasePool(path: dir.appendingPathComponent("mempool.sqlite").path)
        try MempoolStore.migrator().migrate(db, upTo: "v2")
        let a = Self.entry(1, time: 10)
        try await db.write { db in
            try db.execute(sql: "INSERT INTO tx VALUES (?, ?, ?, ?)", arguments: [Data(a.txid.bytes), Data(a.raw), Int64(a.fee), a.time])
            try db.execute(sql: "INSERT INTO trace VALUES (?, 'tx', 'received', 'edge', 9, 'POST /api/tx'), (?, 'tx', 'accepted', 'mempool', 10, NULL)",
                           arguments: [a.txid.hex, a.txid.hex])
        }
        try MempoolStore.migrator().migrate(db)
        let store = MempoolStore(db: db)
        #expect(try await store.load().rows.map(\.raw) == [a.raw])
        #expect(try await store.trace(a.txid.hex).map(\.stage) == [.received, .accepted])
        try await store.delete([a.txid])
        #expect(try await store.trace(a.txid.hex).map(\.stage) == [.received, .accepted])   // not twice
    }

    @Test("tx rows are keyed by admission order: a commit appends them, and no index on tx is kept")
    func admissionOrder() async throws {
        let (store, dir) = try Self.open()
        defer { try? FileManager.default.removeItem(at: dir) }
        let many = (0..<40).map { Self.entry(UInt8($0), time: Double(100 - $0)) }
        try await store.commit(many.prefix(30).enumerated().map { .admit($1, receivedAt: nil, replacing: [], sequence: UInt64($0 + 1)) })
        try await store.commit([.delete([many[3].txid, many[17].txid], sequence: nil)])
        try await store.commit(many.suffix(10).map { .admit($0, receivedAt: nil, replacing: [], sequence: 50) })
        let stored = try await store.db.read { db in
            try GRDB.Row.fetchAll(db, sql: "SELECT seq, txid FROM tx ORDER BY seq").map { ($0[0] as Int64, Hash256(bytes: Array($0[1] as Data))) }
        }
        let expected = many.enumerated().filter { $0.offset != 3 && $0.offset != 17 }.map(\.element.txid)
        #expect(stored.map(\.1) == expected)
        #expect(stored.map(\.0) == stored.map(\.0).sorted())
        let indexes = try await store.db.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tx'") }
        #expect(indexes.isEmpty, "\(indexes)")
        // oldest first on a reload, by time (their times go down as they were admitted)
        #expect(try await store.load().rows.map(\.time) == expected.map { t in many.first { $0.txid == t }!.time }.sorted())
    }

    @Test("a store opened on a file written before (a restart) finds its rows: trace reads, deletes, a txid written again")
    func reopened() async throws {
        let (first, dir) = try Self.open()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = Self.entry(1, time: 10), b = Self.entry(2, time: 11), c = Self.entry(3, time: 12)
        try await first.commit([.admit(a, receivedAt: 9, replacing: [], sequence: 1), .admit(b, receivedAt: nil, replacing: [], sequence: 2),
                                .admit(c, receivedAt: nil, replacing: [], sequence: 3)])
        let store = MempoolStore(db: first.db)
        // before its first write (no rowids read yet)
        #expect(!store.rowids.isLoaded)
        #expect(try await store.trace(a.txid.hex).map(\.stage) == [.received, .accepted])
        let mined = TraceEvent(id: a.txid.hex, kind: .tx, stage: .mined, service: .mempool, time: 13, detail: nil)
        try await store.commit([.delete([a.txid], sequence: nil), .trace([mined])])
        #expect(store.rowids.isLoaded)
        #expect(try await store.trace(a.txid.hex).map(\.stage) == [.received, .accepted, .mined])
        #expect(try await store.trace(b.txid.hex).map(\.stage) == [.accepted])
        // b written again: one row, its waiting row moved first; a deleted again: nothing happens
        try await store.commit([.admit(b, receivedAt: nil, replacing: [], sequence: 4), .delete([a.txid], sequence: nil)])
        #expect(try await store.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM tx") } == 2)
        #expect(try await store.trace(b.txid.hex).map(\.stage) == [.accepted, .accepted])
        #expect(try await store.trace(a.txid.hex).map(\.stage) == [.received, .accepted, .mined])
        #expect(Set(try await store.txids()) == [b.txid, c.txid])
        // a failed commit leaves the rows and the rowids as they were
        let d = Self.entry(4, time: 14)
        await #expect(throws: (any Error).self) {
            try await store.db.write { db in
                try store.apply([.admit(d, receivedAt: nil, replacing: [], sequence: 5), .delete([c.txid], sequence: nil)], db)
                throw CancellationError()
            }
        }
        #expect(store.rowids.rowid(d.txid) == nil && store.rowids.rowid(c.txid) != nil)
        try await store.commit([.delete([c.txid], sequence: nil), .admit(d, receivedAt: nil, replacing: [], sequence: 5)])
        #expect(Set(try await store.txids()) == [b.txid, d.txid])
        #expect(try await store.trace(c.txid.hex).map(\.stage) == [.accepted])
    }

    @Test("a v3 data folder migrates: its rows, waiting trace rows and sequence read as before, in time order, and write on")
    func migrationFromV3() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-mempoolstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("mempool.sqlite").path
        let es = (0..<5).map { Self.entry(UInt8($0), time: Double(20 - $0)) }
        do {
            // the file as a v3 build left it (its statements, as that build wrote them)
            let db = try DatabasePool(path: path)
            try MempoolStore.migrator().migrate(db, upTo: "v3-pending-trace")
            try await db.write { db in
                for (i, e) in es.enumerated() {
                    try db.execute(sql: "INSERT OR REPLACE INTO tx (txid, raw, fee, time, received, pending) VALUES (?, ?, ?, ?, ?, ?)",
                                   arguments: [Data(e.txid.bytes), Data(e.raw), Int64(e.fee), e.time, i == 0 ? e.time - 1 : nil, i == 4 ? 0 : 1])
                }
                try db.execute(sql: "INSERT INTO trace VALUES (?, 'tx', 'received', 'edge', 15, 'POST /api/tx'), (?, 'tx', 'accepted', 'mempool', 16, NULL)",
                               arguments: [es[4].txid.hex, es[4].txid.hex])
                try db.execute(sql: "INSERT OR REPLACE INTO meta VALUES ('sequence', 42)")
            }
        }
        let db = try DatabasePool(path: path)
        try MempoolStore.migrator().migrate(db)
        let store = MempoolStore(db: db)
        let (rows, seq) = try await store.load()
        #expect(rows.map(\.raw) == es.reversed().map(\.raw))     // oldest first
        #expect(rows.map(\.fee) == es.reversed().map(\.fee))
        #expect(seq == 42)
        #expect(try await store.trace(es[0].txid.hex).map(\.stage) == [.received, .accepted])
        #expect(try await store.trace(es[4].txid.hex).map(\.stage) == [.received, .accepted])
        let indexes = try await db.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tx'") }
        #expect(indexes.isEmpty)
        try await store.commit([.delete([es[0].txid, es[4].txid], sequence: 43), .admit(Self.entry(9, time: 30), receivedAt: nil, replacing: [], sequence: 44)])
        #expect(try await store.trace(es[0].txid.hex).map(\.stage) == [.received, .accepted])   // moved to trace, once
        #expect(try await store.trace(es[4].txid.hex).map(\.stage) == [.received, .accepted])   // nothing waited in it
        #expect(try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM trace") } == 4)
        #expect(Set(try await store.txids()) == Set(es[1...3].map(\.txid) + [Self.entry(9, time: 30).txid]))
        #expect(try await store.load().sequence == 44)
        // a restart reads the same rows back
        #expect(try await MempoolStore(db: db).load().rows.map(\.raw) == es[1...3].reversed().map(\.raw) + [Self.entry(9, time: 30).raw])
    }
}
