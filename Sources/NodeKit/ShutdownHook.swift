import ServiceLifecycle

/// A lifecycle service that waits for SIGTERM/SIGINT, then runs `cleanup`
/// (stop servers and publishers, terminate the ZeroMQ context).
public struct ShutdownHook: Service {
    let cleanup: @Sendable () async -> Void

    public init(cleanup: @escaping @Sendable () async -> Void) { self.cleanup = cleanup }

    public func run() async throws {
        // Returns when graceful shutdown is triggered (or the task is cancelled).
        try? await gracefulShutdown()
        await cleanup()
    }
}
