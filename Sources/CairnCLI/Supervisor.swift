import Foundation
import NodeKit
import Synchronization

/// One child process the supervisor keeps running.
struct ChildSpec: Sendable, Equatable {
    var name: String
    var executable: String
    var arguments: [String]
}

/// Runs closures on one long-lived thread. Children are spawned here so that
/// their parent-death signal (set with `setpriv --pdeathsig`, which Linux ties
/// to the *thread* that spawned the child) only fires when the supervisor
/// process itself dies, never when a pool thread is retired. Each child is also
/// told the supervisor's pid (`SupervisorWatch`), which covers the gaps of that signal.
final class SpawnThread: Sendable {
    private let queue = Mutex<[@Sendable () -> Void]>([])
    private let ready = DispatchSemaphore(value: 0)

    init() {
        // The thread keeps `self` for the life of the process (one per supervisor).
        let thread = Thread { [self] in
            while true {
                ready.wait()
                let work = queue.withLock { q in q.isEmpty ? nil : q.removeFirst() }
                work?()
            }
        }
        thread.name = "cairn.spawn"
        thread.start()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            queue.withLock { $0.append({ c.resume(with: Result { try body() }) }) }
            ready.signal()
        }
    }
}

/// `Process` is not Sendable; it is only touched on the spawn thread and in
/// its own termination handler, and its pid is read once.
private struct ProcessBox: @unchecked Sendable { let process: Process }

