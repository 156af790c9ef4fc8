import ChainCore
import Foundation
import Hummingbird
import NodeKit

enum NodeRoutes {
    static let version = "0.1.0"

    // ChainReply, MinerReply, NodeReply: CairnContract/EdgeShapes.swift (the CLI reads them too).

    struct ServiceHealth: Codable, Sendable {
        var ok: Bool
        var tipHeight: Int?
        var tipHash: String?
        var pid: Int32?
        var count: Int?
        var error: String?
        enum CodingKeys: String, CodingKey { case ok, tipHeight = "tip_height", tipHash = "tip_hash", pid, count, error }
    }

    struct HealthReply: Codable, Sendable {
        var status: String
        var services: [String: ServiceHealth]
        var miners: [MinerReply]
        var nodeID: String?
        enum CodingKeys: String, CodingKey { case status, services, miners, nodeID = "node_id" }
    }

    static func routes(_ edge: Edge) -> [Route] {
        let backend = edge.backend
        return [
            Route(.get, "/api/chain",
                  RouteDoc(summary: "Chain and mempool summary", tag: "node", response: .json(Schema.ref("Chain")), errors: [502, 503])) { _, _ in
                async let chainInfo = backend.chain(.getchaininfo, Empty(), as: ChainInfo.self)
                async let poolInfo = backend.mempool(.getmempoolinfo, Empty(), as: MempoolInfo.self)
                let (c, m) = try await (chainInfo, poolInfo)
                edge.metrics.height.set(Int64(c.height))
                return Reply.json(ChainReply(network: c.network, height: c.height, tip: c.tipHash, tipTime: c.tipTime, difficulty: c.difficulty,
                                             bits: c.bits, chainwork: c.chainwork, supply: c.supply, supplyCRN: Units.format(c.supply),
                                             utxoCount: c.utxoCount, mempoolSize: m.count, mempoolBytes: m.bytes))
            },
            Route(.get, "/api/miners",
                  RouteDoc(summary: "Miners that asked for work in the last minute", tag: "node",
                           response: .json(Schema.array(Schema.ref("Miner"))), errors: [502, 503])) { _, _ in
                Reply.json(try await backend.mempool(.getminers, Empty(), as: [MinerInfo].self).map(MinerReply.init))
            },
            Route(.get, "/api/node",
                  RouteDoc(summary: "Network, version and the service endpoints a miner attaches to", tag: "node",
                           response: .json(Schema.ref("Node")), errors: [])) { _, _ in
                let e = backend.endpoints
                return Reply.json(NodeReply(network: backend.network.rawValue, version: version,
                                            endpoints: .init(chainRPC: e.chainRPC, chainPub: e.chainPub, mempoolRPC: e.mempoolRPC, mempoolPub: e.mempoolPub)))
            },
            Route(.get, "/api/ping",
                  RouteDoc(summary: "Answers pong without asking any service (the benchmark's trivial route)", tag: "node",
                           response: .text(["type": "string", "enum": ["pong"]]), errors: [])) { _, _ in
                Reply.raw(Array("pong".utf8), contentType: "text/plain; charset=utf-8")
            },
            Route(.get, "/healthz",
                  RouteDoc(summary: "Health of the edge and the services behind it (503 if the chain store or mempool does not answer)",
                           tag: "node", response: .json(Schema.ref("Health")), errors: [],
                           otherResponses: [(503, Schema.ref("Health"))])) { _, _ in
                try await health(edge)
            },
            Route(.get, "/metrics",
                  RouteDoc(summary: "Prometheus metrics", tag: "node", response: .prometheus, errors: [])) { _, _ in
                Reply.raw(edge.metrics.text(), contentType: "text/plain; version=0.0.4; charset=utf-8")
            },
            Route(.get, "/openapi.json",
                  RouteDoc(summary: "This document", tag: "node", response: .json(["type": "object"]), errors: [])) { _, _ in
                Reply.json(OpenAPI.document(routes: edge.routes, network: backend.network.rawValue))
            },
            Route(.get, "/api/ws",
                  RouteDoc(summary: "WebSocket feed (blocks, transactions, traces, tracked addresses); plain HTTP gets 426",
                           tag: "node", response: .json(["type": "object"]), errors: [426], isHTTPOperation: false)) { _, _ in
                throw APIError(.upgradeRequired, "upgrade-required",
                               "/api/ws is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)",
                               headers: [.upgrade: "websocket", .connection: "Upgrade"])
            },
        ]
    }

    static func health(_ edge: Edge) async throws -> Response {
        let backend = edge.backend
        let deadline = Duration.seconds(3)
        async let chainStatus = edge.backend.withDeadline(deadline) { try await backend.chain(.getstatus, Empty(), as: ServiceStatus.self) }
        async let poolStatus = edge.backend.withDeadline(deadline) { try await backend.mempool(.getstatus, Empty(), as: ServiceStatus.self) }
        async let minerList = edge.backend.withDeadline(deadline) { try await backend.mempool(.getminers, Empty(), as: [MinerInfo].self) }
        let (c, m, miners) = await (chainStatus, poolStatus, minerList)

        var services = [String: ServiceHealth]()
        switch c {
        case .success(let s):
            services["chainstore"] = ServiceHealth(ok: true, tipHeight: s.tipHeight, tipHash: s.tipHash, pid: s.pid)
        case .failure(let e):
            services["chainstore"] = ServiceHealth(ok: false, error: APIError.from(e).message)
        }
        switch m {
        case .success(let s):
            services["mempool"] = ServiceHealth(ok: true, tipHeight: s.tipHeight, pid: s.pid, count: s.details["count"].flatMap { Int($0) })
        case .failure(let e):
            services["mempool"] = ServiceHealth(ok: false, error: APIError.from(e).message)
        }
        let edgeHeight = edge.feed.lastTip?.height ?? (try? c.get().tipHeight) ?? -1
        services["edge"] = ServiceHealth(ok: true, tipHeight: edgeHeight)
        let ok = (try? c.get()) != nil && (try? m.get()) != nil
        let reply = HealthReply(status: ok ? "ok" : "degraded", services: services,
                                miners: ((try? miners.get()) ?? []).map(MinerReply.init), nodeID: edge.config.nodeID)
        return Reply.json(reply, status: ok ? .ok : .serviceUnavailable)
    }
}

extension Backend {
    /// Runs `body`, giving up after `limit` (the call is cancelled); never throws.
    func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error> {
        await withTaskGroup(of: Result<T, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return Task.isCancelled ? nil : .failure(APIError(.serviceUnavailable, "service-unavailable", "no answer within \(limit)"))
            }
            var result: Result<T, any Error> = .failure(CancellationError())
            for await r in group {
                if let r {
                    result = r
                    group.cancelAll()
                    break
                }
            }
            return result
        }
    }
}
