import AsyncHTTPClient
import Bus
import ChainCore
import Foundation
import NIOCore
import NodeKit
import Synchronization
import Testing
import TestSupport

/// One node started the way a user starts it (`cairn up` on a fresh data folder, an offset of the
/// NetworkTests range of Tests/ports.json: TestSupport's `cairn up` harness), stopped with SIGTERM
/// (then SIGKILL) when the test lets go of it.
final class Node: TestNode, @unchecked Sendable {
    var peerURL: String { "ws://127.0.0.1:\(PeerEndpoints.defaultPorts.ws + offset)" }

    static func allocateOffset() -> Int { Ports.offset("NetworkTests") }

    /// `miner`: the wallet the miner pays (nil: no miner).
    init(_ name: String, miner: TestWallet?, blockInterval: Double = 0.5, peers: [String] = [], extra: [String] = []) async throws {
        var args = ["--no-wallet"]
        if let miner {
            args += ["--miner-address", miner.address().string, "--miner-threads", "1", "--block-interval", "\(blockInterval)"]
        } else {
            args += ["--no-miner"]
        }
        for p in peers { args += ["--peer", p] }
        try await super.init(name: name, offset: Self.allocateOffset(), folderPrefix: "cairn-net-\(name)", arguments: args + extra,
                             what: "\(name) answers /healthz and its peer bridge /api/sync", timeout: 120) { node in
            guard try await node.healthy() else { return false }
            return (try? await node.get("/api/sync"))?.0 == 200
        }
    }

    /// A handle on a node some other process started (e.g. `cairn net up`): never stopped by the test.
    private init(name: String, offset: Int, dir: URL) {
        super.init(attaching: name, offset: offset, dir: dir)
    }

    static func attach(_ name: String, offset: Int, dir: URL) throws -> Node { Node(name: name, offset: offset, dir: dir) }

    /// The last lines of each service's log, for failure messages.
    var log: String {
        "=== \(name) (offset \(offset))\n" + ((try? String(contentsOf: upLog, encoding: .utf8)) ?? "")
            + logTails(["chainstore", "mempool", "peerbridge", "miner"], lines: 12, skipIndented: true)
    }

    // MARK: HTTP (`request`, `fetch`, `submit`: TestNode)

    func tipHash() async throws -> String {
        try await request("/api/blocks/tip/hash").1.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func hash(at height: Int) async throws -> String? {
        let (status, text) = try await request("/api/block-height/\(height)")
        return status == 200 ? text.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// Confirmed: the block height holding it on this node's best chain; nil when unconfirmed or unknown.
    func confirmedHeight(_ txid: Hash256) async throws -> Int? {
        let (status, body) = try await get("/api/tx/\(txid.hex)/status")
        guard status == 200, body["confirmed"] as? Bool == true else { return nil }
        return body["block_height"] as? Int
    }

    func inMempool(_ txid: Hash256) async throws -> Bool {
        let (_, text) = try await request("/api/mempool/txids")
        return text.contains(txid.hex)
    }

    /// Stages of the transaction's trace on this node ("mempool:accepted", "chainstore:connected", …).
    func traceStages(_ txid: Hash256) async throws -> [String] {
        let (_, body) = try await get("/api/tx/\(txid.hex)/trace")
        return ((body["events"] as? [[String: Any]]) ?? []).map { "\($0["service"] as? String ?? ""):\($0["stage"] as? String ?? "")" }
    }

    /// Mature coinbase outputs paying `wallet` on this node's best chain.
    func spendable(_ wallet: TestWallet) async throws -> [(OutPoint, TxOutput)] {
        try await confirmedOutputs(of: wallet, tip: try await height(), depth: ChainParams.regtest.coinbaseMaturity + 1)
            .sorted { $0.0.txid.hex < $1.0.txid.hex }
    }

    // MARK: bus

    /// Calls a method on this node's chain store, mempool or peer bridge.
    func rpc<P: Encodable & Sendable, R: Codable & Sendable>(_ service: String, _ method: String, _ params: P, as: R.Type) async throws -> R {
        let endpoint = switch service {
        case "chain": endpoints.chainRPC
        case "mempool": endpoints.mempoolRPC
        default: peerEndpoints.rpc
        }
        let context = try ZMQContext()
        let client = try await RPCClient(context: context, endpoint: endpoint, timeout: .seconds(30), retries: 1)
        defer { Task { await client.stop(); await context.terminate() } }
        return try await client.call(method, params, as: R.self)
    }

    func peers() async throws -> PeerList { try await rpc("peer", "getpeers", Empty(), as: PeerList.self) }

    func handshakenPeers() async throws -> Int { try await peers().peers.filter(\.handshaken).count }

    func setNetworkActive(_ on: Bool) async throws {
        _ = try await rpc("peer", "setnetworkactive", NetworkActive(active: on), as: NetworkActive.self)
    }
}


/// Runs `body`; on failure prints the nodes' logs so a red test says why.
func withLogs(_ nodes: [Node], _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        for n in nodes { print(n.log) }
        throw error
    }
}