/// Starts children, restarts one that exits unexpectedly (backoff 0.5 s
/// doubling to 30 s, reset after 60 s of uptime), and stops them all (SIGTERM,
/// then SIGKILL after a grace period).
actor Supervisor {
    struct Child {
        var spec: ChildSpec
        var pid: Int32 = 0
        var running = false
        var startedAt = ContinuousClock.now
        var nextDelay: Duration = Supervisor.initialBackoff
        var restarts = 0
    }

    static let initialBackoff = Duration.milliseconds(500)
    static let maxBackoff = Duration.seconds(30)
    static let stableUptime = Duration.seconds(60)

    private var children: [String: Child] = [:]
    private var order: [String] = []
    private var stopping = false
    /// Exits reported before `launch` learned the child's pid (a child that dies at once).
    private var earlyExits: [Int32: (status: Int32, signaled: Bool)] = [:]
    let logDirectory: URL
    let say: @Sendable (String) -> Void
    private let spawner = SpawnThread()
    /// `setpriv` from util-linux, used to set PR_SET_PDEATHSIG before exec.
    private let setpriv: String?

    init(logDirectory: URL, say: @escaping @Sendable (String) -> Void) {
        self.logDirectory = logDirectory
        self.say = say
        setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func start(_ spec: ChildSpec) async throws {
        children[spec.name] = Child(spec: spec)
        order.append(spec.name)
        try await launch(spec.name)
        if watchdog == nil { watchdog = Task { await self.sweep() } }
    }

    private var watchdog: Task<Void, Never>?
    private var suspects: Set<Int32> = []

    /// A safety net under Foundation's termination handler: once a second, a
    /// running child whose process is gone (or a zombie on two sweeps in a row)
    /// is treated as exited, so a lost notification can't leave a service down.
    private func sweep() async {
        while !stopping {
            try? await Task.sleep(for: .seconds(1))
            for (name, child) in children where child.running && !stopping {
                guard !Self.isAlive(child.pid) else { suspects.remove(child.pid); continue }
                if suspects.remove(child.pid) != nil {
                    var status: Int32 = 0
                    let reaped = waitpid(child.pid, &status, WNOHANG) == child.pid
                    let signaled = reaped && (status & 0x7f) != 0
                    exited(name, pid: child.pid, status: reaped ? (signaled ? status & 0x7f : (status >> 8) & 0xff) : -1,
                           signaled: signaled)
                } else {
                    suspects.insert(child.pid)
                }
            }
        }
    }

    /// The process exists and is not a zombie.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// Current pids of the running children, by name.
    func pids() -> [String: Int32] {
        children.filter { $0.value.running }.mapValues(\.pid)
    }

    func restartCount(_ name: String) -> Int { children[name]?.restarts ?? 0 }

    /// For tests and diagnostics: each child's pid, state and restart count.
    func debugState() -> String {
        order.compactMap { n in children[n].map { "\(n): pid \($0.pid) running \($0.running) alive \(Self.isAlive($0.pid)) restarts \($0.restarts)" } }
            .joined(separator: "; ") + " early \(earlyExits.keys.sorted())"
    }

    private func logHandle(for name: String) throws -> FileHandle {
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        let path = logDirectory.appendingPathComponent("\(name).log").path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Appends a supervisor line to the child's log and says it.
    private func note(_ name: String, _ text: String) {
        say(text)
        if let h = try? logHandle(for: name) {
            let stamp = ISO8601DateFormatter().string(from: Date())
            h.write(Data("\(stamp) [cairn up] \(text)\n".utf8))
        }
    }

    private func launch(_ name: String) async throws {
        guard var child = children[name], !stopping else { return }
        let spec = child.spec
        let log = try logHandle(for: name)
        let process = Process()
        if let setpriv {
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "TERM", "--", spec.executable] + spec.arguments
        } else {
            process.executableURL = URL(fileURLWithPath: spec.executable)
            process.arguments = spec.arguments
        }
        process.environment = SupervisorWatch.childEnvironment()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        process.terminationHandler = { [weak self] p in
            let status = p.terminationStatus
            let signaled = p.terminationReason == .uncaughtSignal
            let pid = p.processIdentifier
            guard let self else { return }
            Task { await self.exited(name, pid: pid, status: status, signaled: signaled) }
        }
        let box = ProcessBox(process: process)
        let pid = try await spawner.run { () throws -> Int32 in
            try box.process.run()
            return box.process.processIdentifier
        }
        child.pid = pid
        child.running = true
        child.startedAt = .now
        children[name] = child
        if let early = earlyExits.removeValue(forKey: pid) {
            exited(name, pid: pid, status: early.status, signaled: early.signaled)
        }
    }

    private func exited(_ name: String, pid: Int32, status: Int32, signaled: Bool) {
        guard var child = children[name] else { return }
        guard child.pid == pid, child.running else {
            // The handler can run before `launch` has recorded this pid: keep it for `launch`.
            earlyExits[pid] = (status, signaled)
            return
        }
        child.running = false
        let how = signaled ? "killed by signal \(status)" : "exit status \(status)"
        if stopping {
            children[name] = child
            return
        }
        let uptime = ContinuousClock.now - child.startedAt
        if uptime >= Self.stableUptime { child.nextDelay = Self.initialBackoff }
        let delay = child.nextDelay
        child.nextDelay = min(child.nextDelay * 2, Self.maxBackoff)
        child.restarts += 1
        children[name] = child
        note(name, "\(name) (pid \(pid)) stopped unexpectedly (\(how)) after \(Self.seconds(uptime)); restart #\(child.restarts) in \(Self.seconds(delay))")
        scheduleRestart(name, after: delay)
    }

    private func scheduleRestart(_ name: String, after delay: Duration) {
        Task {
            try? await Task.sleep(for: delay)
            await self.restart(name)
        }
    }

    private func restart(_ name: String) async {
        guard !stopping, let child = children[name], !child.running else { return }
        do {
            try await launch(name)
            if let pid = children[name]?.pid { note(name, "\(name) restarted (pid \(pid))") }
        } catch {
            guard var c = children[name] else { return }
            let delay = c.nextDelay
            c.nextDelay = min(c.nextDelay * 2, Self.maxBackoff)
            children[name] = c
            note(name, "cannot start \(name): \(error); retrying in \(Self.seconds(delay))")
            scheduleRestart(name, after: delay)
        }
    }

    /// SIGTERM to every child, up to `grace` for them to exit, then SIGKILL.
    func stopAll(grace: Duration = .seconds(10)) async {
        stopping = true
        watchdog?.cancel()
        for name in order.reversed() where children[name]?.running == true {
            if let pid = children[name]?.pid { kill(pid, SIGTERM) }
        }
        let deadline = ContinuousClock.now + grace
        // A child counts as stopped once its handler ran or its process is gone (or a zombie).
        func anyLeft() -> Bool { children.values.contains { $0.running && Self.isAlive($0.pid) } }
        while anyLeft(), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for (name, child) in children where child.running && Self.isAlive(child.pid) {
            say("\(name) (pid \(child.pid)) did not stop within \(Self.seconds(grace)): SIGKILL")
            kill(child.pid, SIGKILL)
        }
        let hard = ContinuousClock.now + .seconds(5)
        while anyLeft(), ContinuousClock.now < hard {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for (name, child) in children where child.running && !Self.isAlive(child.pid) {
            children[name]?.running = false
        }
    }

    /// Last-resort cleanup from a path that cannot await: SIGKILL every running child.
    nonisolated static func killNow(_ pids: [Int32]) {
        for pid in pids { kill(pid, SIGKILL) }
    }

    static func seconds(_ d: Duration) -> String {
        let (s, atto) = d.components
        return String(format: "%.1f s", Double(s) + Double(atto) / 1e18)
    }
}
