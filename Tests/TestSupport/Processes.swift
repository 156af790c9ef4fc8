import Foundation
import Subprocess
import Synchronization
import SystemPackage

/// The built executables: next to the test bundle (`swift test` may run it from inside `X.xctest/…`).
public enum Build {
    public static let directory: URL = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("cairn").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }()
    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    public static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

/// What a program that ran to its end left.
public struct RunResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// The one process runner of the tests: a child whose output goes to files (no pipe can fill up),
/// started and awaited through swift-subprocess (no thread waits on it, none of the cooperative
/// pool's least of all), stopped with SIGTERM then SIGKILL.
///
/// Not Foundation's `Process`: on Linux its `run()` lists /proc/self/fd to close every inherited
/// descriptor in the child, and copies each entry's whole 256-byte `d_name` out of the directory
/// buffer. With ~1,350 descriptors open (the parallel in-process bus tests hold that many: each
/// ZeroMQ context and socket has its own) the last entry sits at the end of the buffer and the copy
/// reads past it: a SIGSEGV of the whole test process (seen in CI, `memcpy` from "1357", "1358"…).
/// swift-subprocess closes them with `posix_spawn_file_actions_addclosefrom_np` and watches the
/// exit through a pidfd.
public final class ProcessRunner: @unchecked Sendable {
    public let executable: String
    public let arguments: [String]
    public let outPath: String
    public let errPath: String
    public let pid: Int32
    private let ownedFiles: [String]
    private let exit: ExitBox

    private final class ExitBox: Sendable {
        struct State {
            var status: Int32?
            var waiters: [Int: CheckedContinuation<Int32?, Never>] = [:]
            var nextWaiter = 0
            /// Waiters whose timeout passed before they registered.
            var expired: Set<Int> = []
        }
        let state = Mutex(State())

        func exited(_ status: Int32) {
            let waiters = state.withLock { s in
                s.status = status
                defer { s.waiters = [:] }
                return Array(s.waiters.values)
            }
            for w in waiters { w.resume(returning: status) }
        }
    }

    /// Starts `executable`. `stdout`/`stderr`: files to write (created, appended to; the same path
    /// for one combined log); nil: a temporary file removed with the runner. `stdin`: a file to
    /// read, else /dev/null. The child is in a process group of its own, as with `Process`.
    public init(_ executable: String, _ args: [String], env: [String: String] = [:],
                stdout: String? = nil, stderr: String? = nil, stdin: String? = nil) async throws {
        self.executable = executable
        arguments = args
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-run-\(UUID().uuidString.prefix(8))").path
        let outPath = stdout ?? temp + ".out"
        let errPath = stderr ?? temp + ".err"
        self.outPath = outPath
        self.errPath = errPath
        ownedFiles = [stdout == nil ? outPath : nil, stderr == nil ? errPath : nil].compactMap { $0 }
        let append: FileDescriptor.OpenOptions = [.create, .append]
        let out = try FileDescriptor.open(FilePath(outPath), .writeOnly, options: append, permissions: [.ownerReadWrite, .groupRead, .otherRead])
        let err = errPath == outPath ? try out.duplicate()
            : try FileDescriptor.open(FilePath(errPath), .writeOnly, options: append, permissions: [.ownerReadWrite, .groupRead, .otherRead])
        let input = try FileDescriptor.open(FilePath(stdin ?? "/dev/null"), .readOnly)
        var options = PlatformOptions()
        options.processGroupID = 0
        var overrides: [Environment.Key: String?] = [:]
        for (k, v) in env { if let key = Environment.Key(rawValue: k) { overrides[key] = v } }
        let environment = Environment.inherit.updating(overrides)
        let platform = options
        let exit = ExitBox()
        self.exit = exit
        // The child runs in a task of its own: `run` returns once it has exited. The pid comes
        // back as soon as it is spawned (or the error when it cannot be).
        pid = try await withCheckedThrowingContinuation { (started: CheckedContinuation<Int32, any Error>) in
            Task.detached { [executable, args, environment, platform, input, out, err, exit] in
                let spawned = Mutex(false)
                do {
                    let result = try await Subprocess.run(.path(FilePath(executable)), arguments: Arguments(args), environment: environment,
                                                          platformOptions: platform,
                                                          input: .fileDescriptor(input, closeAfterSpawningProcess: true),
                                                          output: .fileDescriptor(out, closeAfterSpawningProcess: true),
                                                          error: .fileDescriptor(err, closeAfterSpawningProcess: true)) { execution in
                        let pid = execution.processIdentifier.value
                        Children.started(pid)
                        spawned.withLock { $0 = true }
                        started.resume(returning: pid)
                    }
                    let status: Int32
                    switch result.terminationStatus {
                    case .exited(let code): status = code
                    case .signaled(let signal): status = signal
                    }
                    Children.exited(result.processIdentifier.value)
                    exit.exited(status)
                } catch {
                    if spawned.withLock({ $0 }) {
                        exit.exited(-1)
                    } else {
                        started.resume(throwing: error)
                    }
                }
            }
        }
    }

