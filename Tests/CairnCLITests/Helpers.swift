import Foundation
import Testing
import TestSupport
@testable import CairnCLI

/// A temporary folder removed when the value goes away.
final class TempDir: Sendable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-cli-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

extension ProcessRunner {
    /// A child of a CLI test, its output in `dir` (TAG.out, TAG.err).
    convenience init(_ executable: String, _ args: [String], env: [String: String], in dir: TempDir,
                     tag: String = UUID().uuidString.prefix(6).description) async throws {
        try await self.init(executable, args, env: env, stdout: dir.path("\(tag).out"), stderr: dir.path("\(tag).err"))
    }
}

enum CLI {
    /// Runs `cairn` with arguments and extra environment to its end.
    static func run(_ args: [String], env: [String: String]) async throws -> RunResult {
        try await ProcessRunner.run(Build.path("cairn"), args, env: env)
    }
}
