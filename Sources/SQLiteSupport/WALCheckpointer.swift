import Foundation
import GRDB
import Logging
import Synchronization

/// Checkpoints an SQLite database's write-ahead log off the commit path (issue 11: the chain
/// store's `chain.sqlite` and the mempool's `mempool.sqlite`). By default SQLite checkpoints inside
/// the commit that takes the log past 1,000 pages, which a block of a few thousand transactions
/// always does and a flood's group commits do every few seconds: that commit copies the log into
/// the database and, with `synchronous=NORMAL`, syncs both files, and everyone waiting for it
/// (`submitblock`, the admissions of the commit) waits too. Here a task runs a PASSIVE checkpoint
/// from a connection of its own every `interval` (a PASSIVE checkpoint takes no write lock: the
/// writer goes on committing meanwhile). A page written by several commits within one interval
/// is copied into the database once. Durability is unchanged: a commit is durable once it is in
/// the log.
///
/// The log restarts from its beginning only at a commit that finds every frame of it copied, which
/// under a writer that never pauses a checkpoint from another connection does not leave: it copies
/// the frames there when it began, and commits add more meanwhile (measured: one more PASSIVE pass
/// at once, up to 8, did not get there either). So the writer's automatic checkpoint stays, as a
/// backstop at `defaultBackstopBytes` of log (10 times SQLite's default): past that, the commit
/// checkpoints what the checkpointer has not copied yet, and the next one writes the log from its
/// beginning. (With the automatic checkpoint off, a 30 s flood grew `mempool.sqlite-wal` past 400 MB
/// and `chain.sqlite-wal` past 100 MB, every frame written into newly allocated file blocks, and a
/// restart after a crash would have read all of it back; with the backstop, near 41 MB and 61 MB:
/// a block's commit runs past the mark before the checkpoint it triggers.)
///
/// That backstop is the mempool's acknowledgement tail under a flood (measured at 3,500-4,500
/// transactions a second, 12-02): its log passes the mark every 1-2.5 s, and the commit that does
/// takes 62-144 ms against a p50 of 2 (timed from a WAL hook doing the backstop's checkpoint
/// itself: 14-68 ms each time, two syncs included; this task's passes took 9-45 ms and each copied
/// the whole log as it was when it began). The log grew by about 55 frames a commit in a
/// closed-loop flood and 10 under a paced load, none above 300 (a block's removal included): its
/// volume is many commits of tens of pages, not one large commit. With the backstop off, the
/// longest commit was 17-31 ms and the wait from the gate to the commit's answer had a p99 of 14-28
/// ms in every 5 s window (15-89 with it, the high ones in a backstop's windows), but the log grows
/// without bound. Tried and not kept: a RESTART checkpoint from this connection once a pass found
/// the log past a quarter of the mark (it held the writer 7-61 ms; longest commit 54-83 ms), and a
/// pass every 200 ms (longest commit 51-70 ms).
///
/// `close()` at the service's exit: the loop ends, one last checkpoint runs (so the next start
/// finds a short log) and the connection is closed before the writer's.
public final class WALCheckpointer: Sendable {
    /// Its own connection (the checkpoints run on its queue's thread, not the cooperative pool:
    /// they write and sync files).
    private let connection: DatabaseQueue
    private let task: Task<Void, Never>
    private let file: String
    private let logger: Logger
    /// Set by `close()` before the connection closes; read inside each checkpoint's closure, which
    /// runs on the connection's serial queue like the close, so no checkpoint reaches the closed
    /// handle (GRDB's checkpoint does not check it: SQLite would dereference a freed connection).
    private let closed: ClosedFlag

    /// The writer's automatic checkpoint past this much log: 10 times SQLite's default (1,000 frames
    /// of 4,096-byte pages), in frames of the file's own page size (both files here have 4 KiB
    /// pages: 10,000 frames).
    public static let defaultBackstopBytes = 10 * 1_000 * 4_096

    /// The writer's automatic checkpoint for a file of `pageSize`-byte pages: `defaultBackstopBytes` of them.
    public static func defaultBackstopPages(pageSize: Int) -> Int { defaultBackstopBytes / max(512, pageSize) }

    /// Moves the writer's automatic checkpoint to `backstopPages` (by default `defaultBackstopBytes`
    /// of log) and starts checkpointing every `interval`.
    public init(db: DatabasePool, interval: Duration = .seconds(1), backstopPages: Int? = nil, logger: Logger) async throws {
        try await db.writeWithoutTransaction { db in
            let pages = try backstopPages ?? Self.defaultBackstopPages(pageSize: Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4_096)
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(max(0, pages))")
        }
        var config = Configuration()
        config.busyMode = .timeout(10)
        let connection = try DatabaseQueue(path: db.path, configuration: config)
        let file = URL(fileURLWithPath: db.path).lastPathComponent
        let closed = ClosedFlag()
        self.connection = connection
        self.file = file
        self.logger = logger
        self.closed = closed
        task = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                do {
                    _ = try await Self.checkpoint(connection, closed: closed)
                } catch {
                    // (`close()` cancelled this task: GRDB interrupts a checkpoint in progress, and
                    // `close()` runs the last one itself)
                    if Task.isCancelled { break }
                    if Self.isAnotherCheckpoint(error) {
                        logger.debug("\(file): another checkpoint is running, this one skipped")
                    } else {
                        logger.warning("could not checkpoint \(file)", metadata: ["error": "\(error)"])
                    }
                }
            }
        }
    }

    /// One PASSIVE checkpoint now: the frames in the log, and those now in the database.
    /// Throws `Closed` after `close()`.
    public func checkpointNow() async throws -> (walFrameCount: Int, checkpointedFrameCount: Int) {
        try await Self.checkpoint(connection, closed: closed)
    }

    final class ClosedFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    public struct Closed: Error, CustomStringConvertible {
        public var description: String { "the checkpointer's connection is closed" }
    }

    private static func checkpoint(_ connection: DatabaseQueue, closed: ClosedFlag) async throws -> (walFrameCount: Int, checkpointedFrameCount: Int) {
        try await connection.writeWithoutTransaction { db in
            guard !closed.value.load(ordering: .acquiring) else { throw Closed() }
            return try db.checkpoint(.passive)
        }
    }

    /// A PASSIVE checkpoint does not wait for the log's checkpoint lock (it never calls the busy
    /// handler): SQLITE_BUSY means another connection is checkpointing now, in practice the
    /// writer's backstop inside a commit, which copies these frames itself. Nothing to report.
    static func isAnotherCheckpoint(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_BUSY
    }

    /// At the service's exit, once the service's own writes are done and before the writer's
    /// connections close: the loop ends (a checkpoint in progress is interrupted: GRDB interrupts
    /// the statement of a cancelled task), one last checkpoint runs, and the connection is closed,
    /// whether or not that checkpoint succeeded. A failure is logged, never thrown: every commit
    /// is in the log already.
    public func close() async {
        task.cancel()
        await task.value
        do {
            _ = try await Self.checkpoint(connection, closed: closed)
        } catch {
            logger.warning("could not checkpoint \(file) at exit", metadata: ["error": "\(error)"])
        }
        closed.value.store(true, ordering: .releasing)
        do {
            try connection.close()
        } catch {
            logger.warning("could not close the checkpointer's connection to \(file)", metadata: ["error": "\(error)"])
        }
    }

    deinit { task.cancel() }
}
