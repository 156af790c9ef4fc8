import Foundation
import NodeKit
import Testing
import TestSupport
@testable import CairnCLI

/// `SupervisorWatch` (CairnContract): a process started by a supervisor stops by itself once the
/// supervisor is gone, also where the parent-death signal cannot help. Real processes: a stand-in
/// supervisor (a shell naming itself, as `cairn up` and `cairn net` do) is killed with SIGKILL.
extension UpTests {
    /// A stand-in supervisor: a shell that names itself in `CAIRN_SUPERVISOR_PID`, starts `command`
    /// in the background with its output in `log` (no parent-death signal: only the watch can stop
    /// it), writes the child's pid to `pidFile` and waits.
    func standInSupervisor(_ command: [String], log: String, pidFile: String, in dir: TempDir, tag: String) async throws -> ProcessRunner {
        let script = #"export CAIRN_SUPERVISOR_PID=$$; "$@" >"$CAIRN_TEST_LOG" 2>&1 & echo $! >"$CAIRN_TEST_PIDFILE"; wait"#
        return try await ProcessRunner("/bin/sh", ["-c", script, "sh"] + command,
                                       env: ["CAIRN_TEST_LOG": log, "CAIRN_TEST_PIDFILE": pidFile], in: dir, tag: tag)
    }

