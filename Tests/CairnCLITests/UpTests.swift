import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport
@testable import CairnCLI

/// `cairn up` with real child processes and sockets. Ports are offset at random;
/// waits are polls with a generous give-up limit, never timing assertions.
@Suite("cairn up", .serialized) struct UpTests {
    static let serviceNames = ["cairn-chainstore", "cairn-mempool", "cairn-edge", "cairn-miner"]

    func children(of pid: Int32) -> [Int32: String] {
        Procs.children(of: pid).filter { _, cmd in Self.serviceNames.contains { cmd.contains($0) } }
    }

    func pid(of service: String, under parent: Int32) -> Int32? {
        children(of: parent).first { $0.value.contains("/\(service) ") }?.key
    }

    func health(_ port: Int) async -> JSONValue? {
        guard let r = try? await EdgeClient("http://127.0.0.1:\(port)").raw("/healthz", timeout: 2) else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: r.body)
    }

    func height(_ port: Int) async -> Int? {
        try? await EdgeClient("http://127.0.0.1:\(port)").get("/api/chain", as: ChainReply.self).height
    }

    @Test func secondUpOnTheSameFolderFailsWithInUse() async throws {
        let dir = try TempDir()
        let data = dir.path("node")
        let first = try await ProcessRunner(Build.path("cairn"), ["up", "--data", data, "--no-miner", "--port-offset", "\(Ports.offset("CairnCLITests"))"], env: [:], in: dir, tag: "first")
        // The lock is taken before any child starts: wait for the children.
        #expect(await eventually("first cairn up starts its services") { children(of: first.pid).count >= 2 })
        let second = try await ProcessRunner(Build.path("cairn"), ["up", "--data", data, "--no-miner", "--port-offset", "\(Ports.offset("CairnCLITests"))"], env: [:], in: dir, tag: "second")
        let status = await second.wait()
        #expect(status != 0)
        #expect(second.stderr.contains("in use"), "stderr: \(second.stderr)")
        #expect(Procs.children(of: second.pid).isEmpty)

        let kids = Array(children(of: first.pid).keys)
        first.signal(SIGTERM)
        #expect(await first.wait() == 0, "stderr: \(first.stderr)")
        #expect(kids.allSatisfy { !Procs.alive($0) }, "children left: \(kids.filter(Procs.alive))")
        // The node key was created with mode 0600 and never printed in full.
        var st = stat()
        #expect(stat(data + "/node-key", &st) != 0 || st.st_mode & 0o777 == 0o600)
    }

    /// Bug: a second node on ports in use said "node is up" (the first node's edge answered), its
    /// services restarted forever and its miner mined on the first node's bus.
    @Test func secondNodeOnPortsInUseIsRefusedBeforeStartingAnything() async throws {
        let dir = try TempDir()
        let offset = Ports.offset("CairnCLITests")
        let port = 8340 + offset
        let first = try await ProcessRunner(Build.path("cairn"), ["up", "--data", dir.path("first"), "--no-miner", "--port-offset", "\(offset)"],
                                env: [:], in: dir, tag: "first")
        #expect(await eventually("the first node is up") { first.stdout.contains("node is up") }, "stderr: \(first.stderr)")
        // The first node's edge names its data folder's node id.
        let id = try String(contentsOfFile: dir.path("first") + "/node-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 32)
        #expect(await health(port)?["node_id"]?.string == id)

        let second = try await ProcessRunner(Build.path("cairn"), ["up", "--data", dir.path("second"), "--port-offset", "\(offset)"],
                                 env: [:], in: dir, tag: "second")
        let status = await second.wait()
        #expect(status == 2)
        #expect(!second.stdout.contains("node is up"), "stdout: \(second.stdout)")
        let lines = second.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(second.stderr)")
        #expect(second.stderr.contains("port \(28331 + offset) (the chain store's chain.rpc)"), "stderr: \(second.stderr)")
        #expect(second.stderr.contains("in use") && second.stderr.contains("--port-offset"), "stderr: \(second.stderr)")
        // Nothing was started: no service logs, no node key, no children.
        #expect(!FileManager.default.fileExists(atPath: dir.path("second") + "/logs"))
        #expect(!FileManager.default.fileExists(atPath: dir.path("second") + "/node-key"))
        #expect(Procs.children(of: second.pid).isEmpty)

        // With another offset it starts, and its edge is its own.
        var other = Ports.offset("CairnCLITests")
        while other == offset { other = Ports.offset("CairnCLITests") }
        let third = try await ProcessRunner(Build.path("cairn"), ["up", "--data", dir.path("second"), "--no-miner", "--no-wallet",
                                                      "--port-offset", "\(other)"], env: [:], in: dir, tag: "third")
        #expect(await eventually("the other node is up") { third.stdout.contains("node is up") }, "stderr: \(third.stderr)")
        let otherID = try String(contentsOfFile: dir.path("second") + "/node-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(otherID != id)
        #expect(await health(8340 + other)?["node_id"]?.string == otherID)

        // A miner of the second data folder pointed at the first node's bus refuses, with one line
        // and a configuration error, instead of mining there; one of the first folder attaches.
        let bus = ["--chain-rpc", "tcp://127.0.0.1:\(28331 + offset)", "--chain-pub", "tcp://127.0.0.1:\(28332 + offset)",
                   "--mempool-rpc", "tcp://127.0.0.1:\(28333 + offset)", "--mempool-pub", "tcp://127.0.0.1:\(28334 + offset)"]
        let address = try #require(first.stdout.firstMatch(of: /address (rcrn1[0-9a-z]+)/)?.1).description
        let stray = try await ProcessRunner(Build.path("cairn"), ["miner", "--data", dir.path("second"), "--address", address, "--threads", "1"] + bus,
                                env: [:], in: dir, tag: "stray-miner")
        #expect(await stray.wait() == 64, "stderr: \(stray.stderr)")
        let refusal = stray.stderr.split(separator: "\n").filter { $0.contains("configuration error") }
        #expect(refusal.count == 1 && refusal[0].contains("belongs to another node") && refusal[0].contains(id), "stderr: \(stray.stderr)")
        #expect(!stray.stderr.contains("miner started"), "stderr: \(stray.stderr)")
        // cairn-miner itself, given the node id (as cairn up gives it to its services).
        let direct = try await ProcessRunner(Build.path("cairn-miner"), ["--node-id", otherID, "--address", address, "--threads", "1"] + bus,
                                 env: [:], in: dir, tag: "direct-miner")
        #expect(await direct.wait() == 64, "stderr: \(direct.stderr)")
        #expect(direct.stderr.contains("cairn-miner: configuration error: the chain store at tcp://127.0.0.1:\(28331 + offset) belongs to another node"),
                "stderr: \(direct.stderr)")
        let own = try await ProcessRunner(Build.path("cairn"), ["miner", "--data", dir.path("first"), "--address", address, "--threads", "1"] + bus,
                              env: [:], in: dir, tag: "own-miner")
        #expect(await eventually("the first folder's miner attaches") { own.stderr.contains("miner started") }, "stderr: \(own.stderr)")
        own.signal(SIGTERM)
        #expect(await own.wait() == 0, "stderr: \(own.stderr)")
        for p in [third, first] {
            p.signal(SIGTERM)
            #expect(await p.wait() == 0, "stderr: \(p.stderr)")
        }
    }

    @Test func portCheckFindsAListeningPort() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        try #require(bound == 0 && listen(fd, 4) == 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        #expect(PortCheck.inUse(host: "127.0.0.1", port: port))
        let list = [PortCheck.Listen(endpoint: "tcp://127.0.0.1:\(port)", what: "a bus socket")!]
        #expect(PortCheck.firstInUse(list)?.port == port)
        #expect(PortCheck.Listen(endpoint: "ipc:///tmp/x", what: "ipc") == nil)
        #expect(PortCheck.Listen(endpoint: "tcp://*:28331", what: "any")?.host == "0.0.0.0")
    }

    @Test func statusScalesTheHashRateUnit() {
        #expect(Status.hashRate(3.2) == "3.20 H/s")
        #expect(Status.hashRate(0) == "0.00 H/s")
        #expect(Status.hashRate(45_600) == "45.6 kH/s")
        #expect(Status.hashRate(9_870_000) == "9.87 MH/s")
        #expect(Status.hashRate(2.5e9) == "2.50 GH/s")
        let text = Status.render(edge: "http://x", health: JSONValue.object(["status": .string("ok")]), chain: nil,
                                 miners: [MinerReply(id: "abc", address: "", hashrate: 4.0, threads: 1, lastSeen: 0)])
        #expect(text.contains("abc  4.00 H/s"), "\(text)")
    }

    @Test func upHelpMentionsThePeerBridge() {
        #expect(Up.helpMessage().contains("peer bridge"))
    }

    @Test func childrenDieWithTheSupervisor() async throws {
        let dir = try TempDir()
        let up = try await ProcessRunner(Build.path("cairn"), ["up", "--data", dir.path("node"), "--no-miner", "--port-offset", "\(Ports.offset("CairnCLITests"))"], env: [:], in: dir)
        #expect(await eventually("services start") { children(of: up.pid).count >= 2 })
        let kids = Array(children(of: up.pid).keys)
        up.signal(SIGKILL)   // no cleanup code runs: PR_SET_PDEATHSIG (setpriv) must stop them
        _ = await up.wait()
        #expect(await eventually("children exit after the supervisor is killed") { kids.allSatisfy { !Procs.alive($0) } })
    }

    @Test
    func startsRestartsAKilledChildAndStopsOnSIGTERM() async throws {
        let dir = try TempDir()
        let data = dir.path("node")
        let offset = Ports.offset("CairnCLITests")
        let port = 8340 + offset
        let up = try await ProcessRunner(Build.path("cairn"), ["up", "--data", data, "--port-offset", "\(offset)", "--miner-threads", "1", "--block-interval", "0.2"],
                             env: [:], in: dir)
        #expect(await eventually("cairn up announces the node") { up.stdout.contains("node is up") }, "stderr: \(up.stderr)")
        #expect(up.stdout.contains("http://127.0.0.1:\(port)"))
        #expect(up.stdout.contains("/api/chain"))
        // The node key is never printed (only its address).
        let keyHex = Hex.encode(Array(try Data(contentsOf: URL(fileURLWithPath: data + "/node-key"))))
        #expect(!up.stdout.contains(keyHex) && !up.stderr.contains(keyHex))
        #expect(up.stdout.contains("rcrn1"))
        for s in ["chainstore", "mempool", "edge", "miner"] {
            #expect(FileManager.default.fileExists(atPath: "\(data)/logs/\(s).log"))
        }
        #expect(await eventually("chain store and mempool healthy") {
            let h = await health(port)
            return h?["services"]?["chainstore"]?["ok"]?.bool == true && h?["services"]?["mempool"]?["ok"]?.bool == true
        })
        let start = await height(port) ?? 0
        #expect(await eventually("the chain grows") { (await height(port) ?? 0) > start })

        // kill -9 the chain store: the supervisor starts a new one and the stack answers again.
        let old = try #require(pid(of: "cairn-chainstore", under: up.pid))
        kill(old, SIGKILL)
        #expect(await eventually("a new chain store") { (pid(of: "cairn-chainstore", under: up.pid) ?? old) != old })
        #expect(await eventually("healthy again") {
            await health(port)?["services"]?["chainstore"]?["ok"]?.bool == true
        })
        let after = await height(port) ?? 0
        #expect(await eventually("the chain grows after the restart") { (await height(port) ?? 0) > after })
        let log = (try? String(contentsOfFile: "\(data)/logs/chainstore.log", encoding: .utf8)) ?? ""
        #expect(log.contains("restart #1"))

        let kids = Array(children(of: up.pid).keys)
        #expect(kids.count == 4)
        up.signal(SIGTERM)
        #expect(await up.wait() == 0, "stderr: \(up.stderr)")
        #expect(kids.allSatisfy { !Procs.alive($0) }, "children left: \(kids.filter(Procs.alive))")
    }
}
