import Foundation
import Synchronization
import Testing
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

/// The built executables: next to the test bundle.
enum Build {
    static var directory: URL {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // swift test may run the bundle from inside `X.xctest/…`.
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("cairn").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

}

struct RunResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A child process whose output goes to files (no pipe can fill up).
final class Spawned: @unchecked Sendable {
    let process = Process()
    let outPath: String
    let errPath: String
    private final class Waiters: Sendable {
        let list = Mutex<[CheckedContinuation<Int32, Never>]?>([])
    }
    private let done = Waiters()

    init(_ executable: String, _ args: [String], env: [String: String], in dir: TempDir, tag: String = UUID().uuidString.prefix(6).description) throws {
        outPath = dir.path("\(tag).out")
        errPath = dir.path("\(tag).err")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.terminationHandler = { [done] p in
            let status = p.terminationStatus
            let waiters = done.list.withLock { w -> [CheckedContinuation<Int32, Never>] in
                let list = w ?? []
                w = nil
                return list
            }
            for c in waiters { c.resume(returning: status) }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// Waits for the exit without blocking a thread.
    func wait() async -> Int32 {
        await withCheckedContinuation { c in
            let finished = done.list.withLock { w -> Bool in
                if w == nil { return true }
                w!.append(c)
                return false
            }
            if finished { c.resume(returning: process.terminationStatus) }
        }
    }

    func signal(_ sig: Int32) { kill(pid, sig) }
}

enum CLI {
    /// Runs `cairn` with arguments and extra environment; waits for it.
    static func run(_ args: [String], env: [String: String]) throws -> RunResult {
        try runBlocking(Build.path("cairn"), args, env: env)
    }

    static func runBlocking(_ exe: String, _ args: [String], env: [String: String]) throws -> RunResult {
        let dir = try TempDir()
        let s = try Spawned(exe, args, env: env, in: dir)
        s.process.waitUntilExit()
        return RunResult(status: s.process.terminationStatus, stdout: s.stdout, stderr: s.stderr)
    }
}

/// Polls `condition` until it holds; fails the test after `limit` (a guard against hanging, not a timing check).
func eventually(_ what: String, limit: Duration = .seconds(90), _ condition: () async -> Bool,
                sourceLocation: SourceLocation = #_sourceLocation) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(200))
    }
    Issue.record("gave up waiting: \(what)", sourceLocation: sourceLocation)
    return false
}

/// Children of a process, from /proc (pid → command line).
enum Procs {
    static func children(of parent: Int32) -> [Int32: String] {
        var result: [Int32: String] = [:]
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [:] }
        for e in entries {
            guard let pid = Int32(e), let stat = try? String(contentsOfFile: "/proc/\(e)/stat", encoding: .utf8) else { continue }
            // "pid (comm) state ppid …": comm may hold spaces, so split after the last ')'.
            guard let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == parent, fields[0] != "Z" else { continue }
            result[pid] = cmdline(pid)
        }
        return result
    }

    static func cmdline(_ pid: Int32) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
        return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    /// Alive and not a zombie.
    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }
}

/// Port offsets for process tests, 1000-4990 (the other suites use other ranges): a random first slot, so
/// parallel runs and other engineers' stacks don't clash, then the next slot each time, so two nodes of
/// this test process never draw the same offset.
enum Ports {
    static let next = Atomic<Int>(Int.random(in: 0..<400))
    static func offset() -> Int { 1000 + (next.wrappingAdd(1, ordering: .relaxed).oldValue % 400) * 10 }
}
