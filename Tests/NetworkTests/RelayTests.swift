import AsyncHTTPClient
import HummingbirdWSClient
import Logging
import Synchronization
import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport

/// Several real nodes (`cairn up` each) over real sockets. Serialized: each test runs up to
/// 18 processes on a shared 2-core machine.
@Suite("Network", .serialized)
struct NetworkTests {
    @Test("three nodes: a transaction sent to A reaches B's and C's mempools, blocks mined on C reach A and B")
    func threeNodes() async throws {
        let w = TestWallet()
        let a = try await Node("A", miner: nil)
        let b = try await Node("B", miner: nil, peers: [a.peerURL])
        let c = try await Node("C", miner: w, blockInterval: 0.4, peers: [a.peerURL, b.peerURL])
        try await withLogs([a, b, c]) {
            try await waitUntil("all three are handshaken with two peers each", timeout: 60) {
                let counts = try await [a.handshakenPeers(), b.handshakenPeers(), c.handshakenPeers()]
                return counts.allSatisfy { $0 >= 2 }
            }
            // Blocks mined on C reach A and B (same hash at the same height).
            try await waitUntil("A and B follow C's chain to height 14", timeout: 120) {
                let hs = try await [a.height(), b.height()]
                guard hs.allSatisfy({ $0 >= 14 }) else { return false }
                let ch = try await c.hash(at: 14)
                let (ah, bh) = try await (a.hash(at: 14), b.hash(at: 14))
                return ch != nil && ah == ch && bh == ch
            }
            // B's edge feed (/api/ws) carries the peer bridge's trace events.
            let feed = FeedTap()
            let feedTask = Task { await feed.run("ws://127.0.0.1:\(Endpoints.defaultHTTPPort + b.offset)/api/ws") }
            defer { feedTask.cancel() }
            try await waitUntil("B's feed is connected", timeout: 30) { feed.connected.withLock { $0 } }
            // A transaction sent to A (A has no miner) reaches B's and C's mempools.
            let coins = try await a.spendable(w)
            try #require(!coins.isEmpty, "a mature coinbase of C's miner is known to A")
            let tx = w.spend([coins[0]], to: [w.output(coins[0].1.value - 10_000)])
            let (status, body) = try await a.submit(tx)
            #expect(status == 200, "\(body)")
            for n in [b, c] {
                try await waitUntil("\(n.name)'s mempool accepted \(tx.txid.hex) from a peer", timeout: 30) {
                    try await n.traceStages(tx.txid).contains("mempool:accepted")
                }
            }
            try await waitUntil("B's feed shows the bridge receiving it from a peer", timeout: 30) {
                feed.texts.withLock { $0.contains { $0.contains("\"service\":\"peerbridge\"") && $0.contains(tx.txid.hex) && $0.contains("\"received\"") } }
            }
            // C mines it; A and B see it confirmed in the same block.
            try await waitUntil("the transaction is confirmed on all three", timeout: 60) {
                let hs = try await [a.confirmedHeight(tx.txid), b.confirmedHeight(tx.txid), c.confirmedHeight(tx.txid)]
                return hs.allSatisfy { $0 != nil } && Set(hs).count == 1
            }
            // Relayed once: B and C each received the transaction once from a peer.
            let sync = try await b.rpc("peer", "getsync", Empty(), as: SyncStatus.self)
            #expect(sync.txsAccepted == 1, "B accepted the transaction from a peer exactly once: \(sync)")
            // The edge shows the peers.
            let (ps, peers) = try await a.get("/api/peers")
            #expect(ps == 200 && ((peers["peers"] as? [[String: Any]])?.count ?? 0) >= 2)
        }
    }

    @Test("cairn status shows sync progress and peers; the peer port answers plain HTTP with a clear 426")
    func statusAndPeerPort() async throws {
        let a = try await Node("S", miner: nil)
        try await withLogs([a]) {
            let (code, out) = try await runProgram(Build.url("cairn"), ["status", "--edge", a.edge])
            #expect(code == 0, "\(out)")
            #expect(out.contains("sync: idle, height 0 of 0"), "\(out)")
            #expect(out.contains("peers: 0 connected, listening on \(a.peerURL)"), "\(out)")
            let resp = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(PeerEndpoints.defaultPorts.ws + a.offset)/api/chain"), timeout: .seconds(10))
            let text = String(buffer: try await resp.body.collect(upTo: 1 << 20))
            #expect(resp.status.code == 426)
            #expect(text.contains("peer-to-peer port") && text.contains(a.edge), "\(text)")
        }
    }

    @Test("GET /api/peers and /api/sync answer a JSON 503 when the node has no peer bridge")
    func noBridge() async throws {
        // The edge alone, pointed at a peer RPC endpoint where nothing listens.
        let a = try await Node("E", miner: nil)
        try await withLogs([a]) {
            // The bridge answers first (on a slow machine it may start after the edge), then stops.
            try await waitUntil("the peer bridge answers", timeout: 90) { try await a.get("/api/peers").0 == 200 }
            let bridge = a.pids(of: "cairn-peerbridge")
            #expect(!bridge.isEmpty)
            for pid in bridge { kill(pid, SIGSTOP) }
            defer { for pid in a.pids(of: "cairn-peerbridge") { kill(pid, SIGCONT) } }
            for path in ["/api/peers", "/api/sync"] {
                let (status, body) = try await a.get(path)
                #expect(status == 503, "\(path): \(body)")
                let error = body["error"] as? [String: Any]
                #expect(error?["code"] as? String == "peerbridge-unavailable", "\(body)")
            }
        }
    }
}

/// Collects the text messages of an edge's WebSocket feed.
final class FeedTap: Sendable {
    let texts = Mutex<[String]>([])
    let connected = Mutex(false)

    func run(_ url: String) async {
        var logger = Logger(label: "feed")
        logger.logLevel = .critical
        _ = try? await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20), logger: logger) { inbound, _, _ in
            self.connected.withLock { $0 = true }
            for try await m in inbound.messages(maxSize: 1 << 20) {
                if case .text(let t) = m { self.texts.withLock { $0.append(t) } }
            }
        }
    }
}
