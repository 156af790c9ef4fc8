import Foundation
import GRDB
import Logging
import Testing
@testable import Mempool

/// Issue 11, the acknowledgement tail: `mempool.sqlite`'s log is checkpointed by its own connection,
/// never inside one of the writer's commits (WALCheckpointer.swift).
@Suite("WAL checkpointer")
struct WALCheckpointerTests {
    @Test("the writer no longer checkpoints (its log only grows past 1,000 pages); a checkpoint of the checkpointer's takes it all, and the log restarts")
    func checkpointsOffTheCommitPath() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-wal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try DatabasePool(path: dir.appendingPathComponent("mempool.sqlite").path, configuration: MempoolStore.configuration())
        try MempoolStore.migrator().migrate(db)
        // (an interval longer than the test: only the checkpoints it asks for run)
        let checkpointer = try await WALCheckpointer(db: db, interval: .seconds(3_600), logger: Logger(label: "test"))
        defer { checkpointer.stop() }
        #expect(try await db.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == 0)
        // 1,200 commits of a page or more each: SQLite's default would have checkpointed at 1,000 pages
        let blob = Data(repeating: 7, count: 3_000)
        for i in 0..<1_200 {
            try await db.write { try $0.execute(sql: "INSERT INTO tx (txid, raw, fee, time) VALUES (?, ?, 1, 0)", arguments: [Data("k\(i)".utf8), blob]) }
        }
        let first = try await checkpointer.checkpointNow()
        #expect(first.walFrameCount >= 1_200)
        #expect(first.checkpointedFrameCount == first.walFrameCount)
        // the next commit writes the log from its beginning again
        try await db.write { try $0.execute(sql: "DELETE FROM tx WHERE txid = ?", arguments: [Data("k0".utf8)]) }
        let second = try await checkpointer.checkpointNow()
        #expect(second.walFrameCount < 100)
        #expect(try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM tx") } == 1_199)
    }
}
