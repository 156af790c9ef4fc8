import Foundation
import NodeKit
import Testing
import TestSupport
import Yams
@testable import CairnCLI

/// Keeps docker/compose.yaml honest without a container engine:
/// 1. Debian's `docker-compose config` validates and resolves it (anchors, variables);
/// 2. the resolved YAML is parsed and checked (restart policy, healthchecks, volumes,
///    environment, the edge published on 127.0.0.1 only);
/// 3. each service's exact command and environment are started here as local processes,
///    changing only what a container provides: the compose host names (chainstore,
///    mempool) become 127.0.0.1, `/data` becomes a temporary folder per service (as
///    each has its own volume), `/keys` one shared folder (the bus-keys volume, filled by
///    the keygen service's command first, so the bus runs CURVE as in the containers),
///    and every default port (bus 28331-28337, HTTP 8340) is shifted by a random offset
///    so the test can't clash with a running node. The executables are the ones just built
///    (the image holds the same ones on its PATH).
/// Then the edge's /healthz must report the chain store and mempool ok and the chain must grow.
/// Tests/ContainerTests/test_compose.py runs the same file on a real Docker engine.
@Suite("docker/compose.yaml") struct ComposeTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let composeFile = repo.appendingPathComponent("docker/compose.yaml").path
    static let services = ["chainstore", "mempool", "edge", "miner", "walletfront", "peerbridge", "accounts"]
    /// The one-shot service that makes the bus certificates before the others start.
    static let oneShots = ["keygen"]
    /// The services on the bus (the wallet front only serves files to the browser).
    static let busServices = ["chainstore", "mempool", "edge", "miner", "peerbridge", "accounts"]
    static let defaultPorts = [28330, 28331, 28332, 28333, 28334, 28335, 28337, 28338, 8340, 8341, 8342]
    static let minerAddress = "rcrn1qltdxrtyx36fd5nt8f4rakp6c5wz2yywzau46ssh8vc823rwhld4qhwdpap"

    static var dockerCompose: String? {
        ["/usr/bin/docker-compose", "/usr/local/bin/docker-compose"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func resolved() async throws -> [String: Any] {
        guard let exe = Self.dockerCompose else {
            Issue.record("docker-compose is not installed: run scripts/install-deps.sh (Debian package docker-compose)")
            throw CLIError("no docker-compose")
        }
        let r = try await ProcessRunner.run(exe, ["-f", Self.composeFile, "config"], env: ["CAIRN_MINER_ADDRESS": Self.minerAddress])
        try #require(r.status == 0, "docker-compose config failed: \(r.stderr)")
        return try #require(try Yams.load(yaml: r.stdout) as? [String: Any])
    }

    @Test func configIsValidAndComplete() async throws {
        let doc = try await resolved()
        let services = try #require(doc["services"] as? [String: Any])
        #expect(Set(services.keys) == Set(Self.services + Self.oneShots))
        #expect((services["keygen"] as? [String: Any])?["restart"] as? String == "no")
        for name in Self.services {
            let s = try #require(services[name] as? [String: Any], "\(name)")
            // A crash is restarted; a configuration error exits 0 and stays stopped (ServiceMain.swift).
            #expect(s["restart"] as? String == "on-failure", "\(name)")
            #expect(s["healthcheck"] != nil, "\(name) has no healthcheck")
            #expect((s["image"] as? String) == "cairn:latest", "\(name)")
            guard Self.busServices.contains(name) else { continue }
            let env = try #require(s["environment"] as? [String: Any], "\(name)")
            #expect(env["CAIRN_CHAIN_RPC"] as? String == "tcp://chainstore:28331")
            #expect(env["CAIRN_CHAIN_PUB"] as? String == "tcp://chainstore:28332")
            #expect(env["CAIRN_MEMPOOL_RPC"] as? String == "tcp://mempool:28333")
            #expect(env["CAIRN_MEMPOOL_PUB"] as? String == "tcp://mempool:28334")
            #expect(env["CAIRN_NETWORK"] as? String == "regtest")
            #expect(env["CAIRN_DATA"] as? String == "/data")
            #expect(env["CAIRN_BUS_KEYS"] as? String == "/keys", "\(name): the bus leaves loopback, so it runs CURVE")
            let mounts = (s["volumes"] as? [Any] ?? []).map { "\($0)" }
            #expect(mounts.contains { $0.hasPrefix("bus-keys:/keys") && $0.hasSuffix(":ro") }, "\(name) mounts \(mounts)")
            if !["edge", "walletfront", "peerbridge"].contains(name) { #expect(s["ports"] == nil, "\(name) must not publish ports") }
        }
        // Named volumes for the two services that own state.
        let volumes = try #require(doc["volumes"] as? [String: Any])
        for (name, volume) in [("chainstore", "chain-data"), ("mempool", "mempool-data"), ("accounts", "accounts-data")] {
            #expect(volumes[volume] != nil)
            let mounts = (services[name] as? [String: Any])?["volumes"] as? [Any] ?? []
            #expect(mounts.contains { "\($0)".hasPrefix("\(volume):/data") }, "\(name) mounts \(mounts)")
        }
        // The edge's HTTP port on loopback only.
        let ports = (services["edge"] as? [String: Any])?["ports"] as? [Any] ?? []
        #expect(ports.count == 1)
        #expect(ports.allSatisfy { "\($0)".hasPrefix("127.0.0.1:8340:8340") }, "\(ports)")
        let walletPorts = (services["walletfront"] as? [String: Any])?["ports"] as? [Any] ?? []
        #expect(walletPorts.count == 1)
        #expect(walletPorts.allSatisfy { "\($0)".hasPrefix("127.0.0.1:8341:8341") }, "\(walletPorts)")
        // The edge grants CORS to the wallet's origins.
        let edgeEnv = (services["edge"] as? [String: Any])?["environment"] as? [String: Any]
        #expect(edgeEnv?["CAIRN_CORS_ORIGINS"] as? String == "http://127.0.0.1:8341,http://localhost:8341")
        // Miners pay the address the user sets.
        let miner = services["miner"] as? [String: Any]
        #expect((miner?["environment"] as? [String: Any])?["CAIRN_MINER_ADDRESS"] as? String == Self.minerAddress)
        // Without it, compose refuses to start (the variable is required).
        let r = try await ProcessRunner.run(Self.dockerCompose!, ["-f", Self.composeFile, "config"], env: ["CAIRN_MINER_ADDRESS": ""])
        #expect(r.status != 0)
        #expect(r.stderr.contains("CAIRN_MINER_ADDRESS"))
    }

    /// Replaces compose host names with 127.0.0.1, shifts default ports, maps /data and /keys.
    static func localize(_ text: String, offset: Int, data: String, keys: String) -> String {
        var t = text
        for host in services { t = t.replacingOccurrences(of: "tcp://\(host):", with: "tcp://127.0.0.1:") }
        for port in defaultPorts {
            t = t.replacingOccurrences(of: ":\(port)", with: ":\(port + offset)")
            if t == String(port) { t = String(port + offset) }
        }
        if t == "/data" || t.hasPrefix("/data/") { t = data + t.dropFirst("/data".count) }
        if t == "/keys" || t.hasPrefix("/keys/") { t = keys + t.dropFirst("/keys".count) }
        return t
    }

    @Test
    func servicesRunFromTheComposeCommands() async throws {
        let doc = try await resolved()
        let services = try #require(doc["services"] as? [String: Any])
        let dir = try TempDir()
        let offset = Ports.offset("CairnCLITests")
        var running: [ProcessRunner] = []
        defer { for p in running { p.signal(SIGKILL) } }   // only if an expectation threw midway
        let keys = dir.path("bus-keys")
        // The keygen service first, as compose's service_completed_successfully orders it.
        let keygen = try #require(services["keygen"] as? [String: Any])
        let rawKeygen = try #require(keygen["command"] as? [Any])
        let keygenCommand: [String] = rawKeygen.map { Self.localize("\($0)", offset: offset, data: keys, keys: keys) }
        let made = try await ProcessRunner.run(Build.path(keygenCommand[0]), Array(keygenCommand.dropFirst()), env: [:])
        try #require(made.status == 0, "keygen: \(made.stderr)")
        for name in Self.services {
            let s = try #require(services[name] as? [String: Any])
            let rawCommand = try #require(s["command"] as? [Any])
            let command: [String] = rawCommand.map { "\($0)" }
            let data = dir.path("\(name)-data")
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            var env: [String: String] = [:]
            for (k, v) in (s["environment"] as? [String: Any]) ?? [:] { env[k] = Self.localize("\(v)", offset: offset, data: data, keys: keys) }
            let args = command.dropFirst().map { Self.localize($0, offset: offset, data: data, keys: keys) }
            running.append(try await ProcessRunner(Build.path(command[0]), Array(args), env: env, in: dir, tag: name))
        }
        let edge = EdgeClient("http://127.0.0.1:\(8340 + offset)")
        #expect(await eventually("chain store and mempool ok behind the edge") {
            guard let r = try? await edge.raw("/healthz", timeout: 2),
                  let h = try? JSONDecoder().decode(JSONValue.self, from: r.body) else { return false }
            return h["services"]?["chainstore"]?["ok"]?.bool == true && h["services"]?["mempool"]?["ok"]?.bool == true
        }, "edge log: \(running[2].stderr.suffix(2000))")
        let start = (try? await edge.get("/api/chain", as: ChainReply.self).height) ?? 0
        #expect(await eventually("the chain grows (the miner works)") {
            ((try? await edge.get("/api/chain", as: ChainReply.self).height) ?? 0) > start
        }, "miner log: \(running[3].stderr.suffix(2000))")
        // The wallet front serves the page and points it at the edge.
        let front = EdgeClient("http://127.0.0.1:\(8341 + offset)")
        #expect(await eventually("the wallet front serves its config") {
            guard let r = try? await front.raw("/config.json", timeout: 2),
                  let c = try? JSONDecoder().decode(JSONValue.self, from: r.body) else { return false }
            return c["edge"]?.string == "http://127.0.0.1:\(8340 + offset)"
        }, "walletfront log: \(running[4].stderr.suffix(2000))")
        // The peer bridge answers the edge's /api/sync.
        #expect(await eventually("the edge reaches the peer bridge") {
            guard let r = try? await edge.raw("/api/sync", timeout: 2) else { return false }
            return r.status == 200
        }, "peerbridge log: \(running[5].stderr.suffix(2000))")
        for p in running.reversed() { p.signal(SIGTERM) }
        for p in running { #expect(await p.wait() == 0, "\(p.arguments)") }
        running.removeAll()
    }
}
