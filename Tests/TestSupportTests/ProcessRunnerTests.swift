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
        let p = try ProcessRunner("/bin/sh", ["-c", "exec sleep 30"])
        #expect(await p.waitForExit(timeout: 0.2) == nil)
        #expect(p.isRunning)
        // SIGTERM, or SIGKILL after the grace: a child inherits the test process's blocked signals, SIGTERM among them.
        let status = await p.terminate(gracePeriod: 0.5)
        #expect(status == SIGTERM || status == SIGKILL)
        #expect(!p.isRunning && p.exitStatus == status)
    }

    @Test func terminateKillsAChildThatIgnoresSIGTERM() async throws {
        let p = try ProcessRunner("/bin/sh", ["-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"])
        try await waitUntil("the child traps SIGTERM", timeout: 30, every: 0.05) { p.stdout.contains("ready") }
        #expect(await p.terminate(gracePeriod: 0.5) == SIGKILL)
        #expect(!Procs.alive(p.pid))
    }
}
