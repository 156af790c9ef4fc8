import Foundation
import GRDB
import Logging

/// Checkpoints `chain.sqlite`'s write-ahead log off the commit path. By default SQLite checkpoints
/// inside the commit that takes the log past 1,000 pages, which a block of a few thousand
/// transactions always does: that commit copies the log into the database and, with
/// `synchronous=NORMAL`, syncs both files before `submitblock` can answer. Here the writer's
/// automatic checkpoint is off and this task runs a PASSIVE checkpoint from a connection of its
/// own every `interval` (it takes no write lock: the writer goes on committing meanwhile; the log
/// restarts from its beginning at a commit after a complete one). A page written by several
/// blocks within one interval is copied into the database once. Durability is unchanged: a
/// commit is durable once it is in the log (the same design as the mempool's `WALCheckpointer`).
final class ChainCheckpointer: Sendable {
    private let connection: DatabaseQueue
    private let task: Task<Void, Never>

    /// Turns the writer's automatic checkpoint off and starts checkpointing every `interval`.
    init(db: DatabasePool, interval: Duration = .seconds(1), logger: Logger) async throws {
        try await db.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        var config = Configuration()
        config.busyMode = .timeout(10)
        let connection = try DatabaseQueue(path: db.path, configuration: config)
        self.connection = connection
        task = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                do {
                    _ = try await Self.checkpoint(connection)
                } catch {
                    logger.warning("could not checkpoint chain.sqlite", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// One PASSIVE checkpoint now: the frames in the log, and those now in the database.
    func checkpointNow() async throws -> (walFrameCount: Int, checkpointedFrameCount: Int) {
        try await Self.checkpoint(connection)
    }

    private static func checkpoint(_ connection: DatabaseQueue) async throws -> (walFrameCount: Int, checkpointedFrameCount: Int) {
        try await connection.writeWithoutTransaction { try $0.checkpoint(.passive) }
    }

    func stop() { task.cancel() }

    deinit { task.cancel() }
}
