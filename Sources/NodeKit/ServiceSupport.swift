import Foundation
import Logging
import ServiceLifecycle

/// Small helpers every service uses: logging to standard error, running its lifecycle services, the
/// clock of trace stamps, the data folder.
public enum ServiceSupport {
    /// Logs to standard error, one line per event.
    public static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }

    /// Runs services until SIGTERM or SIGINT, then shuts them down gracefully (in reverse order).
    public static func run(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    public static func now() -> Double { Date().timeIntervalSince1970 }

    /// Creates the data folder if needed.
    public static func ensureDirectory(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
}
