import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport

extension NetworkTests {
    @Test("cairn net up --nodes 3: one chain, a transaction sent on one is confirmed on all, addresses exchanged, a fourth node catches up, SIGTERM stops everything")
    func netUp() async throws {
        let w = TestWallet()
        let first = Ports.offsets("NetworkTests", count: 3)[0]   // the three offsets net up uses
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-netup-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-netup-\(UUID().uuidString.prefix(8)).log")
        let net = try await ProcessRunner(Build.path("cairn"), ["net", "up", "--nodes", "3", "--data", dir.path, "--port-offset", "\(first)",
                                                          "--miner-address", w.address().string, "--block-interval", "0.4"],
                                    stdout: logPath.path, stderr: logPath.path)
        defer {
            net.signal(SIGKILL)
            try? FileManager.default.removeItem(at: logPath)
        }
        let edges = (0..<3).map { "http://127.0.0.1:\(Endpoints.defaultHTTPPort + first + 10 * $0)" }
        let peers = (0..<3).map { "ws://127.0.0.1:\(PeerEndpoints.defaultPorts.ws + first + 10 * $0)" }
        // The nodes as test handles (their processes belong to net up).
        let nodes = try (0..<3).map { i in try Node.attach("net\(i)", offset: first + 10 * i, dir: dir.appendingPathComponent("node\(i)")) }
        let output = { (try? String(contentsOf: logPath, encoding: .utf8)) ?? "" }
        try await withLogs(nodes) {
            try await waitUntil("net up prints every node", timeout: 150) { output().contains("Stop with Ctrl-C.") }
            for i in 0..<3 { #expect(output().contains("node\(i): edge \(edges[i])  peer \(peers[i])"), "\(output())") }
            try await waitUntil("each node has two peers and they agree on height 13", timeout: 120) {
                for n in nodes { guard try await n.handshakenPeers() == 2 else { return false } }
                let h = try await nodes[0].hash(at: 13)
                let (h1, h2) = try await (nodes[1].hash(at: 13), nodes[2].hash(at: 13))
                return h != nil && h1 == h && h2 == h
            }
            // node0 dialled no one: it learns node2's address from node1 by address exchange
            // (relayed when node2's link to node1 completes, or in answer to node0's getaddr).
            try await waitUntil("node0 knows node2's address", timeout: 30) {
                try await nodes[0].peers().known.contains(peers[2])
            }
            let coins = try await nodes[2].spendable(w)
            try #require(!coins.isEmpty)
            let tx = w.spend([coins[0]], to: [w.output(coins[0].1.value - 10_000)])
            #expect(try await nodes[2].submit(tx).0 == 200)
            try await waitUntil("the transaction is confirmed on all three", timeout: 60) {
                let hs = try await [nodes[0].confirmedHeight(tx.txid), nodes[1].confirmedHeight(tx.txid), nodes[2].confirmedHeight(tx.txid)]
                return hs.allSatisfy { $0 != nil } && Set(hs).count == 1
            }
            // A fourth node started later catches up.
            let d = try await Node("late", miner: nil, peers: [peers[1]])
            try await withLogs([d]) {
                try await waitUntil("the late node reaches the network's height", timeout: 120) {
                    let target = try await nodes[0].height()
                    let h = try await nodes[0].hash(at: target - 1)
                    return try await d.hash(at: target - 1) == h
                }
                #expect(try await d.confirmedHeight(tx.txid) == nodes[0].confirmedHeight(tx.txid))
            }
            // SIGTERM stops every node's services.
            net.signal(SIGTERM)
            try await waitUntil("net up exits", timeout: 60) { !net.isRunning }
            #expect(net.exitStatus == 0, "\(output())")
            for n in nodes {
                for s in ["cairn-chainstore", "cairn-mempool", "cairn-edge", "cairn-miner", "cairn-peerbridge"] {
                    #expect(n.pids(of: s).isEmpty, "\(n.name): \(s) still running")
                }
            }
        }
    }
}
