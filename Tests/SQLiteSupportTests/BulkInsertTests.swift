import ChainCore
import Foundation
import GRDB
@testable import SQLiteSupport
import Testing

/// Issue 11, the chain store's CPU per transaction: a connected block's rows bound straight to
/// SQLite (RowBinder.swift) must store what GRDB's own binding stores, value for value and type
/// for type, and fail the way GRDB does.
@Suite("Bulk insert")
struct BulkInsertTests {
    static func database() throws -> DatabaseQueue {
        let db = try DatabaseQueue()
        try db.write {
            try $0.execute(sql: "CREATE TABLE t (k INTEGER PRIMARY KEY NOT NULL, i INTEGER, b BLOB, s TEXT, d REAL, n TEXT, f INTEGER)")
        }
        return db
    }

    /// Row `k`'s values: a blob and a text of `k % 4` bytes (empty ones included), a negative and a large integer.
    static func values(_ k: Int) -> (i: Int64, b: [UInt8], s: String, d: Double, f: Bool) {
        (Int64(k) * -3_000_000_007, (0..<(k % 4)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ k) },
         String(repeating: "é", count: k % 4), Double(k) / 8, k % 2 == 0)
    }

    @Test("rows over several statements store what GRDB's binding stores: every value and its type, empty blobs and texts not NULL")
    func storesWhatGRDBStores() throws {
        let db = try Self.database()
        let count = 150 // three statements of at most 64 rows
        try db.write { db in
            try BulkInsert.rows(db, "INSERT INTO t VALUES", width: 7, count: count, chunks: [64]) { row, k in
                let v = Self.values(k)
                row.int(k); row.int(v.i); row.blob(v.b); row.text(v.s); row.double(k % 5 == 0 ? nil : v.d); row.text(nil); row.bool(v.f)
            }
        }
        let rows = try db.read { try Row.fetchAll($0, sql: "SELECT k, i, b, s, d, n, f, typeof(b), typeof(s), typeof(n) FROM t ORDER BY k") }
        #expect(rows.count == count)
        for (k, row) in rows.enumerated() {
            let v = Self.values(k)
            #expect(row[0] as Int == k)
            #expect(row[1] as Int64 == v.i)
            #expect(row[2] as Data == Data(v.b))
            #expect(row[3] as String == v.s)
            #expect((row[4] as Double?) == (k % 5 == 0 ? nil : v.d))
            #expect((row[5] as String?) == nil)
            #expect(row[6] as Bool == v.f)
            #expect(row[7] as String == "blob")
            #expect(row[8] as String == "text")
            #expect(row[9] as String == "null")
        }
        // a lookup with GRDB's own binding finds the blobs bound here
        for k in [5, 77, 149] {
            let found = try db.read { try Int.fetchOne($0, sql: "SELECT k FROM t WHERE b = ? AND s = ?", arguments: [Data(Self.values(k).b), Self.values(k).s]) }
            #expect(found != nil)
        }
    }

    @Test("rows go in their order, whatever the statements' sizes: OR REPLACE keeps the last of one key, as one statement per row would",
          arguments: [[4], [64], [128, 32, 8, 2, 1], [3, 1], [1]])
    func orReplaceKeepsTheLast(chunks: [Int]) throws {
        let db = try Self.database()
        let count = 171 // 128 + 32 + 8 + 2 + 1
        try db.write { db in
            try BulkInsert.rows(db, "INSERT OR REPLACE INTO t (k, i) VALUES", width: 2, count: count, chunks: chunks) { row, n in
                row.int(n % 3); row.int(n)
            }
        }
        let rows = try db.read { try Row.fetchAll($0, sql: "SELECT k, i FROM t ORDER BY k").map { [$0[0] as Int, $0[1] as Int] } }
        #expect(rows == [[0, 168], [1, 169], [2, 170]])
    }

    @Test("a broken constraint throws SQLite's error with the statement; the statement and the transaction stay usable")
    func constraintErrors() throws {
        let db = try Self.database()
        try db.write { db in
            try BulkInsert.rows(db, "INSERT INTO t (k) VALUES", width: 1, count: 1) { row, _ in row.int(1) }
            let error = #expect(throws: DatabaseError.self) {
                try BulkInsert.rows(db, "INSERT INTO t (k) VALUES", width: 1, count: 1) { row, _ in row.int(1) }
            }
            #expect(error?.resultCode == .SQLITE_CONSTRAINT)
            #expect(error?.sql?.hasPrefix("INSERT INTO t (k) VALUES") == true)
            #expect(error?.message?.contains("UNIQUE") == true)
            // the same cached statement runs again
            try BulkInsert.rows(db, "INSERT INTO t (k) VALUES", width: 1, count: 1) { row, _ in row.int(2) }
        }
        #expect(try db.read { try Int.fetchAll($0, sql: "SELECT k FROM t ORDER BY k") } == [1, 2])
    }

    @Test("run binds every parameter of a statement GRDB prepared and steps it once")
    func runsOneStatement() throws {
        let db = try Self.database()
        try db.write { db in
            try BulkInsert.rows(db, "INSERT INTO t (k, b) VALUES", width: 2, count: 5) { row, k in row.int(k); row.blob([UInt8(k), 9]) }
            let delete = try db.cachedStatement(sql: "DELETE FROM t WHERE k = ? AND b = ?")
            for k in [1, 3] { try BulkInsert.run(db, delete) { $0.int(k); $0.blob([UInt8(k), 9]) } }
            // a blob that differs deletes nothing
            try BulkInsert.run(db, delete) { $0.int(4); $0.blob([4, 8]) }
            // GRDB runs the same cached statement after it
            try delete.execute(arguments: [0, Data([0, 9])])
        }
        #expect(try db.read { try Int.fetchAll($0, sql: "SELECT k FROM t ORDER BY k") } == [2, 4])
    }

    @Test("no rows: nothing is prepared or run")
    func noRows() throws {
        let db = try Self.database()
        try db.write { db in
            try BulkInsert.rows(db, "INSERT INTO nowhere VALUES", width: 3, count: 0) { _, _ in Issue.record("no row to bind") }
        }
    }

    @Test("a hash bound from its words is the 32 bytes the readers look it up by (Data(hash.bytes))")
    func aHashBoundFromItsWordsIsItsBytes() throws {
        let hashes = (0..<20).map { _ in Hash256(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) }) }
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: "CREATE TABLE h (k BLOB NOT NULL)")
            try BulkInsert.rows(db, "INSERT INTO h VALUES", width: 1, count: hashes.count) { row, i in row.blob(hashes[i]) }
        }
        let stored = try db.read { try Data.fetchAll($0, sql: "SELECT k FROM h ORDER BY rowid") }
        #expect(stored == hashes.map { Data($0.bytes) })
    }
}
