import Foundation
import GRDB
import Logging
@testable import SQLiteSupport
import Testing

/// Issue 11, the acknowledgement tail and the block commit: a database's log is checkpointed by the
/// checkpointer's own connection, never inside one of the writer's commits (WALCheckpointer.swift,
/// shared by `chain.sqlite` and `mempool.sqlite`).
@Suite("WAL checkpointer")
struct WALCheckpointerTests {
    /// A database in WAL mode, with a table, the way the services open theirs (a `DatabasePool`).
    static func database() throws -> (DatabasePool, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-wal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var config = Configuration()
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let db = try DatabasePool(path: dir.appendingPathComponent("test.sqlite").path, configuration: config)
        try db.write { try $0.execute(sql: "CREATE TABLE t (k BLOB PRIMARY KEY NOT NULL, v BLOB NOT NULL)") }
        return (db, dir)
    }

    @Test("below the backstop the writer does not checkpoint (its log grows past SQLite's default 1,000 pages); a checkpoint of the checkpointer's takes it all, and the log restarts")
    func checkpointsOffTheCommitPath() async throws {
        let (db, dir) = try Self.database()
        defer { try? FileManager.default.removeItem(at: dir) }
        // (an interval longer than the test: only the checkpoints it asks for run)
        let checkpointer = try await WALCheckpointer(db: db, interval: .seconds(3_600), logger: Logger(label: "test"))
        #expect(try await db.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == 10_000)
        // 1,200 commits of a page or more each: SQLite's default would have checkpointed at 1,000 pages
        let blob = Data(repeating: 7, count: 3_000)
        for i in 0..<1_200 {
            try await db.write { try $0.execute(sql: "INSERT INTO t (k, v) VALUES (?, ?)", arguments: [Data("k\(i)".utf8), blob]) }
        }
        let first = try await checkpointer.checkpointNow()
        #expect(first.walFrameCount >= 1_200)
        #expect(first.checkpointedFrameCount == first.walFrameCount)
        // the next commit writes the log from its beginning again
        try await db.write { try $0.execute(sql: "DELETE FROM t WHERE k = ?", arguments: [Data("k0".utf8)]) }
        let second = try await checkpointer.checkpointNow()
        #expect(second.walFrameCount < 100)
        #expect(try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 1_199)
        await checkpointer.close()
    }

    @Test("the backstop is the same size of log whatever the page size: 10,000 pages of 4 KiB, 2,500 of 16 KiB")
    func theBackstopIsInBytes() async throws {
        #expect(WALCheckpointer.defaultBackstopPages(pageSize: 4_096) == 10_000)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-wal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = Configuration()
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA page_size = 16384") }
        let db = try DatabasePool(path: dir.appendingPathComponent("big.sqlite").path, configuration: config)
        try await db.write { try $0.execute(sql: "CREATE TABLE t (k INTEGER PRIMARY KEY)") }
        let checkpointer = try await WALCheckpointer(db: db, interval: .seconds(3_600), logger: Logger(label: "test"))
        #expect(try await db.read { try Int.fetchOne($0, sql: "PRAGMA page_size") } == 16_384)
        #expect(try await db.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == 2_500)
        await checkpointer.close()
    }

    @Test("a checkpoint refused because another holds the log's checkpoint lock (SQLITE_BUSY) is skipped quietly; any other failure is reported")
    func anotherCheckpointIsNoFailure() {
        #expect(WALCheckpointer.isAnotherCheckpoint(DatabaseError(resultCode: .SQLITE_BUSY, message: "database is locked")))
        #expect(!WALCheckpointer.isAnotherCheckpoint(DatabaseError(resultCode: .SQLITE_IOERR)))
        #expect(!WALCheckpointer.isAnotherCheckpoint(WALCheckpointer.Closed()))
    }

    @Test("past the backstop a commit checkpoints and the next restarts the log: writes that never pause keep it bounded")
    func theBackstopBoundsTheLog() async throws {
        let (db, dir) = try Self.database()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpointer = try await WALCheckpointer(db: db, interval: .seconds(3_600), backstopPages: 300, logger: Logger(label: "test"))
        let wal = dir.appendingPathComponent("test.sqlite-wal").path
        var largest = 0
        for i in 0..<3_000 {
            try await db.write { try $0.execute(sql: "INSERT INTO t (k, v) VALUES (?, ?)", arguments: [Data("k\(i)".utf8), Data(repeating: 3, count: 3_000)]) }
            largest = max(largest, (try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0)
        }
        // 3,000 commits of two pages or more: without the backstop, over 6,000 frames of 4,120 bytes
        // (a page and its frame header). With it, the file never holds much more than 300 frames.
        #expect(largest > 250 * 4_120 && largest < 320 * 4_120, "the log's largest size: \(largest) bytes")
        #expect(try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 3_000)
        await checkpointer.close()
    }

    @Test("at exit the loop ends, a last checkpoint copies what the writer committed since, and the connection closes: the writer's own close then finds no other connection")
    func closesWithALastCheckpoint() async throws {
        let (db, dir) = try Self.database()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpointer = try await WALCheckpointer(db: db, interval: .seconds(3_600), logger: Logger(label: "test"))
        for i in 0..<50 {
            try await db.write { try $0.execute(sql: "INSERT INTO t (k, v) VALUES (?, ?)", arguments: [Data("k\(i)".utf8), Data(repeating: 1, count: 2_000)]) }
        }
        await checkpointer.close()
        await #expect(throws: WALCheckpointer.Closed.self) { try await checkpointer.checkpointNow() }
        // Everything the log held is in the database file itself now: a copy of the file alone
        // (no log beside it) holds the 50 rows.
        let copy = dir.appendingPathComponent("copy.sqlite")
        try FileManager.default.copyItem(at: dir.appendingPathComponent("test.sqlite"), to: copy)
        let alone = try DatabaseQueue(path: copy.path)
        #expect(try await alone.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 50)
        try alone.close()
        try db.close()
        // Reopened, nothing was lost.
        let reopened = try DatabaseQueue(path: dir.appendingPathComponent("test.sqlite").path)
        #expect(try await reopened.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 50)
    }
}
