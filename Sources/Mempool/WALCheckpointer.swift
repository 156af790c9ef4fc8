import Foundation
import GRDB
import Logging

/// Checkpoints `mempool.sqlite`'s write-ahead log off the commit path (issue 11's acknowledgement
/// tail). By default SQLite checkpoints inside the commit that takes the log past 1,000 pages:
/// that commit copies the log into the database and, with `synchronous=NORMAL`, syncs both files,
/// and every admission waiting for it waits too (the group commit's longest commits). Here the
/// writer's automatic checkpoint is off and this task runs a PASSIVE checkpoint from a connection
/// of its own every `interval` (a PASSIVE checkpoint takes no write lock: the writer goes on
/// committing meanwhile; the log restarts from its beginning at a commit after a complete one).
/// Durability is unchanged: a commit is durable once it is in the log.
final class WALCheckpointer: Sendable {
    /// Its own connection (the checkpoints run on its queue's thread, not the cooperative pool:
    /// they write and sync files).
    private let connection: DatabaseQueue
    private let task: Task<Void, Never>

    /// Turns the writer's automatic checkpoint off and starts checkpointing every `interval`.
    init(db: DatabasePool, interval: Duration = .seconds(1), logger: Logger) async throws {
        try await db.writeWithoutTransaction { try MempoolStore.disableAutomaticCheckpoint($0) }
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
                    logger.warning("could not checkpoint mempool.sqlite", metadata: ["error": "\(error)"])
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
