import Foundation
import Synchronization
import Testing
import TestSupport
@testable import CairnCLI

@Suite("Supervisor") struct SupervisorTests {
    final class Lines: Sendable {
        let list = Mutex<[String]>([])
        func add(_ s: String) { list.withLock { $0.append(s) } }
        var all: [String] { list.withLock { $0 } }
    }

    @Test func restartsWithDoublingBackoffAndLogsEachRestart() async throws {
        let dir = try TempDir()
        let lines = Lines()
        let supervisor = Supervisor(logDirectory: dir.url) { lines.add($0) }
        try await supervisor.start(ChildSpec(name: "crasher", executable: "/bin/sh", arguments: ["-c", "exit 3"]))
        let restarted = await eventually("three restarts", timeout: 20) { await supervisor.restartCount("crasher") >= 3 }
        let state = await supervisor.debugState()
        #expect(restarted, "state \(state) lines \(lines.all)")
        await supervisor.stopAll(grace: .seconds(5))
        let restarts = lines.all.filter { $0.contains("stopped unexpectedly") }
        try #require(restarts.count >= 3, "\(lines.all)")
        #expect(restarts[0].contains("exit status 3") && restarts[0].contains("restart #1 in 0.5 s"))
        #expect(restarts[1].contains("restart #2 in 1.0 s"))
        #expect(restarts[2].contains("restart #3 in 2.0 s"))
        let log = try String(contentsOfFile: dir.path("crasher.log"), encoding: .utf8)
        #expect(log.contains("restart #2 in 1.0 s"))
    }

    @Test func sigkillsAChildThatIgnoresSIGTERM() async throws {
        let dir = try TempDir()
        let supervisor = Supervisor(logDirectory: dir.url) { _ in }
        try await supervisor.start(ChildSpec(name: "stubborn", executable: "/bin/sh",
                                             arguments: ["-c", "trap '' TERM; echo ready; while :; do sleep 0.2; done"]))
        #expect(await eventually("child started") {
            ((try? String(contentsOfFile: dir.path("stubborn.log"), encoding: .utf8)) ?? "").contains("ready")
        })
        let pid = try #require(await supervisor.pids()["stubborn"])
        await supervisor.stopAll(grace: .milliseconds(500))
        #expect(!Procs.alive(pid))
        #expect(await supervisor.pids().isEmpty)
        #expect(await supervisor.restartCount("stubborn") == 0)
    }
}
