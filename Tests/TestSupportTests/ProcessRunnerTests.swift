import Foundation
import Testing
import TestSupport

/// TestSupport's process runner: exit awaited, a timeout that answers nil, SIGKILL after the grace.
@Suite struct ProcessRunnerTests {
    @Test func runsToTheEndWithStatusAndOutput() async throws {
        let r = try await ProcessRunner.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(r.status == 3 && r.stdout == "out\n" && r.stderr == "err\n")
    }

    @Test func waitForExitAnswersNilWhileItRuns() async throws {
        let p = try await ProcessRunner("/bin/sh", ["-c", "exec sleep 30"])
        #expect(await p.waitForExit(timeout: 0.2) == nil)
        #expect(p.isRunning)
        // SIGTERM, or SIGKILL after the grace: a child inherits the test process's blocked signals, SIGTERM among them.
        let status = await p.terminate(gracePeriod: 0.5)
        #expect(status == SIGTERM || status == SIGKILL)
        #expect(!p.isRunning && p.exitStatus == status)
    }

    @Test func terminateKillsAChildThatIgnoresSIGTERM() async throws {
        let p = try await ProcessRunner("/bin/sh", ["-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"])
        try await waitUntil("the child traps SIGTERM", timeout: 30, every: 0.05) { p.stdout.contains("ready") }
        #expect(await p.terminate(gracePeriod: 0.5) == SIGKILL)
        #expect(!Procs.alive(p.pid))
    }

    /// A child inherits none of the test process's descriptors, however many are open: with 1,500
    /// more (the parallel bus tests hold that many), Foundation's `Process.run` read past its
    /// /proc/self/fd buffer and crashed the test process; the runner must neither crash nor leak them.
    @Test func aChildInheritsNoDescriptorEvenWithThousandsOpen() async throws {
        let extra = (0..<1_500).map { _ in open("/dev/null", O_RDONLY | O_CLOEXEC) }
        defer { for fd in extra where fd >= 0 { close(fd) } }
        #expect(extra.allSatisfy { $0 >= 0 })
        // Without CLOEXEC as well: an fd opened by code that forgot it must not reach the child.
        let leaky = open("/dev/null", O_RDONLY)
        defer { close(leaky) }
        for _ in 0..<5 {
            let r = try await ProcessRunner.run("/bin/sh", ["-c", "ls /proc/self/fd"])
            let fds = r.stdout.split(separator: "\n").compactMap { Int($0) }
            #expect(r.status == 0)
            // 0, 1, 2 and the one `ls` opens to list the folder.
            #expect(fds.count <= 4, "the child holds \(fds)")
            #expect(!fds.contains(Int(leaky)))
        }
    }
}