    deinit {
        for f in ownedFiles { try? FileManager.default.removeItem(atPath: f) }
    }

    /// Runs a program to its end.
    public static func run(_ executable: String, _ args: [String], env: [String: String] = [:], stdin: String? = nil) async throws -> RunResult {
        let p = try await ProcessRunner(executable, args, env: env, stdin: stdin)
        let status = await p.wait()
        return RunResult(status: status, stdout: p.stdout, stderr: p.stderr)
    }

    public var exitStatus: Int32? { exit.state.withLock { $0.status } }
    public var isRunning: Bool { exitStatus == nil }
    public var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    public func signal(_ sig: Int32) { if isRunning { kill(pid, sig) } }

    /// Waits for the exit (its status; a signal's number when killed).
    public func wait() async -> Int32 {
        await waitForExit(timeout: nil)!
    }

    /// The exit status, or nil when it is still running after `timeout` seconds.
    public func waitForExit(timeout: Double?) async -> Int32? {
        let id = exit.state.withLock { s -> Int in s.nextWaiter += 1; return s.nextWaiter }
        let timer = timeout.map { seconds in
            Task { [exit] in
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                exit.state.withLock { s -> CheckedContinuation<Int32?, Never>? in
                    if let w = s.waiters.removeValue(forKey: id) { return w }
                    s.expired.insert(id)
                    return nil
                }?.resume(returning: nil)
            }
        }
        defer { timer?.cancel() }
        return await withCheckedContinuation { c in
            let done = exit.state.withLock { s -> Int32?? in
                if let status = s.status { return .some(status) }
                if s.expired.remove(id) != nil { return .some(nil) }
                s.waiters[id] = c
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited after `gracePeriod` seconds; returns once it has exited.
    @discardableResult
    public func terminate(gracePeriod: Double = 15) async -> Int32 {
        signal(SIGTERM)
        if let status = await waitForExit(timeout: gracePeriod) { return status }
        signal(SIGKILL)
        return await wait()
    }

    /// `terminate` for callers that cannot await (a `defer`, a `deinit`): sends SIGTERM now and
    /// finishes in a task (SIGKILL after the grace period, then `then`). Nothing waits on a thread;
    /// children still running when the test process exits are waited for, then killed.
    public func stopInBackground(gracePeriod: Double = 15, then: (@Sendable () -> Void)? = nil) {
        guard isRunning else { then?(); return }
        signal(SIGTERM)
        Children.pendingStops.add(1, ordering: .relaxed)
        Task.detached { [self] in
            await terminate(gracePeriod: gracePeriod)
            then?()
            Children.pendingStops.subtract(1, ordering: .relaxed)
        }
    }
}

/// Runs a program to its end; returns its status and its output (stdout and stderr in one file).
public func runProgram(_ exe: URL, _ args: [String], env: [String: String] = [:]) async throws -> (Int32, String) {
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-out-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: log) }
    let p = try await ProcessRunner(exe.path, args, env: env, stdout: log, stderr: log)
    let status = await p.wait()
    return (status, p.stdout)
}

/// The children the runners started and not yet seen exit. When the test process exits, the
/// stops still under way get up to 30 s to finish (this is the process's exit, not the pool),
/// and whatever still runs then is killed: a test run leaves no process behind.
enum Children {
    static let live = Mutex<Set<Int32>>([])
    static let pendingStops = Atomic<Int>(0)
    private static let hook: Void = { atexit { Children.atExit() } }()

    static func started(_ pid: Int32) {
        _ = hook
        live.withLock { _ = $0.insert(pid) }
    }
    static func exited(_ pid: Int32) { live.withLock { _ = $0.remove(pid) } }

    static func atExit() {
        var waited = 0
        while pendingStops.load(ordering: .relaxed) > 0 && waited < 300 { usleep(100_000); waited += 1 }
        for pid in live.withLock({ $0 }) { kill(pid, SIGKILL) }
    }
}

/// Processes seen through /proc.
public enum Procs {
    /// Pids of `service` (an executable name) whose command line holds `argument` (e.g. a node's data folder).
    public static func pids(of service: String, withArgument argument: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var out = [Int32]()
        for e in entries {
            guard let pid = Int32(e), let cmd = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(e)/cmdline")) else { continue }
            let args = cmd.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if let first = args.first, first.hasSuffix("/" + service) || first == service, args.contains(argument) { out.append(pid) }
        }
        return out
    }

    /// Children of a process (pid → command line), zombies left out.
    public static func children(of parent: Int32) -> [Int32: String] {
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

    public static func cmdline(_ pid: Int32) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
        return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    /// Alive and not a zombie.
    public static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }
}