    func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// The gaps of the parent-death signal (a supervisor killed before `setpriv` set it, a SIGTERM lost
    /// while `cairn up` installs its handler) are covered by `SupervisorWatch`: a service whose named
    /// supervisor is not its parent, as an orphan's is not, stops by itself; one whose supervisor is
    /// its parent keeps serving.
    @Test func aServiceStopsWhenItsSupervisorIsNotItsParent() async throws {
        let dir = try TempDir()
        let offset = Ports.offset("CairnCLITests")
        // A live process that is not the children's parent (this one is): getppid() may be 1, or 0
        // outside the pid namespace, which the watch rightly refuses.
        let other = try await ProcessRunner("/bin/sleep", ["600"], env: [:], in: dir, tag: "not-the-parent")
        defer { other.signal(SIGKILL) }
        let notParent = String(other.pid)
        let bus = ["--chain-rpc", "tcp://127.0.0.1:\(28331 + offset)", "--chain-pub", "tcp://127.0.0.1:\(28332 + offset)",
                   "--mempool-rpc", "tcp://127.0.0.1:\(28333 + offset)", "--mempool-pub", "tcp://127.0.0.1:\(28334 + offset)"]
        let keeps = try await ProcessRunner(Build.path("cairn-walletfront"), ["--port", "\(8341 + offset)", "--edge", "http://127.0.0.1:\(8340 + offset)"],
                                            env: [SupervisorWatch.environmentKey: String(getpid())], in: dir, tag: "front-kept")
        let front = try await ProcessRunner(Build.path("cairn-walletfront"), ["--port", "\(8342 + offset)", "--edge", "http://127.0.0.1:\(8340 + offset)"],
                                            env: [SupervisorWatch.environmentKey: notParent], in: dir, tag: "front-orphan")
        let store = try await ProcessRunner(Build.path("cairn-chainstore"), ["--data", dir.path("node")] + bus,
                                            env: [SupervisorWatch.environmentKey: notParent], in: dir, tag: "store-orphan")
        for (p, name) in [(front, "cairn-walletfront"), (store, "cairn-chainstore")] {
            #expect(await p.waitForExit(timeout: 120) != nil, "\(name) still runs; stderr: \(p.stderr)")
            #expect(p.stderr.contains(SupervisorWatch.goneMessage(name, supervisor: pid_t(notParent)!)), "stderr: \(p.stderr)")
        }
        #expect(await eventually("the front whose supervisor is its parent serves") {
            (try? await EdgeClient("http://127.0.0.1:\(8341 + offset)").raw("/", timeout: 2))?.status == 200
        }, "stderr: \(keeps.stderr)")
        #expect(keeps.isRunning, "stderr: \(keeps.stderr)")
        #expect(!keeps.stderr.contains("is gone"), "stderr: \(keeps.stderr)")
        keeps.signal(SIGTERM)
        #expect(await keeps.wait() == 0, "stderr: \(keeps.stderr)")
    }

    @Test func theWatchReadsOnlyAPidAboveOne() {
        #expect(SupervisorWatch.supervisor(in: [SupervisorWatch.environmentKey: "4242"]) == 4242)
        for bad in ["", "1", "0", "-5", "abc", "12x"] {
            #expect(SupervisorWatch.supervisor(in: [SupervisorWatch.environmentKey: bad]) == nil, "\(bad)")
        }
        #expect(SupervisorWatch.supervisor(in: [:]) == nil)
        #expect(SupervisorWatch.childEnvironment(["A": "b"]) == ["A": "b", SupervisorWatch.environmentKey: String(getpid())])
    }

    /// An orphan told once its handler is installed stops gracefully: the chain store serves under a
    /// supervisor that is its parent, the supervisor dies by SIGKILL, and the store's graceful
    /// shutdown runs to its last line ("chain store stopped"), not SIGTERM's default action.
    @Test func aServingOrphanStopsGracefully() async throws {
        let dir = try TempDir()
        let offset = Ports.offset("CairnCLITests")
        let bus = ["--chain-rpc", "tcp://127.0.0.1:\(28331 + offset)", "--chain-pub", "tcp://127.0.0.1:\(28332 + offset)",
                   "--mempool-rpc", "tcp://127.0.0.1:\(28333 + offset)", "--mempool-pub", "tcp://127.0.0.1:\(28334 + offset)"]
        let log = dir.path("store.log"), pidFile = dir.path("store.pid")
        let shell = try await standInSupervisor([Build.path("cairn-chainstore"), "--data", dir.path("node")] + bus,
                                                log: log, pidFile: pidFile, in: dir, tag: "stand-in")
        #expect(await eventually("the chain store is ready") { text(log).contains("chain store ready") }, "log: \(text(log))")
        let store = try #require(Int32(text(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)), "pid file: \(text(pidFile))")
        // Its handler is installed right after the ready line (`ServiceRuntime.run`), and the watch
        // looks once a second after the supervisor is gone.
        #expect(Procs.alive(store) && !text(log).contains("is gone"), "log: \(text(log))")
        shell.signal(SIGKILL)
        _ = await shell.wait()
        #expect(await eventually("the orphaned chain store exits") { !Procs.alive(store) }, "log: \(text(log))")
        #expect(text(log).contains(SupervisorWatch.goneMessage("cairn-chainstore", supervisor: shell.pid)), "log: \(text(log))")
        #expect(text(log).contains("chain store stopped"), "a graceful shutdown's last line; log: \(text(log))")
    }

    /// `cairn up` started by `cairn net` whose `cairn net` is gone (the watch covers a SIGTERM lost
    /// while its handler was being installed): it stops its services as on Ctrl-C and exits.
    @Test func anOrphanedCairnUpStopsItsServices() async throws {
        let dir = try TempDir()
        let log = dir.path("up.log"), pidFile = dir.path("up.pid")
        let shell = try await standInSupervisor([Build.path("cairn"), "up", "--data", dir.path("node"), "--no-miner", "--no-wallet",
                                                 "--port-offset", "\(Ports.offset("CairnCLITests"))"],
                                                log: log, pidFile: pidFile, in: dir, tag: "stand-in")
        #expect(await eventually("cairn up announces the node") { text(log).contains("node is up") }, "log: \(text(log))")
        let up = try #require(Int32(text(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)), "pid file: \(text(pidFile))")
        let services = Array(children(of: up).keys)
        #expect(services.count >= 3, "\(children(of: up))")
        #expect(!text(log).contains("is gone"), "log: \(text(log))")
        shell.signal(SIGKILL)
        _ = await shell.wait()
        #expect(await eventually("cairn up and its services exit") { !Procs.alive(up) && services.allSatisfy { !Procs.alive($0) } },
                "log: \(text(log))")
        let out = text(log)
        #expect(out.contains("cairn: " + SupervisorWatch.goneMessage("cairn up", supervisor: shell.pid)), "log: \(out)")
        #expect(out.contains("cairn: received SIGTERM: stopping the services"), "log: \(out)")
        #expect(out.hasSuffix("cairn: stopped\n"), "log: \(out)")
    }

    /// The watch's steps once the parent is not the supervisor: SIGTERM `graceSeconds` times (the
    /// service group acts on the first), then SIGKILL, as the supervisor's own stop does to a child
    /// that outlives its SIGTERM. (No process here can ignore its SIGTERM for that long: the
    /// services unblock it for their handlers. So this step is checked here, not with a process.)
    @Test func theWatchTellsGraceSecondsTimesThenKills() {
        let steps = (0..<(SupervisorWatch.graceSeconds + 3)).map { SupervisorWatch.signal(parent: 1, supervisor: 4242, told: $0) }
        #expect(steps == Array(repeating: SIGTERM, count: SupervisorWatch.graceSeconds) + [SIGKILL, SIGKILL, SIGKILL])
        #expect(SupervisorWatch.signal(parent: 4242, supervisor: 4242, told: 0) == nil)
        #expect(SupervisorWatch.signal(parent: 4242, supervisor: 4242, told: 20) == nil)
    }
}
